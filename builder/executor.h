// The executor: builds the stages of a BuildPlan in order, each step with Docker's semantics,
// and assembles the final image (config + manifest, blobs in the content store).
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "builder/build_context.h"
#include "builder/image_source.h"
#include "builder/layer_cache.h"
#include "builder/progress.h"
#include "builder/rootfs_cache.h"
#include "builder/stage_state.h"
#include "dockerfile-parser/plan.h"
#include "oci/content_store.h"
#include "oci/image_config.h"
#include "oci/manifest.h"
#include "oci/media_types.h"

namespace ocibuild::builder {

struct ExecutorOptions {
  std::vector<std::pair<std::string, std::string>> labels;  // --label, applied last
  bool no_cache = false;
  std::string work_dir;     // scratch space for rootfs directories (removed by the caller)
  std::string mounts_root;  // persistent RUN --mount=type=cache directories
  std::map<std::string, std::string> secrets;  // id -> content
  std::map<std::string, std::string> ssh;      // --ssh: id -> ssh-agent socket
  oci::MediaFormat format = oci::MediaFormat::kOci;
  oci::Compression compression = oci::Compression::kGzip;
  int compression_level = -1;  // -1: the default (gzip: ISA-L's fast level; zstd: 3)
  std::optional<int64_t> source_date_epoch;
  // Independent stages build at the same time, at most this many (0: one per CPU).
  int parallelism = 0;
  // Unpacked trees kept between builds (null: none); a tree is saved after this many bytes of
  // layers were unpacked or written on top of the last saved one.
  RootfsCache* rootfs_cache = nullptr;
  uint64_t rootfs_cache_save_bytes = 16u << 20;
  // A COPY/ADD (without --link) or WORKDIR step with no RUN after it in its stage works in a
  // tree of only the paths it touches (builder/scoped_tree.h); false: always in the whole tree.
  bool scoped_trees = true;
  // Layers splice the gzip blocks of big files an earlier layer of this build compressed
  // (oci/layer_blocks.h); false (OCIBUILD_REUSE_BLOCKS=0) compresses every layer in full.
  bool reuse_blocks = true;
  // RUN steps read what they changed from a watch of the tree's directories instead of walking
  // it (builder/tree_watch.h). OCIBUILD_TREE_WATCH=0: off; =verify: both, and a difference fails
  // the step (the tests run this way).
  enum class TreeWatchMode { kOff, kOn, kVerify };
  TreeWatchMode tree_watch = TreeWatchMode::kOn;
  // OCIBUILD_LAYER_STATS: a file that gets one JSON line per layer the build writes (for
  // benchmarks and tests: what was compressed and what was reused).
  std::string layer_stats_path;
  // RUN steps: keep threads that stop often on the tracer's CPU (builder/sandbox/cpu_packing.h).
  // buildx's build options.
  std::vector<std::pair<std::string, std::string>> add_hosts;  // --add-host: host, IP
  std::string network = "default";        // --network: RUN steps without --network=
  std::set<std::string> no_cache_stages;  // --no-cache-filter: stage names (lower case) or indexes
  // --build-context: name -> DIR, docker-image://REF or oci-layout://DIR[:TAG|@DIGEST].
  std::map<std::string, std::string> build_contexts;
  oci::Annotations manifest_annotations;  // --annotation manifest:...
};

// What the build read from outside the context, for provenance: base images (by the digest
// their reference resolved to), git repositories and downloads.
struct ResolvedSource {
  enum class Kind { kImage, kGit, kHttp };
  Kind kind = Kind::kImage;
  std::string ref;       // image reference, git URL (with #ref) or URL
  std::string platform;  // images: os/arch[/variant]
  std::string digest;    // "sha256:..." (images, downloads) or the git commit
  bool local = false;    // an oci-layout:// build context
};

struct BuiltImage {
  oci::ImageConfig config;
  std::string config_bytes;
  oci::Descriptor config_desc;
  oci::Manifest manifest;
  std::string manifest_bytes;
  oci::Descriptor manifest_desc;
};

class Executor {
 public:
  Executor(const dockerfile::BuildPlan& plan, const BuildContext& context,
           const ExecutorOptions& opts, oci::ContentStore& store, LayerCache& cache,
           ImageSource* images, Progress& progress);

