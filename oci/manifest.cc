#include "oci/manifest.h"

namespace ocibuild::oci {

namespace {

constexpr std::string_view kWhat = "image manifest";

}  // namespace

Result<std::string> SniffMediaType(std::string_view bytes) {
  OCIB_ASSIGN_OR_RETURN(Json j, ParseJsonObject(bytes, "manifest"));
  std::string mt;
  OCIB_TRY(GetString(j, "mediaType", &mt, "manifest"));
  if (!mt.empty()) return mt;
  int64_t version = 0;
  OCIB_TRY(GetInt64(j, "schemaVersion", &version, "manifest"));
  if (version == 1) {
    return std::string(j.contains("signatures") ? media_type::kDockerManifestSchema1Signed
                                                : media_type::kDockerManifestSchema1);
  }
  if (j.contains("manifests")) return std::string(media_type::kOciIndex);
  if (j.contains("config")) return std::string(media_type::kOciManifest);
  return Error{"manifest: no \"mediaType\" and neither \"manifests\" nor \"config\""};
}

Result<Manifest> Manifest::Parse(std::string_view bytes) {
  OCIB_ASSIGN_OR_RETURN(Json j, ParseJsonObject(bytes, kWhat));
  Manifest m;
  m.media_type.clear();
  OCIB_TRY(GetString(j, "mediaType", &m.media_type, kWhat));
  int64_t version = 0;
  OCIB_TRY(GetInt64(j, "schemaVersion", &version, kWhat));
  if (version == 1 || m.media_type == media_type::kDockerManifestSchema1 ||
      m.media_type == media_type::kDockerManifestSchema1Signed)
    return Error{"image manifest: Docker schema 1 manifests are not supported"};
  if (IsIndexType(m.media_type))
    return Error{"image manifest: got an index (mediaType \"" + m.media_type + "\")"};
  if (!m.media_type.empty() && !IsManifestType(m.media_type))
    return Error{"image manifest: unsupported mediaType \"" + m.media_type + "\""};
  if (version != 2)
    return Error{"image manifest: schemaVersion must be 2, got " + std::to_string(version)};
  m.schema_version = 2;
  if (m.media_type.empty() && j.contains("manifests") && !j.contains("config"))
    return Error{"image manifest: got an index (it has \"manifests\")"};
  auto config = j.find("config");
  if (config == j.end()) return Error{"image manifest: missing \"config\""};
  OCIB_ASSIGN_OR_RETURN(m.config, Descriptor::FromJson(*config, "image manifest: config"));
  auto layers = j.find("layers");
  if (layers == j.end() || !layers->is_array())
    return Error{"image manifest: \"layers\" must be an array"};
  for (size_t i = 0; i < layers->size(); i++) {
    OCIB_ASSIGN_OR_RETURN(
        Descriptor d,
        Descriptor::FromJson((*layers)[i], "image manifest: layer " + std::to_string(i)));
    m.layers.push_back(std::move(d));
  }
  if (auto s = j.find("subject"); s != j.end() && !s->is_null()) {
    OCIB_ASSIGN_OR_RETURN(m.subject, Descriptor::FromJson(*s, "image manifest: subject"));
  }
  OCIB_TRY(GetString(j, "artifactType", &m.artifact_type, kWhat));
  OCIB_TRY(GetStringMap(j, "annotations", &m.annotations, kWhat));
  m.extra = Unmodelled(j, {"schemaVersion", "mediaType", "artifactType", "config", "layers",
                           "subject", "annotations"});
  return m;
}

Json Manifest::ToJson() const {
  Json j = extra.is_object() ? extra : Json::object();
  j["schemaVersion"] = schema_version;
  if (!media_type.empty()) j["mediaType"] = media_type;
  if (!artifact_type.empty()) j["artifactType"] = artifact_type;
  j["config"] = config.ToJson();
  j["layers"] = Json::array();
  for (const Descriptor& l : layers) j["layers"].push_back(l.ToJson());
  if (subject) j["subject"] = subject->ToJson();
  if (!annotations.empty()) j["annotations"] = annotations;
  return j;
}

std::string Manifest::Serialize() const {
  return CanonicalJson(ToJson());
}

MediaFormat Manifest::format() const {
  return media_type == media_type::kDockerManifest ? MediaFormat::kDocker : MediaFormat::kOci;
}

Result<Manifest> Manifest::Convert(MediaFormat f) const {
  Manifest m = *this;
  m.media_type = ConvertMediaType(media_type.empty() ? media_type::kOciManifest : media_type, f);
  m.config.media_type = ConvertMediaType(config.media_type, f);
  for (Descriptor& l : m.layers) l.media_type = ConvertMediaType(l.media_type, f);
  if (f == MediaFormat::kOci) return m;
  if (subject) return Error{"image manifest: Docker manifests cannot have a subject"};
  if (!artifact_type.empty())
    return Error{"image manifest: Docker manifests cannot have an artifactType"};
  if (!IsConfigType(config.media_type))
    return Error{"image manifest: config type \"" + config.media_type +
                 "\" has no Docker equivalent"};
  for (const Descriptor& l : m.layers) {
    if (LayerCompression(l.media_type) == Compression::kZstd)
      return Error{"image manifest: layer " + l.digest.str() +
                   " is zstd-compressed, which needs OCI media types"};
  }
  return m;
}

}  // namespace ocibuild::oci
