// The guest's file namespace: the rootfs as "/", plus mounts (bind directories and files, host
// character devices, a read-only /sys, a virtual /proc, a filtered /dev/pts) — and the walk
// that resolves a guest path in it.
//
// Containment rests on how the walk holds directories: every directory it stands in is an
// O_PATH descriptor obtained from a mount's root by openat() of one plain component with
// O_NOFOLLOW (never "..", never a "/", never a symlink), so it is always a descendant of that
// mount's root. ".." is answered from the guest path (the parent's descriptor, cached or walked
// again from the root), symlinks are read with readlinkat() and followed in the guest namespace,
// and the final operation is made relative to the parent's descriptor on one component. No host
// path string that a guest could redirect is ever handed to the kernel, so a concurrent
// rename/symlink swap can change which guest file an operation reaches, never reach the host.
// A directory cannot leave its mount either: cross-mount renames and links fail with EXDEV as
// across real mounts.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "oci/metastore.h"
#include "util/fd.h"
#include "util/result.h"

namespace ocibuild::sandbox {

// A host location visible in the guest (RunSpec::mappings).
struct PathMapping {
  enum class Kind : uint8_t {
    kBind,    // a host directory or file (cache mounts, private /etc/hosts, /dev/shm, secrets)
    kDevice,  // a host character device (/dev/null, ...): opened, never changed
    kSys,     // the host's /sys, read-only
    kProc,    // the guest /proc (see proc_view.h); `host` is the host's /proc
    kPts,     // the host's /dev/pts, showing only ptys the step opened itself
  };
  std::string guest;  // absolute, normalised ("/proc", "/etc/resolv.conf")
  std::string host;   // absolute host path
  Kind kind = Kind::kBind;
  bool read_only = false;
  // kBind: the metadata store of the mount's files (keyed by inode, like the rootfs's), loaded
  // before the step and saved after it. Empty: a store that starts empty and is thrown away.
  std::string metastore_path;
  // kBind: shown in the guest's mount table as a tmpfs (RUN --mount=type=tmpfs) of this many
  // bytes (0: no size= option); -1: not a tmpfs.
  int64_t tmpfs_size = -1;
};

// The mounts every step has: /proc, /sys, a /dev made for the step (in `private_dir`: device
// files from the host, pts, shm, fd/stdin/stdout/stderr links, as a container runtime makes it),
// private copies of /etc/hosts and /etc/resolv.conf. With an empty `private_dir` only the
// kernel filesystems and devices (unit tests).
std::vector<PathMapping> DefaultMappings(const std::string& private_dir = "");

// Asked before each name is looked up in a guest directory, as the kernel checks search
// permission on every directory of a path. `meta` is the directory as the image describes it.
class SearchPolicy {
 public:
  virtual int MaySearch(const oci::FileMeta& dir) const = 0;

 protected:
  ~SearchPolicy() = default;
};

struct Mount {
  std::string guest;
  std::string host;
  PathMapping::Kind kind = PathMapping::Kind::kBind;
  bool read_only = false;
  bool is_dir = true;
  std::shared_ptr<UniqueFd> root;  // O_PATH descriptor of the host root (directory or file)
  dev_t dev = 0;
  ino_t ino = 0;
  // Ownership of the files below it as the image sees them; null: the host's owner shows as
  // root (devices, /sys, /proc).
  oci::MetaStore* store = nullptr;
  int64_t tmpfs_size = -1;  // PathMapping::tmpfs_size
  // The root's stat as of GuestFs::generation() `st_gen` (under GuestFs's lock): every walk
  // starts at a root, and a mode or owner change of a directory bumps the generation.
  mutable struct stat st {};
  mutable uint64_t st_gen = ~uint64_t{0};

