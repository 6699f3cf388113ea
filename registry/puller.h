// Pulls an image: reference -> (index -> the platform's) manifest -> config and layers in the
// blob cache, several blobs at once. What the cache already holds is not fetched again; a pull
// by digest whose content is all cached makes no request at all.
#pragma once

#include <string>

#include "oci/descriptor.h"
#include "oci/manifest.h"
#include "oci/platform.h"
#include "registry/blob_cache.h"
#include "registry/client.h"
#include "registry/progress.h"
#include "registry/reference.h"

namespace ocibuild::registry {

struct PullOptions {
  oci::Platform platform = oci::Platform::Host();
  int parallel_blobs = 0;  // 0: the client's RegistryOptions::parallel_blobs
  ProgressFn progress;
};

struct PullResult {
  Reference reference;       // as asked for, with `digest` set to the root's digest
  oci::Descriptor root;      // what the reference names: an index or a manifest
  oci::Descriptor manifest;  // the image manifest chosen for the platform
  oci::Manifest image;       // its parsed content; config and layers are in the cache
  int blobs_fetched = 0;
  int blobs_cached = 0;
  uint64_t bytes_fetched = 0;
};

Result<PullResult> Pull(RegistryClient& client, BlobCache& cache, const Reference& ref,
                        const PullOptions& opts = {});

}  // namespace ocibuild::registry
