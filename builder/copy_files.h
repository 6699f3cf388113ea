// COPY/ADD into a rootfs, with Docker's rules:
//  - a directory source copies its contents; a file source lands at DEST, or inside DEST when
//    DEST ends with '/' or is an existing directory; several sources need a DEST ending in '/';
//  - --parents keeps each source's path below the context (or stage) root;
//  - owners: --chown when given, else 0:0 for the context and the source's owners for another
//    stage; modes: --chmod when given, else the source's; mtimes are kept;
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
#include "oci/metastore.h"
#include "oci/safe_path.h"
#include "util/result.h"

namespace ocibuild::builder {

struct CopySourceTree {
  const oci::RootDir* root = nullptr;       // the context directory or another stage's rootfs
  const oci::MetaStore* store = nullptr;    // null for the context: files become 0:0
  const BuildContext* context = nullptr;    // set when `root` is the context (.dockerignore)
  std::vector<SourceMatch> matches;         // what the sources selected
};

struct CopyOptions {
  std::string dest;  // absolute guest path (relative ones already joined with WORKDIR)
  std::optional<std::pair<uint32_t, uint32_t>> chown;
  std::optional<uint32_t> chmod;  // permission bits from --chmod
  std::vector<std::string> excludes;
  bool parents = false;
  bool several_sources = false;  // more than one source argument (or a wildcard)
};

// Parses --chmod: octal ("0755", "755"). Symbolic modes are refused with a clear error.
Result<uint32_t> ParseChmod(std::string_view spec);

Status CopyInto(const oci::RootDir& dst, oci::MetaStore& dst_store, const CopySourceTree& src,
                const CopyOptions& opts);

// Records owner and image mode for the file open as `fd` in `store`, keeping the host copy
// usable (u+rw, u+rwx for directories): the store entry is dropped when the host already says
// it all (root:root and the same permission bits).
Status SetOwnerAndMode(int fd, oci::MetaStore& store, uint32_t uid, uint32_t gid, uint32_t mode);

}  // namespace ocibuild::builder
