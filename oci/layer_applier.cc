#include "oci/layer_applier.h"

#include "util/fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <vector>

#include "oci/layer_stream.h"
#include "util/strings.h"

namespace ocibuild::oci {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";

// Entry names in errors are quoted; a hostile 100 kB name is cut so the message stays readable.
std::string Quote(std::string_view name) {
  constexpr size_t kMax = 200;
  if (name.size() <= kMax) return "\"" + std::string(name) + "\"";
  return "\"" + std::string(name.substr(0, kMax)) + "...\" (" + std::to_string(name.size()) +
         " bytes)";
}

Error EntryError(std::string_view name, const Error& e) {
  return Error{"layer entry " + Quote(name) + ": " + e.message, e.sys_errno};
}

std::string ArchiveError(struct archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown libarchive error";
}

std::string JoinRel(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  std::string s(dir);
  s += '/';
  s += name;
  return s;
}

struct DirTime {
  std::string path;
  struct timespec times[2];
};

class Applier {
 public:
  Applier(const RootDir& root, MetaStore& store, const ApplyOptions& opts)
      : root_(root), store_(store), scope_(opts.scope), list_paths_(opts.list_paths) {}

  Result<ApplyStats> Run(int fd);

 private:
  enum class Scoped { kApply, kSkip, kGiveUp };
  // What a scoped apply does with an entry (see ApplyOptions::scope).
  Scoped Filter(struct archive_entry* e, const std::string& raw);
  // Skipped entries' directories that the layer does not list: the scope is not exact.
  bool TouchedUnlisted() const;
  Status ApplyEntry(struct archive* a, struct archive_entry* e, const std::string& name);
  Status ApplyWhiteout(const std::string& dir, const std::string& target);
  Status ApplyOpaque(const std::string& dir);
  // Removes what lower layers left at dir/name, sparing entries this layer wrote.
  Status RemoveLower(int dirfd, const std::string& dir, const std::string& name);
  Status RemoveTree(int dirfd, const std::string& name, const std::string& what);
  // Clears dirfd/name (whatever it is) so a new non-directory can take its place.
  Status Clear(int dirfd, const std::string& name, const std::string& what);
  Result<int> Parent(const std::string& clean, std::string* name);
  void Created(const std::string& clean);
  Status WriteData(struct archive* a, int fd, const std::string& what, int64_t size);
  void RecordMeta(const struct stat& host, FileMeta want);
  Status FinishDirs();

  const RootDir& root_;
  MetaStore& store_;
  const PathScope* scope_;
  bool list_paths_;
  // Scoped: directories on the way that skipped entries would change, and the directories the
  // layer lists.
  std::unordered_set<std::string> touched_;
  std::unordered_set<std::string> listed_dirs_;
  ApplyStats stats_;
  // Paths written by this layer, and their ancestors: whiteouts must spare both.
  std::unordered_set<std::string> created_;
  std::unordered_set<std::string> created_below_;
  std::vector<DirTime> dir_times_;
  // The parent directory of the previous entry; tar entries come grouped by directory.
  std::string cached_dir_;
  UniqueFd cached_fd_;
  bool cache_stale_ = false;
};

void Applier::Created(const std::string& clean) {
  created_.insert(clean);
  std::string_view p = clean;
  for (;;) {
    size_t slash = p.rfind('/');
    if (slash == std::string_view::npos) break;
    p = p.substr(0, slash);
    if (!created_below_.emplace(p).second) break;
  }
  created_below_.emplace("");
}

Result<int> Applier::Parent(const std::string& clean, std::string* name) {
  auto [dir, base] = SplitParent(clean);
  *name = std::string(base);
  if (cached_fd_.valid() && !cache_stale_ && dir == cached_dir_) return cached_fd_.get();
  OCIB_ASSIGN_OR_RETURN(cached_fd_, root_.MkdirAll(dir, 0755));
  cache_stale_ = false;
  cached_dir_ = std::string(dir);
  return cached_fd_.get();
}

void Applier::RecordMeta(const struct stat& host, FileMeta want) {
  bool plain = want.uid == 0 && want.gid == 0 && want.mode == host.st_mode &&
               want.rdev == static_cast<uint64_t>(S_ISCHR(host.st_mode) || S_ISBLK(host.st_mode)
                                                      ? host.st_rdev
                                                      : 0) &&
               want.xattrs.empty();
  if (plain) {
    store_.Erase(host.st_ino);
  } else {
    store_.Set(host.st_ino, std::move(want));
  }
}

Status Applier::RemoveTree(int dirfd, const std::string& name, const std::string& what) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Ok();
    return SysError("fstatat", what);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dirfd, name.c_str(), 0) != 0) return SysError("unlinkat", what);
    if (st.st_nlink <= 1) store_.Erase(st.st_ino);
    return Ok();
  }
  if ((st.st_mode & 0700) != 0700) ::fchmodat(dirfd, name.c_str(), (st.st_mode & 07777) | 0700, 0);
  {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return SysError("openat", what);
    OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(fd.get(), what));
    for (const auto& n : names) OCIB_TRY(RemoveTree(fd.get(), n, what + "/" + n));
  }
  if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0) return SysError("unlinkat", what);
  store_.Erase(st.st_ino);
  return Ok();
}

