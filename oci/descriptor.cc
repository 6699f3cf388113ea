#include "oci/descriptor.h"

namespace ocibuild::oci {

Json Descriptor::ToJson() const {
  Json j = extra.is_object() ? extra : Json::object();
  j["mediaType"] = media_type;
  j["digest"] = digest.str();
  j["size"] = size;
  if (!urls.empty()) j["urls"] = urls;
  if (!annotations.empty()) j["annotations"] = annotations;
  if (platform) j["platform"] = platform->ToJson();
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  if (!data.empty()) j["data"] = data;
  return j;
}

Result<Descriptor> Descriptor::FromJson(const Json& j, std::string_view what) {
  std::string w(what);
  if (!j.is_object()) return Error{w + ": descriptor must be an object"};
  Descriptor d;
  OCIB_TRY(GetString(j, "mediaType", &d.media_type, w));
  std::string digest;
  OCIB_TRY(GetString(j, "digest", &digest, w));
  if (!j.contains("size")) return Error{w + ": missing \"size\""};
  OCIB_TRY(GetInt64(j, "size", &d.size, w));
  if (d.size < 0) return Error{w + ": negative size " + std::to_string(d.size)};
  if (d.media_type.empty()) return Error{w + ": missing \"mediaType\""};
  if (digest.empty()) return Error{w + ": missing \"digest\""};
  auto parsed = Digest::Parse(digest);
  if (!parsed.ok()) return std::move(parsed).error().Context(w);
  d.digest = *parsed;
  OCIB_TRY(GetStringList(j, "urls", &d.urls, w));
  OCIB_TRY(GetStringMap(j, "annotations", &d.annotations, w));
  if (auto it = j.find("platform"); it != j.end() && !it->is_null()) {
    OCIB_ASSIGN_OR_RETURN(d.platform, Platform::FromJson(*it, w + ": platform"));
  }
  OCIB_TRY(GetString(j, "artifactType", &d.artifact_type, w));
  OCIB_TRY(GetString(j, "data", &d.data, w));
  d.extra = Unmodelled(j, {"mediaType", "digest", "size", "urls", "annotations", "platform",
                           "artifactType", "data"});
  return d;
}

}  // namespace ocibuild::oci

namespace ocibuild::oci {

Descriptor DescribeBytes(std::string_view media_type, std::string_view bytes) {
  Descriptor d;
  d.media_type = std::string(media_type);
  d.digest = Digest::OfBytes(bytes);
  d.size = static_cast<int64_t>(bytes.size());
  return d;
}

}  // namespace ocibuild::oci
