// JSON plumbing shared by the image model: parsing into Results instead of exceptions, typed
// field readers whose errors name the document and the field, and the one serialiser whose bytes
// ocibuild hashes.
//
// Canonical form: objects with keys sorted bytewise (nlohmann::json keeps them in a std::map),
// no insignificant whitespace, no trailing newline, UTF-8 emitted as is (not \u-escaped),
// invalid UTF-8 replaced by U+FFFD. The digest of a manifest, index or config that ocibuild
// writes is the SHA-256 of exactly these bytes, and they are what goes into the blob store.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace ocibuild::oci {

using Json = nlohmann::json;

// Parses `bytes`, which must hold a JSON object. `what` names the document in errors:
// "parsing image manifest: [json.exception.parse_error.101] ...".
Result<Json> ParseJsonObject(std::string_view bytes, std::string_view what);

// Canonical serialisation (see above).
std::string CanonicalJson(const Json& j);

// Typed readers. An absent key (or, for optional values, a JSON null) leaves *out untouched
// and succeeds; a value of the wrong type fails with
// "<what>: field \"<key>\" must be <type>".
Status GetString(const Json& obj, std::string_view key, std::string* out, std::string_view what);
Status GetInt64(const Json& obj, std::string_view key, int64_t* out, std::string_view what);
Status GetBool(const Json& obj, std::string_view key, bool* out, std::string_view what);
Status GetOptionalBool(const Json& obj, std::string_view key, std::optional<bool>* out,
                       std::string_view what);
Status GetStringList(const Json& obj, std::string_view key, std::vector<std::string>* out,
                     std::string_view what);
Status GetOptionalStringList(const Json& obj, std::string_view key,
                             std::optional<std::vector<std::string>>* out, std::string_view what);
Status GetStringMap(const Json& obj, std::string_view key, std::map<std::string, std::string>* out,
                    std::string_view what);

// Returns obj without `keys`: what is left is kept verbatim so that documents written back do
// not lose fields ocibuild does not model.
Json Unmodelled(const Json& obj, std::initializer_list<std::string_view> keys);

}  // namespace ocibuild::oci
