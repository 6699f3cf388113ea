// The metadata store: what the image says about files that the host filesystem cannot (or must
// not) hold for an unprivileged builder — owners, modes such as 0000 or setuid on foreign ids,
// device nodes (a placeholder regular file on disk), privileged xattrs (security.*, trusted.*).
//
// Shared by the layer applier (writes entries while unpacking), the RUN sandbox (chown, chmod,
// mknod, setxattr record here; stat reports from here) and the layer writer / differ (read here).
//
// Entries are keyed by inode number: a rootfs lives on one filesystem, so renames and hardlinks
// follow the inode. Whoever unlinks the last link of an inode erases its entry, so a reused inode
// number never inherits stale ownership. A file with no entry is root:root with its host mode.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "util/result.h"

namespace ocibuild::oci {

struct FileMeta {
  uint32_t uid = 0;
  uint32_t gid = 0;
  // Full st_mode as the image sees it: file type bits plus 07777. For a faked device, fifo or
  // socket the type is S_IFCHR/S_IFBLK/S_IFIFO/S_IFSOCK while the host holds a regular file.
  uint32_t mode = 0;
  uint64_t rdev = 0;
  // Extended attributes the host cannot hold for us (security.*, trusted.*), and any others the
  // image carried that could not be set on the host. user.* xattrs normally live on disk.
  std::map<std::string, std::string> xattrs;

  bool operator==(const FileMeta&) const = default;
};

class MetaStore {
 public:
  MetaStore() = default;

  // A missing file is an empty store; a corrupt one is an error naming the path.
  static Result<MetaStore> Load(const std::string& path);
  // Atomic (temp + rename).
  Status Save(const std::string& path) const;

  const FileMeta* Find(ino_t ino) const;
  void Set(ino_t ino, FileMeta meta);
  void Erase(ino_t ino);
  void Clear() { entries_.clear(); }
  size_t size() const { return entries_.size(); }
  const std::unordered_map<ino_t, FileMeta>& entries() const { return entries_; }

  // The file as the image sees it, given the host's lstat of it: the entry when there is one,
  // otherwise root:root with the host's mode and rdev.
  FileMeta Effective(const struct stat& host) const;
  // Applies Effective() onto a struct stat (uid, gid, mode, rdev), e.g. for a faked stat().
  void Virtualize(struct stat* st) const;

  // The conventional location of the store for a rootfs directory: "<rootfs>.meta".
  static std::string PathFor(const std::string& rootfs_dir) { return rootfs_dir + ".meta"; }

 private:
  std::unordered_map<ino_t, FileMeta> entries_;
};

}  // namespace ocibuild::oci