Status Applier::Clear(int dirfd, const std::string& name, const std::string& what) {
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Ok();
    return SysError("fstatat", what);
  }
  // A directory or symlink may be a component of the cached parent path.
  // The fd stays open: the caller may be using it as the parent of this very entry.
  if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode)) {
    cache_stale_ = true;
    ++stats_.replaced;
  }
  return RemoveTree(dirfd, name, what);
}

Status Applier::RemoveLower(int dirfd, const std::string& dir, const std::string& name) {
  std::string path = JoinRel(dir, name);
  bool created = created_.count(path) > 0;
  bool below = created_below_.count(path) > 0;
  if (!created && !below) return Clear(dirfd, name, path);
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Ok();
    return SysError("fstatat", path);
  }
  if (!S_ISDIR(st.st_mode)) return Ok();
  UniqueFd fd(::openat(dirfd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return SysError("openat", path);
  OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(fd.get(), path));
  for (const auto& n : names) OCIB_TRY(RemoveLower(fd.get(), path, n));
  return Ok();
}

Status Applier::ApplyWhiteout(const std::string& dir, const std::string& target) {
  ++stats_.whiteouts;
  auto parent = root_.OpenAt(dir, O_PATH | O_DIRECTORY);
  if (!parent.ok()) {
    // Nothing below to hide.
    if (parent.error().sys_errno == ENOENT || parent.error().sys_errno == ENOTDIR) return Ok();
    return parent.error();
  }
  return RemoveLower(parent->get(), dir, target);
}

Status Applier::ApplyOpaque(const std::string& dir) {
  ++stats_.whiteouts;
  OCIB_ASSIGN_OR_RETURN(UniqueFd dfd, root_.MkdirAll(dir, 0755));
  OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names,
                        ReadDirNames(dfd.get(), dir.empty() ? "/" : dir));
  for (const auto& n : names) OCIB_TRY(RemoveLower(dfd.get(), dir, n));
  return Ok();
}

Status Applier::WriteData(struct archive* a, int fd, const std::string& what, int64_t size) {
  const void* buf;
  size_t len;
  la_int64_t off;
  int64_t end = 0;
  for (;;) {
    int rc = archive_read_data_block(a, &buf, &len, &off);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return Error{"reading data: " + ArchiveError(a)};
    const char* p = static_cast<const char*>(buf);
    while (len > 0) {
      ssize_t n = ::pwrite(fd, p, len, off);
      if (n < 0) {
        if (errno == EINTR) continue;
        return SysError("write", what);
      }
      p += n;
      len -= static_cast<size_t>(n);
      off += n;
      stats_.bytes += static_cast<uint64_t>(n);
    }
    end = off;
  }
  // Sparse files end in a hole that no data block covers.
  if (end < size && ::ftruncate(fd, size) != 0) return SysError("ftruncate", what);
  return Ok();
}

void SplitXattrs(struct archive_entry* e, std::vector<std::pair<std::string, std::string>>* user,
                 std::map<std::string, std::string>* other) {
  archive_entry_xattr_reset(e);
  const char* xname;
  const void* xval;
  size_t xsize;
  while (archive_entry_xattr_next(e, &xname, &xval, &xsize) == ARCHIVE_OK) {
    std::string v(static_cast<const char*>(xval), xsize);
    if (StartsWith(xname, "user.")) {
      user->emplace_back(xname, std::move(v));
    } else {
      (*other)[xname] = std::move(v);
    }
  }
}

// Sets user.* xattrs on an open fd; those the filesystem refuses move to `other`.
void SetUserXattrs(int fd, std::vector<std::pair<std::string, std::string>>& user,
                   std::map<std::string, std::string>* other) {
  for (auto& [k, v] : user) {
    if (fd < 0 || ::fsetxattr(fd, k.c_str(), v.data(), v.size(), 0) != 0)
      (*other)[k] = std::move(v);
  }
}

