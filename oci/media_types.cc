#include "oci/media_types.h"

namespace ocibuild::oci {

namespace mt = media_type;

bool IsManifestType(std::string_view t) {
  return t == mt::kOciManifest || t == mt::kDockerManifest;
}

bool IsIndexType(std::string_view t) {
  return t == mt::kOciIndex || t == mt::kDockerManifestList;
}

bool IsConfigType(std::string_view t) {
  return t == mt::kOciConfig || t == mt::kDockerConfig;
}

bool IsLayerType(std::string_view t) {
  return LayerCompression(t) != Compression::kUnknown;
}

Compression LayerCompression(std::string_view t) {
  if (t == mt::kOciLayer || t == mt::kDockerLayer || t == mt::kOciLayerNondistributable)
    return Compression::kNone;
  if (t == mt::kOciLayerGzip || t == mt::kDockerLayerGzip || t == mt::kDockerForeignLayerGzip ||
      t == mt::kOciLayerNondistributableGzip)
    return Compression::kGzip;
  if (t == mt::kOciLayerZstd || t == mt::kOciLayerNondistributableZstd) return Compression::kZstd;
  return Compression::kUnknown;
}

std::string LayerMediaType(MediaFormat f, Compression c) {
  switch (c) {
    case Compression::kNone:
      return std::string(f == MediaFormat::kDocker ? mt::kDockerLayer : mt::kOciLayer);
    case Compression::kGzip:
      return std::string(f == MediaFormat::kDocker ? mt::kDockerLayerGzip : mt::kOciLayerGzip);
    case Compression::kZstd:
    case Compression::kUnknown:
      break;
  }
  return std::string(mt::kOciLayerZstd);
}

std::string ConvertMediaType(std::string_view t, MediaFormat f) {
  const bool docker = f == MediaFormat::kDocker;
  if (IsManifestType(t)) return std::string(docker ? mt::kDockerManifest : mt::kOciManifest);
  if (IsIndexType(t)) return std::string(docker ? mt::kDockerManifestList : mt::kOciIndex);
  if (IsConfigType(t)) return std::string(docker ? mt::kDockerConfig : mt::kOciConfig);
  if (t == mt::kDockerForeignLayerGzip || t == mt::kOciLayerNondistributableGzip)
    return std::string(docker ? mt::kDockerForeignLayerGzip : mt::kOciLayerNondistributableGzip);
  if (t == mt::kOciLayerNondistributable) return std::string(t);
  Compression c = LayerCompression(t);
  if (c == Compression::kNone || c == Compression::kGzip) return LayerMediaType(f, c);
  return std::string(t);
}

}  // namespace ocibuild::oci
