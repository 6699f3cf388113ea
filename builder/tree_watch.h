// What a RUN step changed in its tree, told by the kernel (inotify) instead of found by walking
// the whole tree after the step: the walk stats every entry (38,000 for a Node base, 150 ms on
// two cores), while a step mostly touches a few directories.
//
// Every directory the stage's snapshot holds gets a watch before the step starts. The kernel
// reports, per watched directory and entry name, every change whoever made it (the step, the
// sandbox's supervisor acting for it, the executor): contents (written, or a file opened for
// writing closed: also mmap writes and a killed writer), metadata (mode, times, xattrs, owner),
// names created, removed and moved in or out. So the tree after the step is the snapshot before
// it with those entries stat'ed again (oci::Snapshot::Changes, a delta the commit diffs and
// applies):
// - an entry that came into being during the step (created, moved in) is walked in full when it
//   is a directory: directories made during the step have no watch;
// - a directory moved away keeps its watch and reports its entries under its old path: stat'ing
//   that path again finds what is there now, and where the directory went was reported as a
//   name moved in and is walked;
// - a hardlinked file written through one name changes its other names too, which no watch
//   reports: the snapshot's other names of every such inode are stat'ed again, and of every
//   inode the sandbox gave another name (RunSpec::tree_notes: a write through a temporary
//   hardlink);
// - an owner change the sandbox records only in the metadata store moves nothing on disk: the
//   store entries are read again for every path.
// When anything cannot be exact (a watch could not be added: a per-user limit, a directory the
// builder cannot read; the kernel's queue overflowed), Finish says so and the caller walks; so
// does the executor when the sandbox noted a chattr (a ctime moved without an event) or a
// process outlived the step.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "oci/snapshot.h"
#include "util/fd.h"
#include "util/result.h"

namespace ocibuild::builder {

struct TreeChanges {
  // Paths (rootfs-relative, "" the root) whose entry may differ: stat again.
  std::vector<std::string> restat;
  // Paths that were created, removed or moved in or out: their old subtree goes, and what is
  // there now is walked in full.
  std::vector<std::string> rewalk;
};

class TreeWatch {
 public:
  // Watches every directory of `before` (a snapshot of the tree at `root_path`). An error when
  // one cannot be watched: the caller then walks the tree after the step, as without a watch.
  static Result<std::unique_ptr<TreeWatch>> Start(const std::string& root_path,
                                                  const oci::Snapshot& before);
  ~TreeWatch();
  TreeWatch(const TreeWatch&) = delete;
  TreeWatch& operator=(const TreeWatch&) = delete;

  // Stops watching and returns what changed since Start; an error when the events cannot be
  // trusted to be complete (the kernel dropped some). The watches are freed with the object.
  Result<TreeChanges> Finish();

 private:
  TreeWatch() = default;
  void Drain();       // reads the pending events (the reader thread, then Finish)
  void Read();        // the reader thread: until stop_
  void StopReader();  // wakes the reader thread with stop_ and joins it

  UniqueFd fd_;
  UniqueFd stop_;                              // an eventfd: Finish wakes the reader with it
  std::unordered_map<int, std::string> dirs_;  // watch descriptor -> directory path
  std::thread reader_;
  std::mutex mu_;
  std::unordered_set<std::string> restat_;
  std::unordered_set<std::string> rewalk_;
  bool incomplete_ = false;
  std::string why_;
};

}  // namespace ocibuild::builder
