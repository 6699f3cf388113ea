#include "oci/index.h"

namespace ocibuild::oci {

namespace {

constexpr std::string_view kWhat = "image index";

}  // namespace

Result<Index> Index::Parse(std::string_view bytes) {
  OCIB_ASSIGN_OR_RETURN(Json j, ParseJsonObject(bytes, kWhat));
  Index x;
  x.media_type.clear();
  OCIB_TRY(GetString(j, "mediaType", &x.media_type, kWhat));
  if (IsManifestType(x.media_type))
    return Error{"image index: got an image manifest (mediaType \"" + x.media_type + "\")"};
  if (!x.media_type.empty() && !IsIndexType(x.media_type))
    return Error{"image index: unsupported mediaType \"" + x.media_type + "\""};
  int64_t version = 0;
  OCIB_TRY(GetInt64(j, "schemaVersion", &version, kWhat));
  if (version != 2)
    return Error{"image index: schemaVersion must be 2, got " + std::to_string(version)};
  auto manifests = j.find("manifests");
  if (manifests == j.end() || !manifests->is_array()) {
    if (j.contains("config"))
      return Error{"image index: got an image manifest (it has \"config\")"};
    return Error{"image index: \"manifests\" must be an array"};
  }
  for (size_t i = 0; i < manifests->size(); i++) {
    OCIB_ASSIGN_OR_RETURN(
        Descriptor d,
        Descriptor::FromJson((*manifests)[i], "image index: manifest " + std::to_string(i)));
    x.manifests.push_back(std::move(d));
  }
  if (auto s = j.find("subject"); s != j.end() && !s->is_null()) {
    OCIB_ASSIGN_OR_RETURN(x.subject, Descriptor::FromJson(*s, "image index: subject"));
  }
  OCIB_TRY(GetString(j, "artifactType", &x.artifact_type, kWhat));
  OCIB_TRY(GetStringMap(j, "annotations", &x.annotations, kWhat));
  x.extra = Unmodelled(
      j, {"schemaVersion", "mediaType", "artifactType", "manifests", "subject", "annotations"});
  return x;
}

Json Index::ToJson() const {
  Json j = extra.is_object() ? extra : Json::object();
  j["schemaVersion"] = schema_version;
  if (!media_type.empty()) j["mediaType"] = media_type;
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  j["manifests"] = Json::array();
  for (const Descriptor& d : manifests) j["manifests"].push_back(d.ToJson());
  if (subject) j["subject"] = subject->ToJson();
  if (!annotations.empty()) j["annotations"] = annotations;
  return j;
}

std::string Index::Serialize() const {
  return CanonicalJson(ToJson());
}

MediaFormat Index::format() const {
  return media_type == media_type::kDockerManifestList ? MediaFormat::kDocker : MediaFormat::kOci;
}

Result<Index> Index::Convert(MediaFormat f) const {
  Index x = *this;
  x.media_type = ConvertMediaType(media_type.empty() ? media_type::kOciIndex : media_type, f);
  for (Descriptor& d : x.manifests) d.media_type = ConvertMediaType(d.media_type, f);
  if (f == MediaFormat::kOci) return x;
  if (subject) return Error{"image index: Docker manifest lists cannot have a subject"};
  if (!artifact_type.empty())
    return Error{"image index: Docker manifest lists cannot have an artifactType"};
  for (const Descriptor& d : x.manifests) {
    if (!IsManifestType(d.media_type))
      return Error{"image index: entry " + d.digest.str() + " of type \"" + d.media_type +
                   "\" cannot be listed in a Docker manifest list"};
  }
  return x;
}

Result<Descriptor> Index::ForPlatform(const Platform& want, bool strict) const {
  std::vector<Platform> candidates;
  std::vector<size_t> where;
  for (size_t i = 0; i < manifests.size(); i++) {
    const Descriptor& d = manifests[i];
    if (!d.platform || d.platform->os == "unknown") continue;
    candidates.push_back(*d.platform);
    where.push_back(i);
  }
  auto best = SelectPlatform(candidates, want, strict);
  if (!best) {
    std::string have;
    for (const Platform& p : candidates) have += (have.empty() ? "" : ", ") + p.Normalized().str();
    return Error{"no manifest for platform " + want.Normalized().str() +
                 " (index has: " + (have.empty() ? "no platforms" : have) + ")"};
  }
  return manifests[where[*best]];
}

std::vector<Descriptor> Index::WithRefName(std::string_view ref) const {
  std::vector<Descriptor> out;
  for (const Descriptor& d : manifests) {
    auto it = d.annotations.find(std::string(kAnnotationRefName));
    if (it != d.annotations.end() && it->second == ref) out.push_back(d);
  }
  return out;
}

}  // namespace ocibuild::oci
