// Build outputs other than a registry push: an OCI image layout (directory or tar), the
// `docker load` archive, the final rootfs as a tar, or the rootfs copied into a directory.
// Files are written under a temporary name and renamed, so a failed export leaves nothing.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "builder/executor.h"
#include "oci/content_store.h"

namespace ocibuild::builder {

struct OutputRequest {
  std::string type;  // oci, docker, tar, local
  std::map<std::string, std::string> attrs;
};

// `names` are the -t references (used as ref names / RepoTags). Rootfs outputs (tar, local)
// materialize the target stage through `exec`.
Status WriteOutput(const OutputRequest& out, const BuiltImage& image,
                   const oci::ContentStore& store, const std::vector<std::string>& names,
                   Executor& exec);

}  // namespace ocibuild::builder
