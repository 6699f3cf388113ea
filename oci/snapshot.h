// A snapshot records the state of a rootfs tree -- what a later diff compares against without
// reading file contents: per path the host lstat (type, ino, size, mtime, ctime, mode, nlink),
// the metadata-store entry (owner, image mode, rdev, privileged xattrs) and, for the few files
// changed so recently that a further change could keep the same timestamps ("racy", as git
// calls it), a content hash.
//
// On-disk changes to contents, mode, owner and xattrs all move ctime; symlink retargets and
// replacements change the inode. Store-only changes (a RUN `chown` recorded by the sandbox) are
// caught by comparing the store entries.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "oci/metastore.h"
#include "oci/path_scope.h"
#include "oci/safe_path.h"
#include "util/result.h"

namespace ocibuild::oci {

struct NodeState {
  uint32_t mode = 0;  // host st_mode
  uint32_t nlink = 0;
  uint32_t uid = 0;  // host owner
  uint32_t gid = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  std::optional<FileMeta> meta;  // the store's entry, if any
  std::string racy_hash;         // sha256 of the content when the file was racy; else empty

  // Same file, same metadata (content hashes are compared separately).
  bool SameStat(const NodeState& o) const {
    return mode == o.mode && uid == o.uid && gid == o.gid && ino == o.ino && size == o.size &&
           mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns && meta == o.meta;
  }
};

// The entries of a tree that are new or may have changed since a snapshot, as they are now,
// and the snapshot's paths that are no more (Snapshot::Changes).
struct SnapshotDelta {
  std::vector<std::pair<std::string, NodeState>> now;
  std::vector<std::string> gone;
};

class Snapshot {
 public:
  // Walks the whole tree under `root` (never following symlinks). Paths are clean and
  // rootfs-relative; "" is the root.
  // `expected_size` (e.g. the previous snapshot's size) presizes the index.
  static Result<Snapshot> Take(const RootDir& root, const MetaStore& store,
                               size_t expected_size = 0);

  // The snapshot of a tree the caller has just made and stat'ed itself (each path, "" the root,
  // with its lstat), sparing the walk: what Take would find, provided nothing changed the tree
  // since those stats. Files changed within the racy window of now are hashed, as Take does.
  static Result<Snapshot> FromStats(const RootDir& root, const MetaStore& store,
                                    std::vector<std::pair<std::string, struct stat>> stats);
  // Sleeps until none of `stats` would count as racy in a snapshot taken now, so FromStats
  // hashes no file (what was linked last is the newest). Returns at once when the time the
  // caller spent since (stat'ing a large tree) already covers the window.
  static void WaitPastRacyWindow(const std::vector<std::pair<std::string, struct stat>>& stats);
  // Brings `stats` (every path of the tree, as FromStats takes them) up to date after layers
  // were unpacked on top that wrote `paths` (tar names) and removed nothing a lower layer left
  // (ApplyStats::RemovedAnything() false for each: this cannot see a subtree that went and came
  // back). Each path and each directory above it is stat'ed again, and so is every other name
  // of an inode that one of them held before or holds now (its link count and ctime moved).
  // Returns false, leaving `stats` unfit, when this cannot be exact: a path runs through
  // something that is not a directory now, a directory became something else, a path is gone,
  // or a stat fails. The caller then walks the tree.
  static Result<bool> RestatChanged(const RootDir& root,
                                    std::vector<std::pair<std::string, struct stat>>* stats,
                                    const std::vector<std::string>& paths);

  // What changed in the tree since `before` (a snapshot of it), given what a watch of every
  // directory reported (builder/tree_watch.h): each of `restat` is stat'ed again; each of
  // `rewalk` loses its old subtree and is walked in full when it is a directory now; every
  // other name of a hardlinked inode among them is stat'ed again (a write through one name
  // changes all), and of each of `linked` (inodes that got another name: a write through a
  // name made and removed during the step changes the old one, which no event names); so is
  // every path whose metadata-store record `store` changed. Costs what changed, not the tree:
  // what Take would find, provided nothing else changed.
  static Result<SnapshotDelta> Changes(const Snapshot& before, const RootDir& root,
                                       const MetaStore& store,
                                       const std::vector<std::string>& restat,
                                       const std::vector<std::string>& rewalk,
                                       const std::vector<uint64_t>& linked = {});
  // This snapshot, moved on by what Changes found since it.
  void Apply(SnapshotDelta&& delta);
  // The paths where `a` and `b` differ (a path missing in one, or a different stat, store
  // record or racy hash), the first `max` of them in order, each with what differs.
  static std::vector<std::string> Differences(const Snapshot& a, const Snapshot& b,
                                              size_t max = 10);

  // Walks only what `scope` holds: its roots' subtrees and the directories on the way to them
  // (and the root directory), for a step that changed nothing else.
  static Result<Snapshot> TakeScoped(const RootDir& root, const MetaStore& store,
                                     const PathScope& scope);
  // The entries `scope` holds (and the root directory's): what TakeScoped would have found.
  Snapshot Part(const PathScope& scope) const;
  // Replaces the entries `scope` holds with those of `part` (a TakeScoped of the same scope).
  void Merge(const PathScope& scope, Snapshot&& part);

  const std::unordered_map<std::string, NodeState>& nodes() const { return nodes_; }
  const NodeState* Find(const std::string& path) const {
    auto it = nodes_.find(path);
    return it == nodes_.end() ? nullptr : &it->second;
  }
  size_t size() const { return nodes_.size(); }
  // When the walk started (CLOCK_REALTIME, ns): files changed at or after it are racy.
  int64_t taken_ns() const { return taken_ns_; }

  // Every path except the root, e.g. to write a full layer of the tree.
  std::vector<std::string> Paths() const;

 private:
  // Stats each of `singles` (rootfs-relative, "" the root; missing ones are left out) and
  // walks the trees below `dirs`.
  static Result<Snapshot> Walk(const RootDir& root, const MetaStore& store, size_t expected_size,
                               const std::vector<std::string>& singles,
                               std::vector<std::string> dirs);
  // Hashes the content of each of `racy` (paths in the snapshot; vanished ones are left alone).
  Status HashRacy(const RootDir& root, const std::vector<std::string>& racy);

  std::unordered_map<std::string, NodeState> nodes_;
  int64_t taken_ns_ = 0;
};

// SHA-256 hex of the regular file `path` in `root` (used for racy files).
Result<std::string> HashFileInRoot(const RootDir& root, const std::string& path,
                                   bool follow = false);

}  // namespace ocibuild::oci
