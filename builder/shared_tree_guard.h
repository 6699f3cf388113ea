// The unpacked-tree cache's guard around a RUN step. A restored rootfs shares its files' inodes
// with a cache entry (builder/rootfs_cache.h), and the sandbox copies one up before any write
// (builder/sandbox/copy_up.h). The guard checks that this held: before the step it records the
// ctime of every shared inode — which no one can set (futimens sets mtime, and ctime to now) —
// and waits until the clock has moved past the newest; after the step any shared inode whose
// ctime moved, other than by what the sandbox reports doing to it (a copy-up, or one of its
// names unlinked, renamed or linked), was changed in place, and the entry it belongs to must
// never be restored again.
//
// Both ends can read the ctimes from a snapshot of the tree taken at that moment, instead of a
// stat of every shared inode through the cache (tens of thousands for a base image): an inode
// the guest can change has a name in the tree, and one whose names all went during the step is
// looked up in the cache.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "oci/snapshot.h"
#include "util/result.h"

namespace ocibuild::builder {

// One change the sandbox made to a shared inode: its ctime before and after.
struct CopyUpRecord {
  uint64_t ino = 0;
  int64_t ctime_before = 0;
  int64_t ctime_after = 0;
};

// The sandbox's copy-up log (RunSpec::copy_up_log); a missing file is none.
Result<std::vector<CopyUpRecord>> ReadCopyUpLog(const std::string& path);

class SharedTreeGuard {
 public:
  // `nodes_dirs`: the nodes/ directories of the cache entries the tree shares inodes with
  // (each shared inode is linked there as its number).
  // `tree`: a snapshot of the tree as it is now (nullptr: every shared inode is looked up).
  static Result<SharedTreeGuard> Arm(const std::unordered_set<uint64_t>& shared,
                                     const std::vector<std::string>& nodes_dirs,
                                     const oci::Snapshot* tree = nullptr);
  // The inodes changed otherwise than by a reported copy-up (empty: the entry is intact).
  // `tree`: a snapshot of the tree taken after the step.
  Result<std::vector<uint64_t>> Changed(const std::vector<CopyUpRecord>& copy_ups,
                                        const oci::Snapshot* tree = nullptr) const;
  // The same, from what changed since `before` (the snapshot the guard was armed from) as a
  // watch of the tree saw it: only the inodes the delta names are looked at.
  Result<std::vector<uint64_t>> Changed(const std::vector<CopyUpRecord>& copy_ups,
                                        const oci::Snapshot& before,
                                        const oci::SnapshotDelta& delta) const;
  // For each shared inode, its names outside the tree when armed (the entries' nodes/<inode>,
  // a finished stage's tree restored from the same entry): the step must not see them in
  // st_nlink, or `ls -l` and `find -links` would differ with the cache on and off. Without a
  // snapshot only the entries' names are known.
  const std::unordered_map<uint64_t, uint32_t>& foreign_links() const { return foreign_links_; }

 private:
  // `inodes` (armed ones) whose ctime now (`in_tree`, else looked up in the cache) moved
  // otherwise than by a reported copy-up.
  Result<std::vector<uint64_t>> Check(const std::vector<CopyUpRecord>& copy_ups,
                                      const std::unordered_map<uint64_t, int64_t>& in_tree,
                                      const std::vector<uint64_t>& inodes) const;

  std::vector<std::string> nodes_dirs_;
  std::unordered_map<uint64_t, int64_t> ctimes_;
  std::unordered_map<uint64_t, uint32_t> foreign_links_;
};

}  // namespace ocibuild::builder
