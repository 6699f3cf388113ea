// The layer cache as a registry artifact (--cache-to / --cache-from type=registry): an ordinary
// OCI image whose layers are the layers the build's steps produced and whose config carries the
// step-key -> layer map in a label. Ordinary pushes and pulls move it, so an ephemeral CI runner
// with an empty disk gets every cached step back, and any registry tool can inspect it.
#pragma once

#include <map>
#include <string>

#include "builder/layer_cache.h"
#include "oci/content_store.h"
#include "oci/image_config.h"
#include "oci/platform.h"

namespace ocibuild::builder {

inline constexpr char kCacheLabel[] = "dev.ocibuild.cache.v1";

// Stores the cache image for `entries` in `store`; returns its manifest descriptor.
Result<oci::Descriptor> WriteCacheImage(oci::ContentStore& store,
                                        const std::map<std::string, CachedStep>& entries,
                                        const oci::Platform& platform, const std::string& created);

// The entries a cache image's config carries.
Result<std::map<std::string, CachedStep>> ReadCacheEntries(const oci::ImageConfig& config);

}  // namespace ocibuild::builder
