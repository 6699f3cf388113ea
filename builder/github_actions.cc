#include "builder/github_actions.h"

#include <fcntl.h>

#include <random>

#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

std::string Get(const GithubActions::EnvMap& env, const char* key) {
  auto it = env.find(key);
  return it == env.end() ? "" : it->second;
}

Status AppendToFile(const std::string& path, std::string_view data, const char* var) {
  if (path.empty()) return Error{std::string(var) + " is not set"};
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_APPEND | O_CREAT, 0644));
  return WriteAll(fd.get(), data, path);
}

}  // namespace

GithubActions::GithubActions(const EnvMap& env)
    : active_(Get(env, "GITHUB_ACTIONS") == "true"),
      output_file_(Get(env, "GITHUB_OUTPUT")),
      summary_file_(Get(env, "GITHUB_STEP_SUMMARY")),
      server_url_(Get(env, "GITHUB_SERVER_URL")),
      repository_(Get(env, "GITHUB_REPOSITORY")),
      sha_(Get(env, "GITHUB_SHA")),
      workspace_(Get(env, "GITHUB_WORKSPACE")) {
  if (server_url_.empty()) server_url_ = "https://github.com";
}

std::string GithubActions::EscapeData(std::string_view s) {
  return EscapeWorkflowData(s);
}

std::string GithubActions::EscapeProperty(std::string_view s) {
  std::string out;
  for (char c : EscapeData(s)) {
    if (c == ':')
      out += "%3A";
    else if (c == ',')
      out += "%2C";
    else
      out += c;
  }
  return out;
}

std::string GithubActions::Group(std::string_view title) const {
  return active_ ? "::group::" + EscapeData(title) + "\n" : "";
}

std::string GithubActions::EndGroup() const {
  return active_ ? "::endgroup::\n" : "";
}

std::string GithubActions::Mask(std::string_view secret) const {
  if (!active_ || secret.empty()) return "";
  // A multi-line secret is masked line by line, as the runner matches single lines.
  std::string out;
  size_t start = 0;
  while (start <= secret.size()) {
    size_t nl = secret.find('\n', start);
    std::string_view line = secret.substr(start, nl == std::string_view::npos ? nl : nl - start);
    if (!line.empty()) out += "::add-mask::" + EscapeData(line) + "\n";
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

std::string GithubActions::ErrorAnnotation(std::string_view file, int line, int col,
                                           std::string_view message) const {
  if (!active_) return "";
  std::string props;
  if (!file.empty()) props += "file=" + EscapeProperty(file);
  if (line > 0) props += std::string(props.empty() ? "" : ",") + "line=" + std::to_string(line);
  if (col > 0) props += std::string(props.empty() ? "" : ",") + "col=" + std::to_string(col);
  return "::error" + (props.empty() ? "" : " " + props) + "::" + EscapeData(message) + "\n";
}

std::string GithubActions::WarningAnnotation(std::string_view message) const {
  return active_ ? "::warning::" + EscapeData(message) + "\n" : "";
}

std::string GithubActions::WarningAnnotationAt(std::string_view file, int line,
                                               std::string_view title,
                                               std::string_view message) const {
  if (!active_) return "";
  std::string props;
  if (!file.empty()) props += "file=" + EscapeProperty(file);
  if (line > 0) props += std::string(props.empty() ? "" : ",") + "line=" + std::to_string(line);
  if (!title.empty())
    props += std::string(props.empty() ? "" : ",") + "title=" + EscapeProperty(title);
  return "::warning" + (props.empty() ? "" : " " + props) + "::" + EscapeData(message) + "\n";
}

Status GithubActions::SetOutput(std::string_view name, std::string_view value) const {
  if (!active_) return Ok();
  std::string entry;
  if (value.find('\n') == std::string_view::npos && value.find('\r') == std::string_view::npos) {
    entry = std::string(name) + "=" + std::string(value) + "\n";
  } else {
    std::random_device rd;
    std::string delim = "ghadelimiter_" + std::to_string(rd()) + std::to_string(rd());
    entry = std::string(name) + "<<" + delim + "\n" + std::string(value) + "\n" + delim + "\n";
  }
  return AppendToFile(output_file_, entry, "GITHUB_OUTPUT");
}

Status GithubActions::AppendSummary(std::string_view markdown) const {
  if (!active_) return Ok();
  return AppendToFile(summary_file_, markdown, "GITHUB_STEP_SUMMARY");
}

std::vector<std::pair<std::string, std::string>> GithubActions::DefaultLabels(
    const std::vector<std::pair<std::string, std::string>>& user_labels,
    std::string_view created) const {
  std::vector<std::pair<std::string, std::string>> out;
  if (!active_) return out;
  auto user_set = [&](std::string_view key) {
    for (const auto& [k, v] : user_labels)
      if (k == key) return true;
    return false;
  };
  if (!repository_.empty() && !user_set("org.opencontainers.image.source"))
    out.emplace_back("org.opencontainers.image.source", server_url_ + "/" + repository_);
  if (!sha_.empty() && !user_set("org.opencontainers.image.revision"))
    out.emplace_back("org.opencontainers.image.revision", sha_);
  if (!created.empty() && !user_set("org.opencontainers.image.created"))
    out.emplace_back("org.opencontainers.image.created", std::string(created));
  return out;
}

std::string GithubActions::AnnotationPath(std::string_view path) const {
  std::string p(path);
  if (!workspace_.empty() && p.size() > workspace_.size() + 1 && p.starts_with(workspace_) &&
      p[workspace_.size()] == '/')
    p = p.substr(workspace_.size() + 1);
  while (p.starts_with("./")) p = p.substr(2);
  return p;
}

namespace {

// Table cells must not break the markdown row.
std::string Cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|')
      out += "\\|";
    else if (c == '\n' || c == '\r')
      out += ' ';
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string GithubActions::SummaryMarkdown(const BuildSummary& sum,
                                           const std::vector<StepTiming>& steps) {
  char secs[32];
  std::string out = "### ocibuild\n\n| | |\n|---|---|\n";
  for (const auto& n : sum.names) out += "| image | `" + Cell(n) + "` |\n";
  if (!sum.image_digest.empty()) out += "| digest | `" + sum.image_digest + "` |\n";
  if (!sum.config_digest.empty()) out += "| image ID | `" + sum.config_digest + "` |\n";
  if (sum.image_size) out += "| size | " + HumanBytes(sum.image_size) + " |\n";
  std::snprintf(secs, sizeof secs, "%.1fs", sum.total_seconds);
  out += "| build time | " + std::string(secs) + " |\n";
  int cached = 0;
  for (const auto& s : steps) cached += s.state == StepState::kCached;
  out += "\n| step | result | time |\n|---|---|---:|\n";
  for (const auto& s : steps) {
    const char* st = s.state == StepState::kCached   ? "cached"
                     : s.state == StepState::kFailed ? "**failed**"
                     : s.state == StepState::kDone   ? "done"
                                                     : "running";
    std::snprintf(secs, sizeof secs, "%.1fs", s.seconds);
    out += "| `" + Cell(s.label) + "` | " + st + " | " + secs + " |\n";
  }
  out +=
      "\n" + std::to_string(cached) + " of " + std::to_string(steps.size()) + " steps cached.\n\n";
  return out;
}

}  // namespace ocibuild::builder
