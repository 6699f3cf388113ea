// Guest path -> host path, the way the kernel would resolve it if the rootfs were "/": symlinks
// are followed inside the rootfs (absolute targets are relative to it), ".." stops at the root,
// and a few host locations (/proc, /sys, /dev/null, /etc/resolv.conf, ...) are mapped in like
// bind mounts. Pure string + lstat work; no ptrace here, so it is unit-testable.
#pragma once

#include <sys/stat.h>

#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "util/result.h"

namespace ocibuild::sandbox {

struct PathMapping {
  std::string guest;  // absolute, normalised ("/proc", "/etc/resolv.conf")
  std::string host;   // absolute host path
};

// /proc, /sys, /dev/{null,zero,full,random,urandom,tty,ptmx,pts,fd} from the host (those that
// exist there); /etc/resolv.conf, /etc/hosts and /dev/shm as private copies made in
// `private_dir` (the host's own when it is empty).
std::vector<PathMapping> DefaultMappings(const std::string& private_dir = "");

// Asked before each name is looked up in a guest directory (including "." and ".."), as the
// kernel checks search permission on every directory of a path. Returns 0 or -errno.
class SearchPolicy {
 public:
  virtual int MaySearch(const struct stat& host_dir) const = 0;

 protected:
  ~SearchPolicy() = default;
};

// Resolved guest paths known to be real directories (not symlinks), so that walking through them
// again needs no lstat: compilers resolve the same include directories hundreds of times. Only
// a directory renamed or removed can make an entry wrong; the tracer sees every rename and rmdir
// and clears the cache after each one that succeeds and may have moved a directory.
class DirCache {
 public:
  bool Has(const std::string& guest) const { return dirs_.count(guest) != 0; }
  void Add(const std::string& guest) {
    if (dirs_.size() >= kMaxEntries) dirs_.clear();
    dirs_.insert(guest);
  }
  void Clear() { dirs_.clear(); }

 private:
  static constexpr size_t kMaxEntries = 8192;
  std::unordered_set<std::string> dirs_;
};

class PathResolver {
 public:
  // `rootfs` must be an absolute, symlink-free path (see Create).
  PathResolver(std::string rootfs, std::vector<PathMapping> mappings);
  static Result<PathResolver> Create(const std::string& rootfs, std::vector<PathMapping> mappings);

  // Resolves `path` (absolute, or relative to the guest directory `base`). With follow_final a
  // trailing symlink is followed too. Writes the host path to *host and the resolved guest path
  // to *guest (if non-null). Errors carry ELOOP/ENAMETOOLONG (or what `search` returns); a
  // missing component is not an error: the rest is appended unresolved and the kernel reports
  // ENOENT/ENOTDIR itself. Directories below a mapping are the host kernel's to check.
  // `dirs` (optional) is consulted and filled; it is not used while a search policy applies.
  Status Resolve(std::string_view path, std::string_view base, bool follow_final, std::string* host,
                 std::string* guest = nullptr, const SearchPolicy* search = nullptr,
                 DirCache* dirs = nullptr) const;

  // Host path -> guest path; false when the host path is outside the rootfs and every mapping.
  bool ToGuest(std::string_view host, std::string* guest) const;

  const std::string& rootfs() const { return rootfs_; }

 private:
  const PathMapping* MappingFor(std::string_view guest) const;

  std::string rootfs_;
  std::vector<PathMapping> mappings_;
};

}  // namespace ocibuild::sandbox