  // Builds the plan's stages, each as soon as the stages it reads are built (several at once,
  // bounded by `parallelism`); the first failure cancels the others, and is returned.
  Result<BuiltImage> Build();
  // The target stage with its rootfs unpacked (for --output type=tar|local, the SBOM).
  Result<StageState*> MaterializedTarget();
  // Base images, git repositories and downloads the build used (after Build()).
  std::vector<ResolvedSource> Sources() const;
  const dockerfile::BuildPlan& plan() const { return plan_; }
  // Whether any RUN step had a network (a build without one is hermetic).
  bool UsedNetwork() const { return used_network_; }

 private:
  Status BuildStages();
  Status BuildStage(const dockerfile::PlannedStage& ps);
  StageState* BuiltStage(int index);
  std::vector<std::unique_lock<std::mutex>> LockCacheMounts(const dockerfile::RunInstr& run);
  Status InitBase(const dockerfile::PlannedStage& ps, StageState& s);
  Status ExecStep(const dockerfile::PlannedStage& ps, StageState& s, dockerfile::Step step,
                  int number, int total);
  Status ExecCopy(StageState& s, const dockerfile::CopyInstr& c, const std::string& label,
                  int progress_step);
  // A digest of content in stage `from`, remembered between builds under the stage's chain key
  // and `what`: a stage found in the cache is not materialized to hash it again. A memo from an
  // imported cache (--cache-from) is used only with `imported_ok`, and sets `*imported`: it is a
  // hint for finding a cached step, and a step that then runs asks again without it.
  Result<std::string> StageContentDigest(
      StageState& from, const nlohmann::json& what,
      const std::function<Result<std::string>(const StageState&)>& digest, bool imported_ok = true,
      bool* imported = nullptr);
  // Appends a COPY --link layer (made in an empty tree, or cached) to the stage.
  Status AppendLinked(StageState& s, const CachedStep& step, const std::string& ck,
                      const std::string& created_by);
  // After a RUN step of `writer` changed a shared inode in place: the other stages' trees that
  // share inodes with the cache are unpacked again before they are read.
  void MarkSharedTreesStale(const StageState& writer);
  Status ExecWorkdir(StageState& s, const std::string& path, int progress_step);
  Result<StageState*> FindStage(const std::string& from);
  // The stage, built: waits for the thread building it, or builds it on this one when no one
  // has started it.
  Result<StageState*> EnsureStage(int index);
  Result<StageState*> ImageStage(const std::string& ref);
  // A base image through the image source, remembered for provenance.
  Result<PulledImage> PullImage(const std::string& ref, const oci::Platform& platform);
  // The stage of a --build-context named `name` (null when there is none).
  Result<StageState*> ContextStage(const std::string& name, const oci::Platform& platform);
  void Record(ResolvedSource src);
  std::string Created() const;
  // A config-only step's history time: none yet ("", filled when the image is assembled), or
  // SOURCE_DATE_EPOCH.
  std::string MetaCreated() const;

  const dockerfile::BuildPlan& plan_;
  const BuildContext& context_;
  const ExecutorOptions& opts_;
  oci::ContentStore& store_;
  LayerCache& cache_;
  ImageSource* images_;
  Progress& progress_;
  StageWorkspace ws_;
  std::mutex mu_;  // guards the maps below: stages build on several threads
  std::map<int, std::unique_ptr<StageState>> stages_;                     // by Dockerfile index
  std::map<std::string, std::unique_ptr<StageState>> image_stages_;       // COPY --from=<image>
  std::map<std::string, std::unique_ptr<std::mutex>> cache_mount_locks_;  // by cache id
  std::set<std::string> reset_cache_mounts_;  // --no-cache: cache ids emptied in this build
  CommitOptions commit_;
  std::atomic<int> scratch_seq_{0};
  std::atomic<bool> cancelled_{false};  // a stage failed: the others stop at their next step
  // Which stages are started (by the scheduler or on demand), finished, failed.
  std::mutex sched_mu_;
  std::condition_variable sched_cv_;
  std::set<int> claimed_, done_, failed_;
  std::map<std::string, std::unique_ptr<StageState>> context_stages_;  // --build-context
  mutable std::mutex sources_mu_;
  std::vector<ResolvedSource> sources_;
  std::atomic<bool> used_network_{false};
};

}  // namespace ocibuild::builder
