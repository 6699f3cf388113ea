// Image indexes: OCI image index v1 and Docker manifest list v2 (same shape, different media
// types), including the index.json of an OCI image layout.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/descriptor.h"
#include "oci/json_util.h"
#include "oci/media_types.h"
#include "oci/platform.h"
#include "util/result.h"

namespace ocibuild::oci {

struct Index {
  int schema_version = 2;
  // Empty only for OCI indexes read without one (image-layout index.json files often omit it).
  std::string media_type = std::string(media_type::kOciIndex);
  std::string artifact_type;
  std::vector<Descriptor> manifests;
  std::optional<Descriptor> subject;
  Annotations annotations;
  Json extra = Json::object();

  // Accepts an OCI index or a Docker manifest list; rejects manifests by name.
  static Result<Index> Parse(std::string_view bytes);
  std::string Serialize() const;  // canonical JSON; the digest is over these bytes
  Json ToJson() const;

  MediaFormat format() const;
  // The index and its manifest descriptors in the media types of `f`. Docker manifest lists
  // cannot nest lists or carry subject/artifactType.
  Result<Index> Convert(MediaFormat f) const;

  // The manifest to run on `want` (see SelectPlatform in platform.h). Entries without a
  // platform, and attestation entries ("unknown/unknown"), are never chosen.
  Result<Descriptor> ForPlatform(const Platform& want, bool strict = false) const;
  // Entries whose org.opencontainers.image.ref.name annotation is `ref`.
  std::vector<Descriptor> WithRefName(std::string_view ref) const;

  bool operator==(const Index&) const = default;
};

}  // namespace ocibuild::oci
