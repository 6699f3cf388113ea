#include "builder/registry_cache.h"

#include <set>

#include "oci/image.h"

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
  if (!map.is_object()) return Error{std::string("cache image: label ") + kCacheLabel + " is not a JSON object"};
  std::map<std::string, CachedStep> out;
  for (const auto& [key, value] : map.items()) {
    OCIB_ASSIGN_OR_RETURN(CachedStep step, CachedStep::FromJson(value, "cache entry " + key));
    out.emplace(key, std::move(step));
  }
  return out;
}

}  // namespace ocibuild::builder
