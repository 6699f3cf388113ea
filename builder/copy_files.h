// COPY/ADD into a rootfs, with BuildKit's rules (its fsutil copy):
//  - DEST ending in '/' is created as a directory first, otherwise its parent is; directories
//    COPY creates get --chmod's octal mode (0755 otherwise) and the --chown owner;
//  - each match is copied in turn, DEST looked at again before each: a directory source copies
//    its contents into DEST (made when missing); any other source lands inside DEST when DEST is
//    a directory, else at DEST — so several files to a DEST without '/' leave the last one
//    there, as BuildKit does;
//  - --parents keeps each match's path below its pivot ("/./", else the source root), parent
//    directories copied with their own metadata;
//  - owners: --chown when given, else 0:0 for the context and the source's owners for another
//    stage; modes: --chmod when given (octal, or symbolic applied to each file's mode), else the
//    source's; mtimes are kept; a socket becomes an empty regular file (BuildKit's stub);
//  - --exclude patterns (relative to each source) and .dockerignore leave files out.
// Everything is resolved in-root on both sides, so no symlink in the rootfs or the context can
// make a copy read or write outside them. Owners and modes the host cannot hold are recorded in
// the destination's metadata store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "builder/build_context.h"
#include "builder/chmod_spec.h"
#include "oci/metastore.h"
#include "oci/safe_path.h"
#include "util/result.h"

namespace ocibuild::builder {

struct CopySourceTree {
  const oci::RootDir* root = nullptr;     // the context directory or another stage's rootfs
  const oci::MetaStore* store = nullptr;  // null for the context: files become 0:0
  const BuildContext* context = nullptr;  // set when `root` is the context (.dockerignore)
  std::vector<SourceMatch> matches;       // what the sources selected
};

struct CopyOptions {
  std::string dest;  // absolute guest path (relative ones already joined with WORKDIR)
  std::optional<std::pair<uint32_t, uint32_t>> chown;
  std::optional<ChmodSpec> chmod;
  std::vector<std::string> excludes;
};

Status CopyInto(const oci::RootDir& dst, oci::MetaStore& dst_store, const CopySourceTree& src,
                const CopyOptions& opts);

// Records owner and image mode for the file open as `fd` in `store`, keeping the host copy
// usable (u+rw, u+rwx for directories): the store entry is dropped when the host already says
// it all (root:root and the same permission bits).
Status SetOwnerAndMode(int fd, oci::MetaStore& store, uint32_t uid, uint32_t gid, uint32_t mode);

}  // namespace ocibuild::builder
