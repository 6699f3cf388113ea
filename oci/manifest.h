// Image manifests: OCI image manifest v1 and Docker image manifest v2 schema 2 (which share a
// shape and differ in media types). Both are read; OCI is written unless Docker is asked for.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/descriptor.h"
#include "oci/json_util.h"
#include "oci/media_types.h"
#include "util/result.h"

namespace ocibuild::oci {

struct Manifest {
  int schema_version = 2;
  // Empty only for OCI manifests that were read without one; written as read.
  std::string media_type = std::string(media_type::kOciManifest);
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  Annotations annotations;
  Json extra = Json::object();  // unmodelled top-level fields, written back as read

  // Accepts an OCI image manifest or a Docker schema 2 manifest; rejects indexes, manifest lists
  // and schema 1 with an error saying which one it got.
  static Result<Manifest> Parse(std::string_view bytes);
  // Canonical JSON (see json_util.h); the manifest's digest is the SHA-256 of these bytes.
  std::string Serialize() const;
  Json ToJson() const;

  MediaFormat format() const;
  // The same manifest with the media types of `f` (its own, its config's and its layers').
  // Fails for what Docker manifests cannot express: subject, artifactType, zstd layers.
  Result<Manifest> Convert(MediaFormat f) const;

  bool operator==(const Manifest&) const = default;
};

// The media type of a manifest-like document: its "mediaType" field, or for OCI documents
// without one, the type their shape implies (an index has "manifests", a manifest "config").
// Docker schema 1 documents yield the schema 1 type so that callers can reject them by name.
Result<std::string> SniffMediaType(std::string_view bytes);

}  // namespace ocibuild::oci
