// The archive `docker load` reads (and `docker save` writes): manifest.json listing each image's
// config and layer files plus its RepoTags, with the blobs stored under blobs/sha256/ and an
// oci-layout + index.json beside them, so the same tar is also an OCI image layout archive.
#pragma once

#include <string>
#include <vector>

#include "oci/content_store.h"
#include "oci/descriptor.h"
#include "util/result.h"

namespace ocibuild::oci {

struct DockerArchiveImage {
  Descriptor manifest;                 // an image manifest (not an index) in the store
  std::vector<std::string> repo_tags;  // "name:tag", e.g. "example.com/app:1.0" or "app:latest"
};

// Writes the archive to `tar_path` (atomically). Every image's manifest must list as many layers
// as its config has diff_ids; the layer blobs may be compressed (docker load decompresses them).
Status WriteDockerArchive(const ContentStore& store, const std::vector<DockerArchiveImage>& images,
                          const std::string& tar_path);

// "busybox:1" -> "docker.io/library/busybox:1", "ghcr.io/a/b:t" unchanged; the name containerd
// records for a tag (the io.containerd.image.name annotation).
std::string FullyQualifiedTag(const std::string& repo_tag);

}  // namespace ocibuild::oci
