// Content descriptors: the (mediaType, digest, size) triple that points from one OCI document
// to another, with the optional fields of image-spec 1.1.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/digest.h"
#include "oci/json_util.h"
#include "oci/platform.h"
#include "util/result.h"

namespace ocibuild::oci {

using Annotations = std::map<std::string, std::string>;

// Well-known annotation keys.
inline constexpr std::string_view kAnnotationRefName = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kAnnotationCreated = "org.opencontainers.image.created";
inline constexpr std::string_view kAnnotationContainerdImageName = "io.containerd.image.name";

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  Annotations annotations;
  std::optional<Platform> platform;  // only meaningful in an index
  std::string artifact_type;
  std::string data;             // "data": base64 of the embedded content, kept verbatim
  Json extra = Json::object();  // fields not modelled above, written back as read

  Json ToJson() const;
  // `what` names the descriptor in errors ("image manifest: config").
  static Result<Descriptor> FromJson(const Json& j, std::string_view what);

  bool operator==(const Descriptor&) const = default;
};

}  // namespace ocibuild::oci

namespace ocibuild::oci {

// The descriptor of an in-memory document: its digest (SHA-256 of exactly `bytes`) and size.
Descriptor DescribeBytes(std::string_view media_type, std::string_view bytes);

}  // namespace ocibuild::oci
