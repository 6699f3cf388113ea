// OCI image layout directories: "oci-layout" ({"imageLayoutVersion":"1.0.0"}), "index.json"
// naming images with org.opencontainers.image.ref.name annotations, and blobs/sha256/.
//
// index.json is replaced atomically (temp file + rename) under an flock(2) on the layout
// directory, so concurrent Tag calls from several processes do not lose each other's entries.
#pragma once

#include <string>
#include <string_view>

#include "oci/content_store.h"
#include "oci/descriptor.h"
#include "oci/image.h"
#include "oci/index.h"
#include "oci/platform.h"
#include "util/result.h"

namespace ocibuild::oci {

inline constexpr std::string_view kImageLayoutVersion = "1.0.0";

class ImageLayout {
 public:
  // Opens the layout at `dir`, creating the directory, oci-layout and an empty index.json
  // when absent.
  static Result<ImageLayout> Create(const std::string& dir);
  // Opens an existing layout; fails if oci-layout is missing or names another version.
  static Result<ImageLayout> Open(const std::string& dir);

  const std::string& path() const { return store_.root(); }
  DirContentStore& blobs() { return store_; }
  const DirContentStore& blobs() const { return store_; }

  Result<Index> ReadIndex() const;
  // Replaces index.json. Prefer Tag, which reads, edits and writes under the lock.
  Status WriteIndex(const Index& index);

  // Makes `ref` name `manifest` (its blob must be stored), replacing any entry with that ref
  // name and keeping all others.
  Status Tag(const std::string& ref, const Descriptor& manifest);
  // Removes the entries named `ref`; an error if there are none.
  Status Untag(const std::string& ref);
  // The index entry named `ref`; with an empty ref, the only entry (an error if there are
  // several or none).
  Result<Descriptor> Resolve(const std::string& ref) const;
  // Resolve + LoadImage.
  Result<Image> LoadImage(const std::string& ref, const Platform& want) const;

 private:
  explicit ImageLayout(DirContentStore store) : store_(std::move(store)) {}
  std::string IndexPath() const;
  DirContentStore store_;
};

// Packs a layout directory into a tar file (the form `skopeo copy oci-archive:` reads).
Status WriteLayoutTar(const ImageLayout& layout, const std::string& tar_path);

// Reads an image layout tar (an oci-archive, or a `docker save` archive from Docker 25 and later,
// which carries index.json), optionally compressed, into `store` and returns its index.json.
// Each blobs/<algorithm>/<hex> entry is verified against its name while it streams into the
// store; other entries are ignored (names are never used as paths, so hostile names are inert).
Result<Index> ImportLayoutTar(const std::string& tar_path, ContentStore& store);

}  // namespace ocibuild::oci
