// Copy-up before an in-place write, as overlayfs does for a file of a lower layer: a file whose
// inode a cached unpacked tree shares (builder/rootfs_cache.h) is replaced by a private copy
// (contents, host mode, times, user xattrs), so the write reaches only this rootfs. Like
// overlayfs, this breaks an image hardlink between two such paths; links made by the build
// itself are new inodes and stay links.
//
// The decision is made on the inode the name leads to right now (not on the spelling of a path),
// and a copy that cannot be made refuses the write: a shared inode is never written in place.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <unordered_set>

namespace ocibuild::sandbox {

struct CopiedUp {
  ino_t from = 0;  // the shared inode the name left
  ino_t to = 0;    // the private copy now under the name (0: nothing was copied)
  // The shared inode's ctime (ns) when it was copied, and after its name went: the cache's
  // guard (builder/shared_tree_guard.h) accepts exactly this change of it.
  int64_t ctime_before = 0;
  int64_t ctime_after = 0;
};

// Replaces `name` in directory `dirfd` by a copy when it is a regular file whose inode is in
// `shared`; with `keep_content` false (an O_TRUNC open, truncate) the copy starts empty.
// Returns 0 (copied, or nothing to do) or -errno when the file is shared and could not be
// copied (the caller must then refuse the write). The caller moves the metadata-store entry
// from `from` to `to`.
int BreakSharedLink(int dirfd, const std::string& name, bool keep_content,
                    const std::unordered_set<uint64_t>* shared, CopiedUp* out);

}  // namespace ocibuild::sandbox