  bool rootfs() const { return guest == "/"; }
};

// A directory of the guest held open: shared so that a cache eviction never closes a descriptor
// that a concurrent operation still uses.
struct DirRef {
  std::shared_ptr<UniqueFd> fd;
  const Mount* mount = nullptr;
  struct stat st {};
  int get() const { return fd->get(); }
};

// What /proc (or anything below it) resolves to: filled by the ProcResolver.
struct ProcTarget {
  enum class Kind : uint8_t {
    kNone,
    kRoot,      // /proc itself
    kHost,      // a host procfs file or directory: `host` relative to the host /proc
    kFdLink,    // /proc/<pid>/fd/<n> (the open file of a guest process)
    kContent,   // a file whose bytes the sandbox makes up (mounts, masked files, hostname)
    kEmptyDir,  // a masked directory
    kLink,      // a symlink itself (lstat, readlink): `host` names it, `link` is its guest text
  };
  Kind kind = Kind::kNone;
  std::string host;  // kHost: "1234/status", "cpuinfo"
  pid_t pid = 0;     // kFdLink, and the guest process a kHost path belongs to (0: none)
  int fd = -1;       // kFdLink
  std::string content;
  std::string link;       // kLink: the text readlink returns
  bool is_dir = false;    // kHost: a directory (the walk may go on below it)
  bool writable = false;  // opening for writing is allowed (comm, oom_score_adj)
};

// Where a walk ends.
struct Resolved {
  DirRef dir;         // the directory holding `name`; for a mount root: the mount's root itself
  std::string name;   // final component; "" when the path names a mount root (or "/")
  std::string guest;  // the guest path of the object
  const Mount* mount = nullptr;  // the mount the object is in
  bool trailing_slash = false;   // the path ended in "/" (the object must be a directory)
  ProcTarget proc;               // mount is the /proc mount
  std::string floor;             // RESOLVE_IN_ROOT/BENEATH: the walk's root ("" otherwise)
  bool is_mount_root() const { return name.empty(); }
  bool in_proc() const { return proc.kind != ProcTarget::Kind::kNone; }
};

struct WalkOptions {
  bool follow_final = true;
  // openat2's RESOLVE_* for the guest's own openat2 calls.
  bool no_symlinks = false;
  bool no_magiclinks = false;
  bool no_xdev = false;
  bool beneath = false;  // RESOLVE_BENEATH: ".." above or an absolute path -> EXDEV
  bool in_root = false;  // RESOLVE_IN_ROOT: the start directory acts as "/"
  const SearchPolicy* search = nullptr;
};

// Resolves names below /proc for a calling task (implemented by proc_view.cc).
class ProcResolver {
 public:
  static constexpr int kSymlink = 1;    // *link holds the text of a plain symlink (self, mounts)
  static constexpr int kMagicLink = 2;  // *link holds the guest path a magic link leads to
  // `rel` is the path below /proc ("" for /proc itself, "self/fd/3", ...), every component but
  // the last already resolved. `want_object`: the caller wants the object a magic link stands
  // for (open/stat of /proc/self/fd/N), not the path it leads to. Returns 0 with *out filled,
  // kSymlink/kMagicLink with *link, or -errno.
  virtual int Lookup(pid_t caller_tid, std::string_view rel, bool want_object, bool final,
                     ProcTarget* out, std::string* link) const = 0;

 protected:
  ~ProcResolver() = default;
};

class GuestFs {
 public:
  // `rootfs`: host directory of the unpacked image; `store`: its metadata store.
  static Result<std::unique_ptr<GuestFs>> Create(const std::string& rootfs,
                                                 const std::vector<PathMapping>& mappings,
                                                 oci::MetaStore* store);

  void set_proc(const ProcResolver* proc) { proc_ = proc; }
  const Mount& rootfs() const { return *mounts_.front(); }
  const std::vector<std::unique_ptr<Mount>>& mounts() const { return mounts_; }
  // Writes back the stores of mounts that name a metastore_path.
  Status SaveMountStores() const;
  const Mount* MountAt(std::string_view guest) const;

