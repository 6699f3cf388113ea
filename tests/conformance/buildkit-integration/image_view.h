// A built image as the checks see it: the config document, and each layer's entries as read
// from its tar (path, type, mode, owner, content, link target), plus the merged filesystem
// with OCI whiteouts applied. Read from an OCI layout directory or a `docker save` archive, so
// ocibuild's image and Docker's can be compared entry for entry.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace ocibuild::bki {

struct FsEntry {
  char type = 'f';    // f regular, d directory, l symlink, h hardlink, c b p (devices, fifo)
  uint32_t mode = 0;  // permission bits (07777)
  uint32_t uid = 0, gid = 0;
  std::string content;  // regular files
  std::string link;     // symlink target, or the hardlink's target path
  int64_t mtime = 0;
};

// Paths are clean and relative: "etc/passwd", "" for the root.
using FsMap = std::map<std::string, FsEntry>;

struct ImageView {
  nlohmann::json manifest;
  nlohmann::json config;
  std::vector<FsMap> layers;  // in order, whiteouts included as entries named ".wh.*"
  FsMap merged;

  // The entry at `path` (absolute or relative) after following hardlinks; null when absent.
  const FsEntry* Find(const std::string& path) const;
};

// `dir` holds an OCI layout with one image (index.json -> manifest, or -> index -> manifest).
Result<ImageView> ReadOciLayout(const std::string& dir);
// A `docker save` archive of one image.
Result<ImageView> ReadDockerArchive(const std::string& tar_path);
// The entries of one layer (tar, compressed or not) held in memory.
Result<FsMap> ReadLayer(const std::string& blob);

std::string CleanImagePath(const std::string& p);

}  // namespace ocibuild::bki
