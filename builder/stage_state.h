// The state of one stage while it is built: the image config and layers so far, the cache key
// of the last step, and a rootfs directory that exists only once a step needs it. Steps that
// hit the cache just append their layer; the first miss unpacks the layers not yet applied
// (never more than once per layer), so a fully cached build touches no files.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "builder/layer_cache.h"
#include "builder/rootfs_cache.h"
#include "builder/user_db.h"
#include "dockerfile-parser/shell_lex.h"
#include "oci/content_store.h"
#include "oci/image_config.h"
#include "oci/layer_blocks.h"
#include "oci/layer_writer.h"
#include "oci/metastore.h"
#include "oci/path_scope.h"
#include "oci/safe_path.h"
#include "oci/snapshot.h"
#include "util/disposer.h"
#include "util/fs.h"

namespace ocibuild::builder {

struct StageState {
  std::string name;  // display name ("app", "stage-0")
  oci::ImageConfig config;
  std::vector<oci::Descriptor> layers;  // parallel to config.diff_ids
  std::string cache_key;                // chain key after the last step
  dockerfile::Env args;                 // ARGs declared in this stage, with values
  bool cmd_set = false;                 // CMD given in this stage (ENTRYPOINT keeps it)
  bool no_cache = false;                // --no-cache-filter named this stage

  // Lazily materialized filesystem.
  std::string dir;     // work directory; rootfs is <dir>/rootfs
  size_t applied = 0;  // how many of `layers` the rootfs holds
  std::unique_ptr<oci::MetaStore> store;
  std::optional<oci::RootDir> root;
  std::optional<oci::Snapshot> snapshot;  // the rootfs as of the last applied layer
  // The rootfs as a RUN step just left it, when the step's guard had to read it anyway: the
  // commit that follows diffs against it instead of walking the tree again.
  std::optional<oci::Snapshot> after_step;
  // Or what a RUN step changed as the watch of its tree saw it (builder/tree_watch.h): the
  // commit diffs only that and moves the snapshot on in place.
  std::optional<oci::SnapshotDelta> after_delta;
  // Bytes of layers unpacked or written since the rootfs was last restored from or saved to the
  // RootfsCache: what a later build would have to unpack again.
  uint64_t unsaved_bytes = 0;
  // Inodes of the rootfs that the RootfsCache shares: RUN steps copy them up before writing.
  std::unordered_set<uint64_t> shared_inodes;
  // The nodes/ directories of the cache entries that share them (the guard of a RUN step
  // checks them there; a changed entry is removed).
  std::vector<std::string> shared_nodes;
  // The tree was restored from, or last saved as, the cache entry of this many first layers (0:
  // none): a save builds on that entry (RootfsCache::Save).
  size_t cache_layers = 0;
  // All steps done (or never any: an image of COPY --from): the tree is only read from now on,
  // so it gives the unpacked-tree cache's claim back, and another stage may restore the inodes
  // it shares. Set under `mu`.
  bool finished = false;
  // A RUN step of another stage wrote in place an inode this tree shared (builder/
  // shared_tree_guard.h): the tree is unpacked again before it is read.
  bool stale = false;
  // Set while the rootfs is a scoped tree (builder/scoped_tree.h): it holds only these paths of
  // the stage's files. Never saved into the RootfsCache.
  std::optional<oci::PathScope> scope;
  // Names in the scoped tree whose inode has names outside the scope as well.
  std::vector<std::string> cross_links;
  // No later step of this stage runs a command: a COPY or WORKDIR may work in a scoped tree.
  // Set by the executor before each step (false: scoped trees are off).
  bool scoped_ok = false;
  // Held while a finished stage is materialized for a later one (COPY --from, RUN --mount
  // from=): stages build concurrently, and several may read the same one.
  std::mutex mu;

  std::string rootfs() const { return dir + "/rootfs"; }
  bool materialized() const { return root.has_value(); }

  // The stage's environment for word expansion: ARGs, then ENV over them (ENV wins).
  dockerfile::Env ExpansionEnv() const;
  // /etc/passwd and /etc/group of the rootfs (read in-root; empty when absent).
  Result<UserDb> Users() const;
};

// Adds to `s.shared_nodes` those of `dirs` it does not list yet.
void AddSharedNodes(StageState& s, const std::vector<std::string>& dirs);

// A digest of what the directory (or file) `rel` of a rootfs holds: names, types, owners, modes
// and xattrs as the image sees them, link targets and file contents, not times — what BuildKit's
// content-based cache keys cover. `rel` itself is followed in-root when it is a symlink (as COPY
// and bind mounts follow their source); links below it are hashed as links.
Result<std::string> TreeDigest(const oci::RootDir& root, const oci::MetaStore& store,
                               const std::string& rel);

struct CommitOptions {
  oci::LayerWriteOptions layer;
  std::string media_type;  // layer media type to record (OCI or Docker family)
  std::string created;     // history timestamp (RFC 3339)
};

class StageWorkspace {
 public:
  StageWorkspace(oci::ContentStore& store, LayerCache& cache, std::string work_root, bool no_cache,
                 RootfsCache* rootfs_cache = nullptr, uint64_t save_bytes = 0)
      : store_(store),
        cache_(cache),
        work_root_(std::move(work_root)),
        no_cache_(no_cache),
        rootfs_cache_(rootfs_cache),
        save_bytes_(save_bytes) {}

