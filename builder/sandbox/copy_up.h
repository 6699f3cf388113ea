// Copy-up before an in-place write, as overlayfs does for a file of a lower layer: a file whose
// inode a cached unpacked tree shares (builder/rootfs_cache.h) is replaced by a private copy
// (contents, host mode, times, user xattrs and its metadata-store entry), so the write reaches
// only this rootfs. Like overlayfs, this breaks an image hardlink between two such paths; links
// made by the build itself are new inodes and stay links.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_set>

#include "oci/metastore.h"

namespace ocibuild::sandbox {

// Replaces `path` (a host path inside the rootfs) by a copy when it is a regular file whose
// inode is in `shared`; with `keep_content` false (an O_TRUNC open, truncate) the copy starts
// empty. True when the file was replaced.
// Best effort: when the copy cannot be made the write goes in place, which a cached tree
// detects (it records the size, mtime and mode of every file it shares).
bool BreakSharedLink(const std::string& path, oci::MetaStore& store, bool keep_content,
                     const std::unordered_set<uint64_t>* shared);

}  // namespace ocibuild::sandbox
