#include "builder/registry_cache.h"

#include <set>

#include "oci/image.h"
#include "oci/image_layout.h"

namespace ocibuild::builder {

Result<oci::Descriptor> WriteCacheImage(oci::ContentStore& store,
                                        const std::map<std::string, CachedStep>& entries,
                                        const oci::Platform& platform, const std::string& created) {
  oci::ImageConfig cfg;
  cfg.SetPlatform(platform);
  cfg.created = created;
  nlohmann::json map = nlohmann::json::object();
  std::vector<oci::Descriptor> layers;
  std::set<std::string> seen;
  for (const auto& [key, step] : entries) {
    map[key] = step.ToJson();
    if (!step.layer || !seen.insert(step.layer->digest.str()).second) continue;
    layers.push_back(*step.layer);
    cfg.diff_ids.push_back(step.diff_id);
    oci::HistoryEntry h;
    h.created = created;
    h.created_by = "ocibuild cache layer";
    cfg.history.push_back(h);
  }
  cfg.config.labels[kCacheLabel] = map.dump();
  return oci::WriteImage(store, cfg, layers);
}

Result<std::map<std::string, CachedStep>> ReadCacheEntries(const oci::ImageConfig& config) {
  auto it = config.config.labels.find(kCacheLabel);
  if (it == config.config.labels.end())
    return Error{std::string("not an ocibuild cache image (no ") + kCacheLabel + " label)"};
  auto map = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!map.is_object())
    return Error{std::string("cache image: label ") + kCacheLabel + " is not a JSON object"};
  std::map<std::string, CachedStep> out;
  for (const auto& [key, value] : map.items()) {
    OCIB_ASSIGN_OR_RETURN(CachedStep step, CachedStep::FromJson(value, "cache entry " + key));
    out.emplace(key, std::move(step));
  }
  return out;
}

Status ExportCacheLayout(const oci::ContentStore& store, const oci::Descriptor& manifest,
                         const std::string& dir, const std::string& tag) {
  OCIB_ASSIGN_OR_RETURN(oci::Image img, oci::LoadImage(store, manifest, oci::Platform::Host()));
  OCIB_ASSIGN_OR_RETURN(oci::ImageLayout layout, oci::ImageLayout::Create(dir));
  for (const auto& l : img.manifest.layers) OCIB_TRY(oci::CopyBlob(store, layout.blobs(), l));
  OCIB_TRY(oci::CopyBlob(store, layout.blobs(), img.manifest.config));
  OCIB_TRY(oci::CopyBlob(store, layout.blobs(), manifest));
  // The tag moves last: a reader never finds it naming a manifest whose blobs are missing.
  return layout.Tag(tag, manifest);
}

Result<std::map<std::string, CachedStep>> ImportCacheLayout(const std::string& dir,
                                                            const std::string& tag,
                                                            oci::ContentStore& store) {
  OCIB_ASSIGN_OR_RETURN(oci::ImageLayout layout, oci::ImageLayout::Open(dir));
  OCIB_ASSIGN_OR_RETURN(oci::Image img, layout.LoadImage(tag, oci::Platform::Host()));
  OCIB_ASSIGN_OR_RETURN(auto entries, ReadCacheEntries(img.config));
  for (const auto& l : img.manifest.layers) OCIB_TRY(oci::CopyBlob(layout.blobs(), store, l));
  return entries;
}

}  // namespace ocibuild::builder
