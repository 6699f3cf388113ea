// The layer cache as an image (--cache-to / --cache-from): an ordinary OCI image whose layers are
// the layers the build's steps produced and whose config carries the step-key -> layer map in a
// label. type=registry pushes and pulls it, so an ephemeral CI runner with an empty disk gets
// every cached step back; type=local keeps the same image in an OCI layout directory (a CI cache
// action can save and restore it). Any registry or layout tool can inspect it.
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

// type=local,dest=DIR: the cache image `manifest` (in `store`) copied into the OCI layout at
// `dir` (created if absent) and named `tag`; other images there are kept.
Status ExportCacheLayout(const oci::ContentStore& store, const oci::Descriptor& manifest,
                         const std::string& dir, const std::string& tag);

// type=local,src=DIR: the entries of the cache image named `tag` in the layout at `dir`, with
// its layers copied into `store` so that the layer cache can hand them out.
Result<std::map<std::string, CachedStep>> ImportCacheLayout(const std::string& dir,
                                                            const std::string& tag,
                                                            oci::ContentStore& store);

}  // namespace ocibuild::builder
