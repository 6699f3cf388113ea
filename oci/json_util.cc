#include "oci/json_util.h"

namespace ocibuild::oci {

namespace {

Error TypeError(std::string_view what, std::string_view key, std::string_view type) {
  return Error{std::string(what) + ": field \"" + std::string(key) + "\" must be " +
               std::string(type)};
}

const Json* Find(const Json& obj, std::string_view key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

}  // namespace

Result<Json> ParseJsonObject(std::string_view bytes, std::string_view what) {
  Json j;
  try {
    j = Json::parse(bytes.begin(), bytes.end());
  } catch (const Json::parse_error& e) {
    return Error{"parsing " + std::string(what) + ": " + e.what()};
  }
  if (!j.is_object()) return Error{"parsing " + std::string(what) + ": not a JSON object"};
  return j;
}

std::string CanonicalJson(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Status GetString(const Json& obj, std::string_view key, std::string* out, std::string_view what) {
  const Json* v = Find(obj, key);
  if (!v || v->is_null()) return Ok();
  if (!v->is_string()) return TypeError(what, key, "a string");
  *out = v->get<std::string>();
  return Ok();
}

Status GetInt64(const Json& obj, std::string_view key, int64_t* out, std::string_view what) {
  const Json* v = Find(obj, key);
  if (!v || v->is_null()) return Ok();
  if (v->is_number_unsigned()) {
    if (v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX))
      return TypeError(what, key, "a 64-bit integer");
    *out = static_cast<int64_t>(v->get<uint64_t>());
    return Ok();
  }
  if (!v->is_number_integer()) return TypeError(what, key, "an integer");
  *out = v->get<int64_t>();
  return Ok();
}

Status GetBool(const Json& obj, std::string_view key, bool* out, std::string_view what) {
  const Json* v = Find(obj, key);
  if (!v || v->is_null()) return Ok();
  if (!v->is_boolean()) return TypeError(what, key, "a boolean");
  *out = v->get<bool>();
  return Ok();
}

Status GetOptionalBool(const Json& obj, std::string_view key, std::optional<bool>* out,
                       std::string_view what) {
  const Json* v = Find(obj, key);
  if (!v || v->is_null()) return Ok();
  if (!v->is_boolean()) return TypeError(what, key, "a boolean");
  *out = v->get<bool>();
  return Ok();
}

Status GetStringList(const Json& obj, std::string_view key, std::vector<std::string>* out,
                     std::string_view what) {
  std::optional<std::vector<std::string>> list;
  OCIB_TRY(GetOptionalStringList(obj, key, &list, what));
  if (list) *out = std::move(*list);
  return Ok();
}

Status GetOptionalStringList(const Json& obj, std::string_view key,
                             std::optional<std::vector<std::string>>* out, std::string_view what) {
  const Json* v = Find(obj, key);
  if (!v || v->is_null()) return Ok();
  if (!v->is_array()) return TypeError(what, key, "an array of strings");
  std::vector<std::string> list;
  for (const Json& e : *v) {
    if (!e.is_string()) return TypeError(what, key, "an array of strings");
    list.push_back(e.get<std::string>());
  }
  *out = std::move(list);
  return Ok();
}

Status GetStringMap(const Json& obj, std::string_view key, std::map<std::string, std::string>* out,
                    std::string_view what) {
  const Json* v = Find(obj, key);
  if (!v || v->is_null()) return Ok();
  if (!v->is_object()) return TypeError(what, key, "an object of strings");
  std::map<std::string, std::string> m;
  for (auto it = v->begin(); it != v->end(); ++it) {
    if (!it.value().is_string()) return TypeError(what, key, "an object of strings");
    m[it.key()] = it.value().get<std::string>();
  }
  *out = std::move(m);
  return Ok();
}

Json Unmodelled(const Json& obj, std::initializer_list<std::string_view> keys) {
  Json rest = Json::object();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool modelled = false;
    for (std::string_view k : keys) modelled = modelled || it.key() == k;
    if (!modelled) rest[it.key()] = it.value();
  }
  return rest;
}

}  // namespace ocibuild::oci
