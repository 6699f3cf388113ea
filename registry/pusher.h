// Pushes an image or index from a content store to one or more references of one registry:
// all blobs first (several at once, skipping what the registry has, mounting what another of
// its repositories has), then manifests (index children before the index, tags last), so a
// failed push never moves a tag.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "oci/content_store.h"
#include "oci/descriptor.h"
#include "registry/client.h"
#include "registry/progress.h"
#include "registry/reference.h"

namespace ocibuild::registry {

struct PushOptions {
  int parallel_blobs = 0;  // 0: the client's RegistryOptions::parallel_blobs
  ProgressFn progress;
  // Blobs known to exist in another repository ("digest" -> Reference it came from, e.g. the
  // base image); mounted when that repository is on the same registry.
  std::map<std::string, Reference> blob_sources;
};

struct PushResult {
  oci::Descriptor root;
  std::vector<Reference> pushed;  // the targets, with digest set
  int blobs_uploaded = 0;
  int blobs_mounted = 0;
  int blobs_existed = 0;
  uint64_t bytes_uploaded = 0;
};

// `root` (an image manifest or index) and everything it references must be in `store`.
// All targets must be on client.registry(); they may name several repositories and tags.
Result<PushResult> Push(RegistryClient& client, const oci::ContentStore& store,
                        const oci::Descriptor& root, const std::vector<Reference>& targets,
                        const PushOptions& opts = {});

}  // namespace ocibuild::registry