  // Makes sure `s` has a rootfs holding all its layers, and a snapshot of it. A scoped tree is
  // thrown away first.
  Status Materialize(StageState& s);
  // The same for a step that only touches what `want` holds (builder/scoped_tree.h): when
  // s.scoped_ok, a scoped tree (kept, or made anew for the union of its scope and `want`) whose
  // layers and snapshot are exactly the full tree's on `want`; else, or when the scope cannot be
  // shown exactly, the full tree.
  Status MaterializeScope(StageState& s, const oci::PathScope& want);
  // `s` has run its last step: see StageState::finished.
  void Finish(StageState& s);

  // Looks up a step in the cache (unless --no-cache). On a hit the layer and history entry are
  // appended and true is returned.
  Result<bool> TryCache(StageState& s, const std::string& key, const std::string& created_by,
                        const CommitOptions& opts);
  // Before a COPY/ADD or WORKDIR step that only touches what `want` holds: whether its commit
  // may walk only that part of the whole tree of `s` (builder/scoped_tree.h, FocusIsExact).
  // False for a scoped tree, which is walked whole anyway.
  Result<bool> Focus(StageState& s, const oci::PathScope& want);
  // After a step ran in the materialized rootfs: diff against the snapshot, write the layer
  // (an empty one when nothing changed, as BuildKit does), append it with its history entry,
  // remember it under `key`. `focus`: what the step touched, when Focus said yes before it.
  Status Commit(StageState& s, const std::string& key, const std::string& created_by,
                const CommitOptions& opts, const oci::PathScope* focus = nullptr);
  // A history entry for a step that changes only the config.
  static void AddHistory(StageState& s, const std::string& created_by, bool empty_layer,
                         const std::string& created);

  // Destroys `obj` off the build's path, on the thread that frees replaced snapshots (a tree
  // watch: closing its inotify instance frees a watch per directory).
  template <class T>
  void DisposeLater(T&& obj) {
    disposer_.Dispose(std::forward<T>(obj));
  }

  oci::ContentStore& store() { return store_; }
  const std::string& work_root() const { return work_root_; }
  // Appends a JSON line per committed layer to `path` ("": none).
  void ReportLayersTo(std::string path) { stats_path_ = std::move(path); }

 private:
  // Saves the rootfs to the RootfsCache when `s` owns it and `force` or enough is unsaved. The
  // snapshot is retaken when missing or when the tree was just `linked` (restored) or saved:
  // linking moves every ctime.
  Status MaybeSave(StageState& s, bool force, bool linked);
  bool WouldSave(const StageState& s, bool force) const;
  Status MaterializeTree(StageState& s);
  // Forgets the tree of `s` (scoped or stale). Its directory stays in the work root, which goes
  // to the trash with the build's other scratch trees: nothing is unlinked on the build's path.
  static void DropTree(StageState& s);
  // Takes a snapshot of the tree of `s` (after a nap when files were just linked: see MaybeSave).
  // An empty tree (rootfs and store) in a new work directory of `s`.
  Status NewTree(StageState& s);
  Status Resnap(StageState& s, bool linked);
  // The snapshot of `s` is being replaced by `next`: the old one is freed off the build's path.
  void ReplaceSnapshot(StageState& s, oci::Snapshot&& next);

  oci::ContentStore& store_;
  LayerCache& cache_;
  std::string work_root_;
  bool no_cache_;
  RootfsCache* rootfs_cache_;
  uint64_t save_bytes_;
  std::atomic<int> next_dir_{0};
  // The big files' blocks of every layer this build committed: a COPY of a tree another step
  // made splices them instead of compressing the same data again (LayerWriteOptions
  // record_blocks).
  oci::LayerBlocks blocks_{store_};
  std::string stats_path_;
  std::mutex stats_mu_;
  // Frees replaced snapshots (tens of milliseconds for a large tree) on its own thread; last,
  // so that it is joined before the rest goes.
  Disposer disposer_;
};

}  // namespace ocibuild::builder
