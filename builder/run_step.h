// RUN, planned then executed: PlanRun turns a RUN instruction and the stage's state into plain
// data — the sandbox's RunSpec (argv, env, user, cwd, mounts as path mappings), the cache key
// material and the history text — and RunPlanned runs it, streaming output to the progress.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/build_context.h"
#include "builder/progress.h"
#include "builder/sandbox/sandbox.h"
#include "builder/stage_state.h"
#include "builder/tree_watch.h"
#include "dockerfile-parser/instructions.h"
#include "dockerfile-parser/plan.h"

namespace ocibuild::builder {

struct RunEnvironment {
  const dockerfile::BuildPlan* plan = nullptr;
  const BuildContext* context = nullptr;
  // Finds a mount's from= (stage name/index or image), and gives it a rootfs when needed.
  std::function<Result<StageState*>(const std::string& from)> find_stage;
  std::function<Status(StageState&)> materialize;
  // The content digest of `rel` in a stage (TreeDigest), remembered between builds by the
  // stage's chain key: a bind mount from another stage is keyed by what it mounts.
  std::function<Result<std::string>(StageState&, const std::string& rel)> mount_digest;
  const std::map<std::string, std::string>* secrets = nullptr;  // id -> content
  const std::map<std::string, std::string>* ssh = nullptr;      // id -> agent socket (--ssh)
  std::string mounts_root;  // persistent cache mounts live below it
  // --no-cache (or --no-cache-filter for this stage): a cache mount is emptied at its first
  // use in the build, as BuildKit gives such steps a new cache. Returns true for the first use
  // of an id.
  std::function<bool(const std::string& id)> reset_cache;
  std::string scratch;  // per-step temporary files (secrets, tmpfs, bind copies)
  // --add-host entries (host, IP) for the step's /etc/hosts; null for none.
  const std::vector<std::pair<std::string, std::string>>* add_hosts = nullptr;
  std::string default_network = "default";  // --network: what RUN --network=default means
};

// The qemu-user binary that runs `arch` (an OCI architecture) on this host: "" when `arch` is
// the host's; an error naming the package when none is installed.
Result<std::string> EmulatorFor(const std::string& arch);

struct RunIdentity {
  std::vector<std::string> argv;
  nlohmann::json key;      // what the cache key covers
  std::string created_by;  // history text, BuildKit's format
};

// What identifies the step for the cache, computed without touching any rootfs: the parent's
// chain key already pins the filesystem, so USER is keyed by its spec, mounts by the content
// digests (context) or chain keys (stages) of their sources. Secrets are deliberately not part
// of the key, as in BuildKit.
Result<RunIdentity> IdentifyRun(const dockerfile::RunInstr& run, const StageState& stage,
                                const RunEnvironment& env);

struct PlannedRun {
  sandbox::RunSpec spec;
  std::vector<std::string> secret_values;  // never to be printed
  // Directories made in the rootfs for mount targets (a scratch image has no /run), removed
  // after the step when still empty so they never reach the layer, as BuildKit's mount stubs.
  std::vector<std::string> mount_stubs;
  // The image has no /etc/hosts or /etc/resolv.conf: BuildKit's runtime made a mount stub in
  // /etc and removed it, so the step's layer holds /etc (touched) even when nothing else
  // changed. Replayed after the step.
  bool touch_etc = false;
  // Watching the tree since before the plan touched it (mount stubs): the step's changes are
  // then read from the watch instead of a walk of the whole tree. Null: the tree is walked.
  // Finished by RunPlanned, freed by the caller (StageWorkspace::DisposeLater).
  std::unique_ptr<TreeWatch> watch;
  // OCIBUILD_TREE_WATCH=verify: the tree is walked as well, and a difference fails the step.
  bool verify_watch = false;
};

// The stage must be materialized (its /etc/passwd resolves USER).
Result<PlannedRun> PlanRun(const dockerfile::RunInstr& run, const RunIdentity& id,
                           StageState& stage, const RunEnvironment& env);

// Runs the step; the stage's metadata store is handed to the sandbox and read back afterwards.
// A non-zero exit is an error with the exit code and the last lines of output.
Status RunPlanned(PlannedRun& run, StageState& stage, Progress& progress, int step);

// The default PATH BuildKit gives images that set none.
inline constexpr char kDefaultPath[] =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace ocibuild::builder
