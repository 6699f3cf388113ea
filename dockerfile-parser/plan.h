// The build plan: the plain data the executor consumes. PlanDockerfile parses, validates and
// resolves a Dockerfile for one target: global ARGs (build args, predefined platform args),
// FROM references and platforms, the stages the target needs in the order to build them, each
// with its typed steps. FormatPlan renders it for `ocibuild --print-plan`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dockerfile-parser/build_platform.h"
#include "dockerfile-parser/instructions.h"
#include "dockerfile-parser/parser.h"
#include "dockerfile-parser/shell_lex.h"
#include "dockerfile-parser/stage_graph.h"
#include "util/result.h"

namespace ocibuild::dockerfile {

struct PlanOptions {
  std::map<std::string, std::string> build_args;  // --build-arg K=V
  std::string target;                             // --target; "" = last stage
  std::string target_platform;                    // --platform; "" = this machine
  std::string build_platform;                     // "" = this machine
};

struct PlannedStage {
  int index = 0;             // position in the Dockerfile (stage-N)
  std::string name;          // lower-case AS name, "" when unnamed
  std::string display_name;  // name or "stage-N"
  std::string base_expr;     // FROM argument as written
  StageBase base;            // resolved (global ARGs expanded)
  BuildPlatform platform;    // --platform (expanded) or the target platform
  bool platform_from_flag = false;
  int line = 0;             // FROM line
  std::vector<Step> steps;  // words unexpanded; see ExpandInstruction / ResolveStageArg
  std::vector<StageDependency> deps;
};

struct BuildPlan {
  std::string filename;
  std::string syntax;  // "# syntax=" value, "" when absent
  std::string check;   // "# check=" value
  char escape = '\\';
  BuildPlatform build_platform;
  BuildPlatform target_platform;
  std::map<std::string, std::string> build_args;
  // Global scope: predefined platform args (BUILDPLATFORM, TARGETARCH, ...) then the ARGs
  // before the first FROM, with build args applied. FROM lines were expanded with it; a stage
  // sees an entry only after re-declaring it (`ARG NAME`), see ResolveStageArg.
  Env global_args;
  // Proxy build args (HTTP_PROXY, https_proxy, NO_PROXY, ...): set in RUN environments without
  // an ARG declaration and kept out of the image history.
  std::vector<std::pair<std::string, std::string>> proxy_env;
  std::optional<int64_t> source_date_epoch;  // from the SOURCE_DATE_EPOCH build arg
  // SOURCE_DATE_EPOCH=context, or the name of a source-only stage (FROM scratch, ARGs, one ADD
  // of a URL or git repository): the time of that source, resolved before the build.
  struct EpochSource {
    bool context = false;
    std::string url;  // the stage's ADD source, expanded
    std::string checksum;
  };
  std::optional<EpochSource> epoch_source;
  std::vector<PlannedStage> stages;  // needed stages only, in build order
  // The stages the target does not need as far as the Dockerfile says: an ONBUILD trigger of a
  // base image may still name one (`ONBUILD COPY --from=builder`), and it is built then.
  std::vector<PlannedStage> other_stages;
  int target = 0;                     // Dockerfile index of the target stage
  std::vector<std::string> warnings;  // unused build args, parser warnings
};

Result<BuildPlan> PlanDockerfile(std::string_view text, const std::string& filename,
                                 const PlanOptions& opts);

// The value an `ARG` inside a stage gives each of its names, per BuildKit: a build arg wins,
// else the default expanded with the stage environment, else the global value (so
// `ARG TARGETARCH` picks up the predefined one); nullopt when the ARG stays unset.
Result<std::vector<std::pair<std::string, std::optional<std::string>>>> ResolveStageArg(
    const ArgInstr& arg, const BuildPlan& plan, const Env& stage_env, const ShellLex& lex);

std::string FormatPlan(const BuildPlan& plan);

// The names BuildKit predefines without an ARG declaration.
bool IsProxyArg(std::string_view name);

// Whether a `# syntax=` value names the Dockerfile frontend ocibuild implements:
// [docker.io/]docker/dockerfile[-upstream][:1[.N[.N]][-labs]][@sha256:...].
bool IsDockerfileFrontend(std::string_view ref);

}  // namespace ocibuild::dockerfile