  // Resolves `path` (absolute, or relative to the guest directory `base`) for `caller_tid`.
  // Every component but the last is followed (symlinks in the guest namespace, mounts entered);
  // the last one is followed when it is a mount or (follow_final) a symlink the walk already
  // knows about. The caller applies its operation to (dir, name) without following, and calls
  // FollowFinal when that shows the name to be a symlink. 0 or -errno.
  int Walk(pid_t caller_tid, std::string_view base, std::string_view path, const WalkOptions& o,
           Resolved* out, int* links = nullptr);
  // `r` names a symlink: reads it and walks on from its directory. 0 or -errno (ELOOP after 40).
  int FollowFinal(pid_t caller_tid, Resolved* r, const WalkOptions& o, int* links);

  // mkdir -p in the guest namespace (0755, owned by root as the image sees it). 0 or -errno.
  int MakeDirs(std::string_view guest);

  // The held directory for a guest directory path (cached). 0 or -errno.
  int Dir(std::string_view guest, DirRef* out, const SearchPolicy* search = nullptr);

  // Host path (from a descriptor's /proc link) -> guest path; false when it is outside every
  // mount (an object the guest cannot name, e.g. a pipe). Strips " (deleted)".
  bool ToGuest(std::string_view host, std::string* guest, const Mount** mount = nullptr) const;
  // The mount holding a host object, by its host path (see ToGuest).
  const Mount* MountOfHost(std::string_view host) const;

  // Forget every cached directory: after any rename or removal of a directory, or a change of
  // a directory's mode or owner (search permission). Bumps generation().
  void Invalidate();
  uint64_t generation() const { return gen_.load(std::memory_order_acquire); }

  // The metadata of a file as the image sees it (owner, mode), given its host stat.
  oci::FileMeta MetaOf(const Mount& m, const struct stat& st) const;
  // Runs `fn(store)` for the mount's store under the one lock that guards every store (workers
  // answer notifications concurrently). No-op for mounts without a store.
  template <typename Fn>
  void WithStore(const Mount& m, Fn&& fn) {
    if (!m.store) return;
    std::lock_guard<std::mutex> lock(meta_mu_);
    fn(*m.store);
  }
  // Whether any store records a device node (getdents then needs d_type fixes).
  bool HasDevices() const;

  // Proc directories made up for the guest (a listing of /proc) are registered here so that a
  // descriptor on one resolves back to the guest path.
  void AddAlias(const std::string& host_dir, const std::string& guest);

 private:
  explicit GuestFs(oci::MetaStore* store) : store_(store) {}
  int WalkFrom(pid_t caller_tid, const std::string& floor, const std::string& start,
               std::string_view path, const WalkOptions& o, Resolved* out, int& links);
  // The mount a guest path lies in (longest mount prefix).
  const Mount* MountFor(std::string_view guest) const;
  DirRef RootRef(const Mount& m) const;
  // Opens directory `name` in `dir` (no symlink followed): 0, or kIsLink with *link, or -errno.
  static constexpr int kIsLink = 1;
  int OpenChild(const DirRef& dir, std::string_view name, DirRef* out, std::string* link) const;
  void CachePut(const std::string& guest, const DirRef& ref);
  bool CacheGet(const std::string& guest, DirRef* out) const;

  std::vector<std::unique_ptr<Mount>> mounts_;  // [0] is the rootfs
  std::unordered_map<std::string, const Mount*> by_guest_;
  oci::MetaStore* store_;
  const ProcResolver* proc_ = nullptr;
  std::vector<std::unique_ptr<oci::MetaStore>> own_stores_;            // bind mounts'
  std::vector<std::pair<std::string, oci::MetaStore*>> saved_stores_;  // metastore_path, store
  mutable std::mutex meta_mu_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, DirRef> cache_;
  size_t max_cached_dirs_ = 4096;
  std::vector<std::pair<std::string, std::string>> aliases_;  // host dir -> guest path
  std::atomic<uint64_t> gen_{0};
};

}  // namespace ocibuild::sandbox
