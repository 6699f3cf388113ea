// Scratch trees are deleted off the build's critical path. A multi-stage build over a Node or
// Debian base leaves ~40,000 entries per stage; unlinking them took 2.5-18 s after "Build
// complete" was printed. Instead, a finished build renames its scratch directory into
// $OCIBUILD_ROOT/trash (one rename, same filesystem) and starts a detached emptier (its own
// session, nice 19, idle I/O class) that deletes it; an emptier that died leaves the entry for
// the next build's emptier.
//
// One emptier at a time deletes (trash/.lock), so an entry is deleted by one process only.
// Trees in the trash may still share inodes with the unpacked-tree cache (builder/rootfs_cache.h),
// and unlinking a name moves the inode's ctime, which the tree a build restored from the same
// entry would see as a change. So the emptier unlinks only while it holds the cache's lock, a
// slice at a time, and gives it up as soon as a starting build asks for it (RootfsCache::Open
// waits for that instead of building without the cache).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "util/result.h"

namespace ocibuild::builder {

// $OCIBUILD_ROOT/trash.
std::string TrashDir(const std::string& state_root);

// Renames `path` into the trash of `state_root` (same filesystem; EXDEV and the like are errors,
// the caller then removes it in place).
Status MoveToTrash(const std::string& state_root, const std::string& path);
// Makes the trash directory `trash` with its lock files (the emptier never makes them).
Status PrepareTrash(const std::string& trash);
// The same into the trash directory `trash`.
Status MoveIntoTrash(const std::string& trash, const std::string& path);
// True when the trash holds something to delete.
bool TrashHasEntries(const std::string& state_root);

struct EmptyTrashOptions {
  // Wait for an emptier already running (false: return 0 at once when there is one).
  bool wait = true;
  // The caller holds the unpacked-tree cache's lock itself (a build cleaning up inline).
  bool holds_cache_lock = false;
  // Give up instead of waiting when another process holds the cache lock.
  bool cache_lock_nowait = false;
};

// Deletes every entry of the trash, until it is empty. Returns how many entries this call
// deleted.
Result<size_t> EmptyTrash(const std::string& state_root, const EmptyTrashOptions& opts = {});

// Starts `exe __empty-trash <state_root>` detached: a session of its own, stdin/stdout/stderr on
// /dev/null (so no pipe a caller reads stays open), never waited for. Returns its pid.
Result<pid_t> SpawnTrashEmptier(const std::string& state_root,
                                const std::string& exe = "/proc/self/exe");

// The emptier's own priority: nice 19 and the idle I/O class (best effort).
void LowerOwnPriority();

// The hidden `ocibuild __empty-trash` command.
inline constexpr char kEmptyTrashCommand[] = "__empty-trash";

}  // namespace ocibuild::builder
