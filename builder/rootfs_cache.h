// Unpacked rootfs trees kept between builds, so that a rebuild whose first changed step sits on
// top of large cached layers (an apt-get install, a base image) does not unpack them again.
//
// ext4 (CI runners, most pods) has no reflinks, so an entry is a flat hardlink farm: every
// non-directory is a hardlink (nodes/<inode>) to the same inode as the work tree it came from or
// is restored into, and the directories are only listed (with modes, times and xattrs) and made
// again on restore; saving makes no inode at all. A tree saved after the steps on top of the entry
// it was restored from links only the inodes that entry does not hold (see Save). Sharing
// inodes is safe because the work tree is never written in place by ocibuild itself (the layer
// applier and COPY unlink before they write), and dpkg, apt, sed -i and friends replace files by
// rename. A RUN step that does write a shared file in place (an `echo >> file`, a chmod) changes
// it in the entry too: each entry records the size, mtime and host mode of every inode it holds,
// and a restore that finds one changed drops the entry and unpacks instead. The cost of such a step
// is one cache entry, never a wrong image.
//
// Linking a file changes its ctime, which the snapshot differ compares. So only one work tree
// at a time that is still diffed may share inodes with the cache: the cache is locked by one
// build (others build without it) and claimed by one unfinished stage within that build at a
// time; its snapshot is retaken after every restore or save.
//
// A scoped tree (builder/scoped_tree.h) restores only part of an entry and is never saved. It
// links nodes only while its stage holds the claim (and gives the claim back at once when it
// linked none); without the claim it restores directories alone (making a directory moves no
// shared inode's ctime) or nothing, and leaves a damaged entry for the claimant to drop, since
// unlinking a node moves its ctime too.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "oci/digest.h"
#include "oci/metastore.h"
#include "oci/path_scope.h"
#include "util/fd.h"
#include "util/result.h"

namespace ocibuild::builder {

// Each path of a restored tree ("" the root) with its lstat.
using RestoreStats = std::vector<std::pair<std::string, struct stat>>;

class RootfsCache {
 public:
  // Lock files. kLock, in the cache directory, is held by the build that uses the cache, and by
  // the trash emptier (builder/trash.h) while it unlinks; kUnlinkingLock and kWaitingLock, in the
  // trash directory, say that the emptier holds kLock and that a build waits for it.
  static constexpr char kLock[] = "lock";
  static constexpr char kUnlinkingLock[] = ".unlinking";
  static constexpr char kWaitingLock[] = ".waiting";
  // More trash entries than this, and a starting build lets the emptier finish before it takes
  // the lock (instead of asking for it at once), for a while.
  static constexpr size_t kTrashBacklog = 3;
  // How long it lets the emptier work before it asks for the lock all the same.
  static constexpr int64_t kBacklogWaitMs = 3000;

  // Opens (creating) the cache in `dir` and takes its lock: nullptr when another build holds it
  // (the emptier of `trash_dir` gives it up within a slice, so that is waited for). Leftovers of
  // interrupted saves go, and all but the `keep` most recently used entries are evicted (no tree
  // shares their inodes at this point): renamed into `trash_dir` when given, else removed.
  static Result<std::unique_ptr<RootfsCache>> Open(const std::string& dir, size_t keep = 4,
                                                   const std::string& trash_dir = "");

  // One stage at a time may share inodes with the cache while it still diffs its tree: the
  // first to ask, until it gives the claim back (its last step done). Askers meanwhile build
  // without the cache. A finished stage's tree is only read (COPY --from, outputs), so the ctimes
  // a later claimant's linking moves in it matter to no one: stages of one build on the same base
  // restore one after the other instead of each unpacking it.
  bool Claim(const void* owner);
  bool Owns(const void* owner) const;
  void Release(const void* owner);

  // Restores into the empty directory `rootfs` (its metadata into the empty `store`) the longest
  // cached prefix of `diff_ids` that is intact. Returns how many layers the restored tree holds:
  // 0 when there was none (the directory and store are then empty again).
  // The inodes now shared with the cache are added to `shared`. `stats`, when given, receives
  // every path of the restored tree with its lstat as the tree was finished (for
  // oci::Snapshot::FromStats: the snapshot without a walk).
  Result<size_t> RestoreLongest(const std::vector<oci::Digest>& diff_ids, const std::string& rootfs,
                                oci::MetaStore& store, std::unordered_set<uint64_t>* shared,
                                RestoreStats* stats = nullptr);
  // The same for a scoped tree (builder/scoped_tree.h): only what `scope` holds is restored,
  // and `cross_links` receives the names in the scope whose inode has names outside it too.
  // Linking needs the claim (`may_link`): a tree restored without it gets the directories only,
  // and when a node lies in the scope nothing is restored (0), since linking would move ctimes
  // in the claimant's tree. Such a caller also leaves damaged entries for the claimant to drop.
  Result<size_t> RestoreScoped(const std::vector<oci::Digest>& diff_ids, const std::string& rootfs,
                               oci::MetaStore& store, std::unordered_set<uint64_t>* shared,
                               const oci::PathScope* scope, bool may_link,
                               std::vector<std::string>* cross_links,
                               RestoreStats* stats = nullptr);
  // Records `rootfs` (holding exactly the layers `diff_ids`) as an entry; adds the inodes it now
  // shares to `shared`. `parent_layers`: the tree was restored from (or last saved as) the entry
  // of that many first layers of `diff_ids` (0: none). Its inodes the tree still holds unchanged
  // are not linked again: the new entry uses that entry's nodes (and those of its chain, up to a
  // few entries deep; deeper, or when the parent is gone, the entry links every node itself).
  // Restoring an entry needs every entry of its chain, so eviction keeps them while it is kept.
  // `relinked` receives the inodes the save linked: theirs are the only ctimes it moved, unless
  // it `replaced` an entry of the same chain (whose names it unlinked).
  Status Save(const std::vector<oci::Digest>& diff_ids, const std::string& rootfs,
              const oci::MetaStore& store, std::unordered_set<uint64_t>* shared,
              size_t parent_layers = 0, std::vector<uint64_t>* relinked = nullptr,
              bool* replaced = nullptr);

  const std::string& dir() const { return dir_; }
  // The nodes/ directories where the shared inodes of the entry for a layer chain are linked:
  // its own, then those of the entries it uses nodes of.
  std::vector<std::string> NodesDirs(const std::vector<oci::Digest>& diff_ids) const;

 private:
  RootfsCache(std::string dir, UniqueFd lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}
  // A RestoreTree outcome (kOk, kDamaged, kNeedsLink in rootfs_cache.cc).
  Result<int> Restore(const std::string& entry, const std::string& rootfs, oci::MetaStore& store,
                      std::unordered_set<uint64_t>* shared, const oci::PathScope* scope,
                      bool may_link, std::vector<std::string>* cross_links, RestoreStats* stats);

  std::string dir_;
  UniqueFd lock_;  // flock(LOCK_EX) for the life of the object
  mutable std::mutex mu_;
  const void* owner_ = nullptr;
};

// The entry name of a layer chain (hex SHA-256 of the diff_ids in order).
std::string RootfsChainKey(const std::vector<oci::Digest>& diff_ids);

}  // namespace ocibuild::builder
