// Dockerfile checks with BuildKit's rule names (its "build checks"): what `--call=check` reports
// and what a build prints as warnings. The `# check=skip=RULE,...;error=true` directive (or the
// BUILDKIT_DOCKERFILE_CHECK build arg) turns rules off or makes warnings fail the build.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "dockerfile-parser/parser.h"
#include "util/result.h"

namespace ocibuild::dockerfile {

struct LintWarning {
  std::string rule;         // "JSONArgsRecommended"
  std::string description;  // what the rule is about
  std::string message;      // this occurrence
  std::string url;          // the rule's documentation
  int line = 0;             // 1-based
};

struct CheckConfig {
  bool skip_all = false;
  std::set<std::string> skip;
  bool error = false;  // warnings fail the build
};

// Parses a `check` directive value ("skip=A,B;error=true"); an unknown key is an error.
Result<CheckConfig> ParseCheckConfig(const std::string& value);

// Runs every rule not skipped; warnings in line order.
std::vector<LintWarning> Lint(const ParsedDockerfile& file, const CheckConfig& config);

// "Dockerfile:3" and the lines around it, framed as BuildKit shows a check's location.
std::string FormatLintLocation(const ParsedDockerfile& file, const LintWarning& w);

}  // namespace ocibuild::dockerfile
