#include "cli/app.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <regex>

#include "builder/github_actions.h"
#include "dockerfile-parser/plan.h"
#include "util/fs.h"

namespace ocibuild::cli {
namespace {

struct DockerfileSource {
  std::string path;     // where it was read from
  std::string display;  // how errors name it: the -f value, or "Dockerfile" in the context
  std::string text;
};

Result<DockerfileSource> ReadDockerfile(const Options& opts) {
  DockerfileSource src;
  if (opts.dockerfile == "-") {
    src.path = src.display = "Dockerfile";
    std::string text, line;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) text.append(buf, n);
    src.text = std::move(text);
    return src;
  }
  if (opts.dockerfile.empty()) {
    src.path = JoinPath(opts.context_dir, "Dockerfile");
    src.display = opts.context_dir == "." ? "Dockerfile" : src.path;
  } else {
    src.path = src.display = opts.dockerfile;
  }
  auto text = ReadFile(src.path);
  if (!text.ok()) {
    if (text.error().sys_errno == ENOENT)
      return Error{"failed to read Dockerfile: " + src.path + ": no such file (use -f to name it)"};
    return text.error().Context("failed to read Dockerfile");
  }
  src.text = std::move(*text);
  return src;
}

dockerfile::PlanOptions PlanOptionsFrom(const Options& opts) {
  dockerfile::PlanOptions po;
  for (const auto& [k, v] : opts.build_args) po.build_args[k] = v;
  po.target = opts.target;
  po.target_platform = opts.platform;
  return po;
}

// Prints an error; under GitHub Actions a Dockerfile:LINE:COL error also becomes an annotation
// on that line.
void ReportError(const Error& e, const builder::GithubActions& gha) {
  if (gha.active()) {
    static const std::regex kLoc(R"(^([^:\n]+):(\d+)(?::(\d+))?: ([^\n]*))");
    std::smatch m;
    std::string first = e.message.substr(0, e.message.find('\n'));
    if (std::regex_search(e.message, m, kLoc)) {
      std::cout << gha.ErrorAnnotation(m[1].str(), std::stoi(m[2].str()),
                                       m[3].matched ? std::stoi(m[3].str()) : 0, m[4].str());
    } else {
      std::cout << gha.ErrorAnnotation("", 0, 0, first);
    }
    std::cout.flush();
  }
  std::cerr << "ocibuild: " << e.message << (e.message.empty() || e.message.back() != '\n' ? "\n" : "");
}

int PrintPlan(const Options& opts, const builder::GithubActions& gha) {
  auto src = ReadDockerfile(opts);
  if (!src.ok()) {
    ReportError(src.error(), gha);
    return 1;
  }
  auto plan = dockerfile::PlanDockerfile(src->text, src->display, PlanOptionsFrom(opts));
  if (!plan.ok()) {
    ReportError(plan.error(), gha);
    return 1;
  }
  for (const auto& w : plan->warnings) std::cerr << "WARNING: " << w << "\n";
  std::cout << dockerfile::FormatPlan(*plan);
  return 0;
}

}  // namespace

int Run(const Options& opts, const std::map<std::string, std::string>& env) {
  builder::GithubActions gha(env);
  switch (opts.command) {
    case Command::kHelp:
      std::cout << UsageText();
      return 0;
    case Command::kVersion:
      std::cout << VersionText();
      return 0;
    case Command::kPrintPlan:
      return PrintPlan(opts, gha);
    case Command::kBuild:
    case Command::kDoctor:
      std::cerr << "ocibuild: this command is not implemented yet; use --print-plan to see what "
                   "would be built\n";
      return 1;
  }
  return 1;
}

}  // namespace ocibuild::cli
