// An image as stored: manifest + config + layer blobs in a ContentStore. Loading follows an
// index to the manifest for a platform; writing stores the config and manifest documents whose
// layers are already in the store.
#pragma once

#include <string>
#include <vector>

#include "oci/content_store.h"
#include "oci/descriptor.h"
#include "oci/image_config.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "oci/platform.h"
#include "util/result.h"

namespace ocibuild::oci {

struct Image {
  Descriptor descriptor;  // of the manifest
  Manifest manifest;
  ImageConfig config;
};

// Loads the image `desc` points at. If it is an index (or manifest list), the entry for
// `want` is chosen as SelectPlatform does. Blobs are verified against their digests.
Result<Image> LoadImage(const ContentStore& store, const Descriptor& desc, const Platform& want);

struct WriteImageOptions {
  MediaFormat format = MediaFormat::kOci;
  Annotations annotations;  // on the manifest
};

// Stores `config` and a manifest listing `layers` (whose blobs must already be in `store`;
// their media types are converted to `format`) and returns the manifest's descriptor, with the
// config's platform. Fails if the number of layers differs from the config's diff_ids.
Result<Descriptor> WriteImage(ContentStore& store, const ImageConfig& config,
                              const std::vector<Descriptor>& layers,
                              const WriteImageOptions& opts = {});

}  // namespace ocibuild::oci
