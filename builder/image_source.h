// Where base images come from (FROM <image>, COPY --from=<image>, RUN --mount from=<image>): an
// interface so the executor can be tested without a network; the registry client implements it.
#pragma once

#include <string>
#include <vector>

#include "oci/descriptor.h"
#include "oci/image_config.h"
#include "oci/platform.h"
#include "util/result.h"

namespace ocibuild::builder {

struct PulledImage {
  std::string name;             // canonical reference, e.g. docker.io/library/debian:12
  oci::Digest manifest_digest;  // of the platform manifest
  oci::Digest root_digest;      // what the reference resolved to (an index, or the manifest)
  oci::ImageConfig config;
  std::vector<oci::Descriptor> layers;  // blobs are in the executor's content store
};

class ImageSource {
 public:
  virtual ~ImageSource() = default;
  virtual Result<PulledImage> Pull(const std::string& ref, const oci::Platform& platform) = 0;
};

}  // namespace ocibuild::builder
