// Media types of the OCI image spec and of Docker's image manifest v2 schema 2, plus the
// mapping between the two families. ocibuild writes OCI types unless Docker types are asked for.
#pragma once

#include <string>
#include <string_view>

namespace ocibuild::oci {

namespace media_type {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
// Deprecated by image-spec 1.1 but still found in Windows base images.
inline constexpr std::string_view kOciLayerNondistributable =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
inline constexpr std::string_view kOciLayerNondistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view kOciLayerNondistributableZstd =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view kOciLayoutHeader = "application/vnd.oci.layout.header.v1+json";

inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kDockerLayerGzip =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr std::string_view kDockerForeignLayerGzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
// Schema 1 is only recognised so that it can be rejected with a clear message.
inline constexpr std::string_view kDockerManifestSchema1 =
    "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerManifestSchema1Signed =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

}  // namespace media_type

// Which family of media types to write.
enum class MediaFormat { kOci, kDocker };

bool IsManifestType(std::string_view mt);  // OCI or Docker image manifest
bool IsIndexType(std::string_view mt);     // OCI index or Docker manifest list
bool IsConfigType(std::string_view mt);
bool IsLayerType(std::string_view mt);  // any layer type, either family, any compression

enum class Compression { kNone, kGzip, kZstd, kUnknown };
// Compression named by a layer media type; kUnknown for non-layer types.
Compression LayerCompression(std::string_view mt);

// The layer media type for `c` in family `f`. Docker's family has no zstd type (Docker itself
// writes the OCI type there), so zstd always maps to the OCI type.
std::string LayerMediaType(MediaFormat f, Compression c);

// Translates any known type to its counterpart in `f` (manifest <-> manifest, layer <-> layer,
// ...); types without a counterpart (artifacts, zstd under Docker) are returned unchanged.
std::string ConvertMediaType(std::string_view mt, MediaFormat f);

}  // namespace ocibuild::oci
