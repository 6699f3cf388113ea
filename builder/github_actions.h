// GitHub Actions integration: workflow commands on stdout (groups, error annotations, masks),
// step outputs in $GITHUB_OUTPUT, the job summary in $GITHUB_STEP_SUMMARY, and the OCI labels that
// link a GHCR package to its repository. Active only when GITHUB_ACTIONS=true.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "builder/progress.h"
#include "util/result.h"

namespace ocibuild::builder {

class GithubActions {
 public:
  using EnvMap = std::map<std::string, std::string>;
  // Inactive (every method a no-op) unless env has GITHUB_ACTIONS=true.
  explicit GithubActions(const EnvMap& env);

  bool active() const { return active_; }

  // Workflow command lines (each ends with '\n'); empty when inactive.
  std::string Group(std::string_view title) const;
  std::string EndGroup() const;
  std::string Mask(std::string_view secret) const;
  std::string ErrorAnnotation(std::string_view file, int line, int col,
                              std::string_view message) const;
  std::string WarningAnnotation(std::string_view message) const;
  // A warning on a file's line, with a title (Dockerfile checks: "JSONArgsRecommended ...").
  std::string WarningAnnotationAt(std::string_view file, int line, std::string_view title,
                                  std::string_view message) const;

  // Appends name=value to $GITHUB_OUTPUT, using the delimiter form for multi-line values.
  Status SetOutput(std::string_view name, std::string_view value) const;
  // Appends markdown to $GITHUB_STEP_SUMMARY.
  Status AppendSummary(std::string_view markdown) const;

  // org.opencontainers.image.{source,revision,created} from GITHUB_SERVER_URL, GITHUB_REPOSITORY
  // and GITHUB_SHA, for the labels the user did not set. `created` is RFC 3339 UTC.
  std::vector<std::pair<std::string, std::string>> DefaultLabels(
      const std::vector<std::pair<std::string, std::string>>& user_labels,
      std::string_view created) const;

  // The job summary: image names, digest, ID, size, and a table of steps with their times.
  static std::string SummaryMarkdown(const BuildSummary& summary,
                                     const std::vector<StepTiming>& steps);

  // A file name as annotations want it: relative to $GITHUB_WORKSPACE when under it.
  std::string AnnotationPath(std::string_view path) const;

  static std::string EscapeData(std::string_view s);
  static std::string EscapeProperty(std::string_view s);

 private:
  bool active_ = false;
  std::string output_file_;
  std::string summary_file_;
  std::string server_url_;
  std::string repository_;
  std::string sha_;
  std::string workspace_;
};

}  // namespace ocibuild::builder
