// Test helpers for the layer engine: build tars entry by entry, read tars back as plain structs.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "util/result.h"

namespace ocibuild::oci::testing {

struct TarEntry {
  std::string name;
  uint32_t type = 0;  // S_IFREG, S_IFDIR, ...
  uint32_t perm = 0644;
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t mtime = 1700000000;
  std::string data;      // regular files
  std::string symlink;   // symlink target
  std::string hardlink;  // hardlink target
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  std::map<std::string, std::string> xattrs;

  bool operator==(const TarEntry&) const = default;
};
// For gtest failure messages.
void PrintTo(const TarEntry& e, std::ostream* os);

TarEntry File(std::string name, std::string data, uint32_t perm = 0644, uint32_t uid = 0,
              uint32_t gid = 0);
TarEntry Dir(std::string name, uint32_t perm = 0755, uint32_t uid = 0, uint32_t gid = 0);
TarEntry Symlink(std::string name, std::string target);
TarEntry Hardlink(std::string name, std::string target);
TarEntry Device(std::string name, uint32_t type, uint32_t major, uint32_t minor,
                uint32_t perm = 0660);
TarEntry Fifo(std::string name, uint32_t perm = 0644);

enum class TarCompression { kNone, kGzip, kZstd };
// A PAX tar of the entries, in the given order.
std::string MakeTar(const std::vector<TarEntry>& entries,
                    TarCompression comp = TarCompression::kNone);
// Parses a tar (any compression libarchive knows) back into entries, in archive order.
Result<std::vector<TarEntry>> ReadTar(const std::string& bytes);
// Writes bytes to a new temp file inside `dir` and returns an open fd positioned at 0.
int FdOf(const std::string& dir, const std::string& bytes);

}  // namespace ocibuild::oci::testing
