#include "builder/layer_cache.h"

#include "oci/json_util.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace ocibuild::builder {

nlohmann::json CachedStep::ToJson() const {
  nlohmann::json j = nlohmann::json::object();
  if (!memo.empty()) {
    j["empty"] = true;
    j["memo"] = memo;
    return j;
  }
  if (layer) {
    j["layer"] = layer->ToJson();
    j["diff_id"] = diff_id.str();
  } else {
    j["empty"] = true;
  }
  if (!created.empty()) j["created"] = created;
  return j;
}

Result<CachedStep> CachedStep::FromJson(const nlohmann::json& j, const std::string& what) {
  CachedStep s;
  if (!j.is_object()) return Error{what + ": not a JSON object"};
  if (j.contains("created") && j["created"].is_string()) s.created = j["created"];
  if (j.contains("memo") && j["memo"].is_string()) s.memo = j["memo"];
  if (j.contains("empty") && j["empty"] == true) return s;
  if (!j.contains("layer") || !j.contains("diff_id") || !j["diff_id"].is_string())
    return Error{what + ": missing layer or diff_id"};
  OCIB_ASSIGN_OR_RETURN(oci::Descriptor d, oci::Descriptor::FromJson(j["layer"], what));
  OCIB_ASSIGN_OR_RETURN(s.diff_id, oci::Digest::Parse(j["diff_id"].get<std::string>()));
  s.layer = std::move(d);
  return s;
}

std::string ChainKey(const std::string& parent, const nlohmann::json& step) {
  Sha256 h;
  h.Update(parent);
  h.Update("\n", 1);
  h.Update(oci::CanonicalJson(step));
  return "sha256:" + h.FinishHex();
}

std::string ContentChainKey(const std::string& key, const CachedStep& step) {
  if (!step.layer) return key;
  return ChainKey(key, {{"layer", step.diff_id.str()}});
}

Result<LayerCache> LayerCache::Open(const std::string& dir) {
  LayerCache c;
  c.dir_ = JoinPath(dir, "steps");
  OCIB_TRY(MakeDirs(c.dir_, 0700));
  return c;
}

Result<std::optional<CachedStep>> LayerCache::Get(const std::string& key,
                                                  const oci::ContentStore& store) const {
  std::optional<CachedStep> found;
  std::unique_lock lock(*mu_);
  if (auto it = imported_.find(key); it != imported_.end()) {
    found = it->second;
  } else {
    lock.unlock();
    std::string path = JoinPath(dir_, key.substr(key.find(':') + 1) + ".json");
    if (!PathExists(path)) return std::optional<CachedStep>();
    OCIB_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    auto step = CachedStep::FromJson(j, "cache entry " + path);
    if (!step.ok()) return std::optional<CachedStep>();  // a torn or foreign entry is a miss
    found = std::move(*step);
  }
  if (found->layer) {
    OCIB_ASSIGN_OR_RETURN(bool has, store.Has(found->layer->digest));
    if (!has) return std::optional<CachedStep>();
  }
  if (!lock.owns_lock()) lock.lock();
  touched_[key] = *found;
  return found;
}

std::optional<std::string> LayerCache::GetMemo(const std::string& key, bool imported_ok,
                                               bool* imported) const {
  std::string value;
  std::unique_lock lock(*mu_);
  auto it = imported_ok ? imported_.find(key) : imported_.end();
  if (it != imported_.end() && !it->second.memo.empty()) {
    value = it->second.memo;
    if (imported) *imported = true;
  } else {
    lock.unlock();
    auto text = ReadFile(MemoPath(key));
    if (!text.ok() || text->empty()) return std::nullopt;
    value = std::move(*text);
    lock.lock();
  }
  touched_[key].memo = value;
  return value;
}

Status LayerCache::PutMemo(const std::string& key, const std::string& value) {
  {
    std::lock_guard lock(*mu_);
    touched_[key].memo = value;
  }
  return WriteFileAtomic(MemoPath(key), value, 0600);
}

std::string LayerCache::MemoPath(const std::string& key) const {
  return JoinPath(dir_, "memo-" + key.substr(key.find(':') + 1));
}

Status LayerCache::Put(const std::string& key, const CachedStep& step) {
  {
    std::lock_guard lock(*mu_);
    touched_[key] = step;
  }
  std::string path = JoinPath(dir_, key.substr(key.find(':') + 1) + ".json");
  return WriteFileAtomic(path, step.ToJson().dump(), 0600);
}

void LayerCache::Import(const std::map<std::string, CachedStep>& entries) {
  std::lock_guard lock(*mu_);
  for (const auto& [k, v] : entries) imported_[k] = v;
}

}  // namespace ocibuild::builder
