// Unpacks a layer (tar, gzip or zstd; autodetected) into a plain directory, VFS-style and
// without privileges: no mounts, no chown to foreign ids, no device nodes on disk.
//
// What the host cannot hold goes into the MetaStore (see oci/metastore.h):
//  - owners other than root:root, and modes the host copy does not carry. On disk, files keep
//    u+rw and directories u+rwx so the unprivileged builder can always read, write and remove
//    them; the image's mode (0000, 0555 ...) is recorded instead.
//  - character/block devices and sockets: an empty placeholder regular file (0600) + an entry
//    with the real type and rdev. FIFOs are created for real with mkfifo (any user may), so a
//    RUN step can use them; their owner/mode still go to the store when they differ.
//  - xattrs: user.* are set on disk when the filesystem allows, everything else (security.*,
//    trusted.*, system.*) and user.* that failed are recorded in the store.
//
// Whiteouts follow the OCI layer spec: ".wh.NAME" removes NAME and ".wh..wh..opq" empties its
// directory, applied to what lower layers left -- never to entries of this same layer, whatever
// their order in the tar. Removing the last link of an inode erases its store entry.
//
// Safety: every entry resolves inside the root (see oci/safe_path.h). Entries whose path or
// hardlink target climbs above the root with "..", whiteouts naming "." or "..", and hardlinks
// to directories are refused with an error that names the entry; absolute paths and symlinks
// are followed as if the root were "/".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "oci/metastore.h"
#include "oci/path_scope.h"
#include "oci/safe_path.h"
#include "util/result.h"

namespace ocibuild::oci {

struct ApplyStats {
  uint64_t entries = 0;    // tar entries processed (whiteouts included)
  uint64_t whiteouts = 0;  // whiteout and opaque markers
  // Directories and symlinks that lower layers left and an entry took the place of: what was
  // below a directory went with it, and earlier entries may have been written through a symlink.
  uint64_t replaced = 0;
  uint64_t bytes = 0;  // file content bytes written
  // A scoped apply stopped: the layer does something the scoped tree cannot show exactly (see
  // ApplyOptions::scope). The tree is then unfit and must be thrown away.
  bool out_of_scope = false;
  // Scoped: paths in the scope that this layer hardlinked from outside it. A step that unlinks
  // such a name changes the link count (and so the ctime) of the name outside, which the full
  // tree's diff reports; the scoped tree cannot.
  std::vector<std::string> cross_links;
  // ApplyOptions::list_paths: the path of every entry applied (whiteouts included), as the tar
  // names it.
  std::vector<std::string> paths;

  // Something a lower layer left is gone: a whiteout, or a directory or symlink replaced.
  bool RemovedAnything() const { return whiteouts > 0 || replaced > 0; }
};

struct ApplyOptions {
  // Unpack only the entries of paths `scope` holds (its roots' subtrees and the directories on
  // the way), and the whiteouts and opaque markers that remove such paths; the rest is skipped
  // unread. What comes out is exactly the scope's part of the full tree, or the apply stops
  // with out_of_scope:
  //  - a hardlink inside the scope whose target is outside it (the target is not there);
  //  - a skipped entry or whiteout that would add or remove a child of a directory on the way
  //    while the layer does not list that directory: the full tree's directory would get the
  //    time of the unpack as its mtime, which a later layer carries. (The root directory is
  //    exempt: no layer records it.)
  // Symlinks on the way are not looked at here: the caller checks the finished tree.
  const PathScope* scope = nullptr;
  // Fill ApplyStats::paths (for a caller that updates a snapshot instead of walking the tree).
  bool list_paths = false;
};

// Reads the layer from `fd` (any readable fd: file, pipe) and applies it into `root`.
Result<ApplyStats> ApplyLayer(const RootDir& root, MetaStore& store, int fd,
                              const ApplyOptions& opts = {});

// Convenience: opens `blob_path` and `rootfs` (created when missing).
Result<ApplyStats> ApplyLayerFile(const std::string& rootfs, MetaStore& store,
                                  const std::string& blob_path);

}  // namespace ocibuild::oci
