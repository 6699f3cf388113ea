// Stages of a Dockerfile and how they depend on each other: FROM <earlier stage>,
// COPY --from=<stage|index|image> and RUN --mount=...,from=<stage|image>. Resolves which stages
// a target needs (the rest are never built) and rejects bad references and cycles.
#pragma once

#include <string>
#include <vector>

#include "dockerfile-parser/instructions.h"
#include "dockerfile-parser/parser.h"
#include "util/result.h"

namespace ocibuild::dockerfile {

struct StageBase {
  enum class Kind { kImage, kStage, kScratch };
  Kind kind = Kind::kImage;
  std::string image;  // kImage: the reference after global-ARG expansion
  int stage = -1;     // kStage: index of the base stage
};

struct Stage {
  int index = 0;
  std::string name;         // lower-case stage name, "" when unnamed
  FromInstr from;           // as written
  int line = 0;             // FROM line
  std::vector<Step> steps;  // everything after FROM up to the next FROM
  std::string DisplayName() const { return name.empty() ? "stage-" + std::to_string(index) : name; }
};

struct StageList {
  std::vector<Step> meta_args;  // ARGs before the first FROM
  std::vector<Stage> stages;
};

// Groups typed steps into stages; only ARG may precede the first FROM.
Result<StageList> GroupStages(const ParsedDockerfile& file, std::vector<Step> steps);

// What one stage reads from another stage (or an external image).
struct StageDependency {
  enum class Via { kFrom, kCopy, kMount };
  Via via = Via::kFrom;
  int stage = -1;  // -1: an external image (`image`)
  std::string image;
  int line = 0;
  std::string from;          // the reference as written (COPY --from / mount from=)
  std::string mount_target;  // kMount: the mount's target, for messages
};

// Resolves the `--from` references of each stage. `bases` gives each stage's resolved FROM
// (expanded with global ARGs by the caller). Errors: an out-of-range index, --from with
// variables. Result: per stage, its dependencies (forward references included; NeededStages
// judges them).
Result<std::vector<std::vector<StageDependency>>> ResolveDependencies(
    const ParsedDockerfile& file, const std::vector<Stage>& stages,
    const std::vector<StageBase>& bases);

// Looks up a stage by name (case-insensitive) or returns -1.
int FindStage(const std::vector<Stage>& stages, std::string_view name);

// The stages `target` needs, in build order (target last). As BuildKit: a dependency cycle
// anywhere in the file (self-references included) is "circular dependency detected on stage:
// NAME", NAME being the first stage, in file order, whose dependencies lead into a cycle; then a
// needed stage that copies or mounts from a stage defined after it is an error.
Result<std::vector<int>> NeededStages(const ParsedDockerfile& file,
                                      const std::vector<Stage>& stages,
                                      const std::vector<std::vector<StageDependency>>& deps,
                                      int target);

}  // namespace ocibuild::dockerfile
