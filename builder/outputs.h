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

// One platform's image of a build, and the executor that built it (rootfs outputs materialize
// its target stage).
struct PlatformResult {
  oci::Platform platform;
  BuiltImage image;
  Executor* exec = nullptr;
};

// What a build produced: `root` is the image manifest, or the index over several platforms'
// images and their attestation manifests.
struct BuildResult {
  oci::Descriptor root;
  std::vector<PlatformResult> images;
  oci::Annotations index_descriptor_annotations;  // --annotation index-descriptor:...
};

// `names` are the -t references (used as ref names / RepoTags). Rootfs outputs (tar, local)
// of several platforms go to DEST/os_arch[_variant]/, as buildx writes them.
Status WriteOutput(const OutputRequest& out, const BuildResult& result,
                   const oci::ContentStore& store, const std::vector<std::string>& names);

// Copies `root` and everything it references (an index's manifests, a manifest's config and
// layers) from one store to the other.
Status CopyTree(const oci::ContentStore& from, oci::ContentStore& to, const oci::Descriptor& root);

}  // namespace ocibuild::builder