Status Applier::ApplyEntry(struct archive* a, struct archive_entry* e, const std::string& raw) {
  // The kernel refuses such paths anyway; the userspace walk would not, so refuse them here for
  // the same answer everywhere.
  if (raw.size() >= PATH_MAX) return Error{"path longer than PATH_MAX (4096 bytes)"};
  auto clean_r = CleanPath(raw);
  if (!clean_r.ok()) return clean_r.error();
  std::string clean = std::move(*clean_r);
  std::string_view base = SplitParent(clean).second;
  mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);

  if (StartsWith(base, kWhiteoutPrefix)) {
    std::string dir(SplitParent(clean).first);
    if (base == kOpaqueMarker) return ApplyOpaque(dir);
    // Other ".wh..wh." names are aufs bookkeeping (e.g. .wh..wh.plnk); they carry no content.
    if (StartsWith(base, ".wh..wh.")) return Ok();
    std::string target(base.substr(kWhiteoutPrefix.size()));
    if (target.empty() || target == "." || target == "..")
      return Error{"invalid whiteout (names \"" + target + "\")"};
    return ApplyWhiteout(dir, target);
  }

  FileMeta want;
  want.uid = static_cast<uint32_t>(archive_entry_uid(e));
  want.gid = static_cast<uint32_t>(archive_entry_gid(e));
  want.mode = archive_entry_mode(e);
  std::vector<std::pair<std::string, std::string>> user_xattrs;
  SplitXattrs(e, &user_xattrs, &want.xattrs);
  struct timespec times[2];
  times[1].tv_sec = archive_entry_mtime(e);
  times[1].tv_nsec = archive_entry_mtime_nsec(e);
  if (archive_entry_atime_is_set(e)) {
    times[0].tv_sec = archive_entry_atime(e);
    times[0].tv_nsec = archive_entry_atime_nsec(e);
  } else {
    times[0] = times[1];
  }

  if (clean.empty()) {
    // "./": the root directory's own metadata.
    if (hardlink || type != AE_IFDIR) return Error{"the root must be a directory"};
    int fd = ::openat(root_.fd(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return SysError("openat", root_.path());
    UniqueFd dfd(fd);
    if (::fchmod(fd, (want.mode & 07777) | 0700) != 0) return SysError("fchmod", root_.path());
    SetUserXattrs(fd, user_xattrs, &want.xattrs);
    struct stat st;
    if (::fstat(fd, &st) != 0) return SysError("fstat", root_.path());
    RecordMeta(st, std::move(want));
    dir_times_.push_back(DirTime{clean, {times[0], times[1]}});
    return Ok();
  }

  std::string name;
  OCIB_ASSIGN_OR_RETURN(int dirfd, Parent(clean, &name));
  const char* n = name.c_str();

  if (hardlink) {
    if (std::strlen(hardlink) >= PATH_MAX)
      return Error{"hardlink target longer than PATH_MAX (4096 bytes)"};
    auto target_r = CleanPath(hardlink);
    if (!target_r.ok())
      return Error{"hardlink target " + Quote(hardlink) + ": " + target_r.error().message};
    if (target_r->empty()) return Error{"hardlink target " + Quote(hardlink) + " is the root"};
    auto tparent_r = root_.OpenParent(*target_r);
    if (!tparent_r.ok()) {
      if (tparent_r.error().sys_errno == 0) return tparent_r.error();
      return SysError("hardlink target", *target_r, tparent_r.error().sys_errno);
    }
    RootDir::Parent tparent = std::move(*tparent_r);
    struct stat tst, cur;
    if (::fstatat(tparent.dir.get(), tparent.name.c_str(), &tst, AT_SYMLINK_NOFOLLOW) != 0)
      return SysError("hardlink target", *target_r);
    if (S_ISDIR(tst.st_mode))
      return Error{"hardlink target " + Quote(hardlink) + " is a directory"};
    if (::fstatat(dirfd, n, &cur, AT_SYMLINK_NOFOLLOW) == 0 && cur.st_ino == tst.st_ino &&
        cur.st_dev == tst.st_dev) {
      Created(clean);
      return Ok();
    }
    OCIB_TRY(Clear(dirfd, name, clean));
    if (::linkat(tparent.dir.get(), tparent.name.c_str(), dirfd, n, 0) != 0)
      return SysError("linkat", *target_r + " -> " + clean);
    Created(clean);
    return Ok();
  }

  switch (type) {
    case AE_IFDIR: {
      mode_t host_mode = (want.mode & 07777) | 0700;
      if (::mkdirat(dirfd, n, 0700) != 0) {
        if (errno != EEXIST) return SysError("mkdirat", clean);
        struct stat st;
        if (::fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) return SysError("fstatat", clean);
        if (!S_ISDIR(st.st_mode)) {
          OCIB_TRY(Clear(dirfd, name, clean));
          if (::mkdirat(dirfd, n, 0700) != 0) return SysError("mkdirat", clean);
        }
      }
      int fd = ::openat(dirfd, n, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return SysError("openat", clean);
      UniqueFd dfd(fd);
      if (::fchmod(fd, host_mode) != 0) return SysError("fchmod", clean);
      SetUserXattrs(fd, user_xattrs, &want.xattrs);
      struct stat st;
      if (::fstat(fd, &st) != 0) return SysError("fstat", clean);
      RecordMeta(st, std::move(want));
      dir_times_.push_back(DirTime{clean, {times[0], times[1]}});
      break;
    }
    case AE_IFREG:
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFSOCK: {
      bool placeholder = type != AE_IFREG;
      mode_t host_mode = placeholder ? 0600 : ((want.mode & 07777) | 0600);
      // Created with the permission bits right away (umask permitting), so the common file needs
      // no fchmod. Set-id bits come after the data: a write by a non-root owner clears them.
      int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
      int fd = ::openat(dirfd, n, flags, host_mode & 0777);
      if (fd < 0 && errno == EEXIST) {
        OCIB_TRY(Clear(dirfd, name, clean));
        fd = ::openat(dirfd, n, flags, host_mode & 0777);
      }
      if (fd < 0) return SysError("openat", clean);
      UniqueFd ffd(fd);
      if (!placeholder) OCIB_TRY(WriteData(a, fd, clean, archive_entry_size(e)));
      SetUserXattrs(fd, user_xattrs, &want.xattrs);
      if (placeholder) want.rdev = archive_entry_rdev(e);
      struct stat st;
      if (::fstat(fd, &st) != 0) return SysError("fstat", clean);
      if ((st.st_mode & 07777) != host_mode) {
        if (::fchmod(fd, host_mode) != 0) return SysError("fchmod", clean);
        // The kernel silently drops setgid for a group we are not in: ask what it kept.
        if (::fstat(fd, &st) != 0) return SysError("fstat", clean);
      }
      if (::futimens(fd, times) != 0) return SysError("futimens", clean);
      RecordMeta(st, std::move(want));
      break;
    }
    case AE_IFIFO: {
      OCIB_TRY(Clear(dirfd, name, clean));
      if (::mkfifoat(dirfd, n, 0600) != 0) return SysError("mkfifoat", clean);
      mode_t host_mode = (want.mode & 07777) | 0600;
      if (host_mode != 0600 && ::fchmodat(dirfd, n, host_mode, 0) != 0)
        return SysError("fchmodat", clean);
      // A FIFO cannot be opened to set xattrs without blocking; they all go to the store.
      SetUserXattrs(-1, user_xattrs, &want.xattrs);
      struct stat st;
      if (::fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) return SysError("fstatat", clean);
      if (::utimensat(dirfd, n, times, AT_SYMLINK_NOFOLLOW) != 0)
        return SysError("utimensat", clean);
      RecordMeta(st, std::move(want));
      break;
    }
    case AE_IFLNK: {
      const char* target = archive_entry_symlink(e);
      if (!target) return Error{"symlink without a target"};
      if (::symlinkat(target, dirfd, n) != 0) {
        if (errno != EEXIST) return SysError("symlinkat", clean);
        OCIB_TRY(Clear(dirfd, name, clean));
        if (::symlinkat(target, dirfd, n) != 0) return SysError("symlinkat", clean);
      }
      // Linux symlinks cannot carry user.* xattrs.
      SetUserXattrs(-1, user_xattrs, &want.xattrs);
      struct stat st;
      if (::fstatat(dirfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) return SysError("fstatat", clean);
      if (::utimensat(dirfd, n, times, AT_SYMLINK_NOFOLLOW) != 0)
        return SysError("utimensat", clean);
      RecordMeta(st, std::move(want));
      break;
    }
    default:
      return Error{"unsupported entry type " + std::to_string(type)};
  }
  Created(clean);
  return Ok();
}

Applier::Scoped Applier::Filter(struct archive_entry* e, const std::string& raw) {
  auto clean_r = CleanPath(raw);
  if (!clean_r.ok()) return Scoped::kApply;  // ApplyEntry reports it
  const std::string& clean = *clean_r;
  auto [dir_v, base] = SplitParent(clean);
  std::string dir(dir_v);
  auto skip = [&](std::string_view p) {
    touched_.insert(scope_->AttachPoint(p));
    return Scoped::kSkip;
  };
  if (StartsWith(base, kWhiteoutPrefix)) {
    if (base == kOpaqueMarker) {
      if (!scope_->Relevant(dir)) return skip(dir);
      // Emptying a directory on the way removes children outside the scope too.
      if (scope_->IsAncestor(dir)) touched_.insert(dir);
      return Scoped::kApply;
    }
    if (StartsWith(base, ".wh..wh.")) return Scoped::kApply;  // bookkeeping: a no-op
    std::string target = JoinRel(dir, base.substr(kWhiteoutPrefix.size()));
    return scope_->Relevant(target) ? Scoped::kApply : skip(target);
  }
  if (clean.empty()) return Scoped::kApply;
  if (const char* hardlink = archive_entry_hardlink(e)) {
    auto target = CleanPath(hardlink);
    if (!target.ok()) return Scoped::kApply;
    if (!scope_->Relevant(clean)) {
      if (scope_->Relevant(*target)) stats_.cross_links.push_back(*target);
      return skip(clean);
    }
    return scope_->Contains(*target) ? Scoped::kApply : Scoped::kGiveUp;
  }
  if (archive_entry_filetype(e) == AE_IFDIR) listed_dirs_.insert(clean);
  return scope_->Relevant(clean) ? Scoped::kApply : skip(clean);
}

bool Applier::TouchedUnlisted() const {
  for (const auto& t : touched_)
    if (!t.empty() && !listed_dirs_.count(t)) return true;
  return false;
}

Status Applier::FinishDirs() {
  // Children first: writing into a directory would move its mtime again.
  for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
    auto fd = root_.OpenAt(it->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!fd.ok()) {
      // Removed or replaced later in the same layer.
      if (fd.error().sys_errno == ENOENT || fd.error().sys_errno == ENOTDIR ||
          fd.error().sys_errno == ELOOP)
        continue;
      return EntryError(it->path, fd.error());
    }
    if (::futimens(fd->get(), it->times) != 0)
      return EntryError(it->path, SysError("futimens", it->path));
  }
  return Ok();
}

struct ReadCtx {
  DecompressingReader* reader;
};

la_ssize_t ReadCallback(struct archive*, void* ctx, const void** buf) {
  return static_cast<ReadCtx*>(ctx)->reader->Next(buf);
}

Result<ApplyStats> Applier::Run(int fd) {
  auto reader = DecompressingReader::Start(fd, "layer");
  ReadCtx ctx{reader.get()};
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(),
                                                              archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open(a.get(), &ctx, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    if (!reader->error().message.empty()) return reader->error();
    return Error{"layer: " + ArchiveError(a.get())};
  }
  for (;;) {
    struct archive_entry* e;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
      if (!reader->error().message.empty()) return reader->error();
      return Error{"layer: " + ArchiveError(a.get())};
    }
    const char* p = archive_entry_pathname(e);
    std::string name = p ? p : "";
    ++stats_.entries;
    if (scope_) {
      Scoped f = Filter(e, name);
      if (f == Scoped::kGiveUp) {
        stats_.out_of_scope = true;
        return stats_;
      }
      if (f == Scoped::kSkip) continue;
    }
    Status st = ApplyEntry(a.get(), e, name);
    if (!st.ok()) {
      if (!reader->error().message.empty()) return reader->error();
      return EntryError(name, st.error());
    }
    if (list_paths_) stats_.paths.push_back(std::move(name));
  }
  OCIB_TRY(FinishDirs());
  if (scope_ && TouchedUnlisted()) stats_.out_of_scope = true;
  return stats_;
}

}  // namespace

Result<ApplyStats> ApplyLayer(const RootDir& root, MetaStore& store, int fd,
                              const ApplyOptions& opts) {
  Applier applier(root, store, opts);
  return applier.Run(fd);
}

Result<ApplyStats> ApplyLayerFile(const std::string& rootfs, MetaStore& store,
                                  const std::string& blob_path) {
  int fd = ::open(blob_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SysError("open", blob_path);
  UniqueFd blob(fd);
  if (::mkdir(rootfs.c_str(), 0755) != 0 && errno != EEXIST) return SysError("mkdir", rootfs);
  OCIB_ASSIGN_OR_RETURN(RootDir root, RootDir::Open(rootfs));
  auto r = ApplyLayer(root, store, blob.get());
  if (!r.ok()) return std::move(r).error().Context(blob_path);
  return r;
}

}  // namespace ocibuild::oci
