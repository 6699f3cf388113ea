// Metadata syscalls: stat answered from the host plus the store, owners and privileged xattrs
// recorded in the store, modes and times applied through a descriptor we hold.
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "builder/sandbox/supervisor.h"
#include "util/sys/openat2.h"
#include "util/sys/process_mem.h"

namespace ocibuild::sandbox {
namespace {

bool IsVirtualXattr(const std::string& name) {
  return name.compare(0, 9, "security.") == 0 || name.compare(0, 8, "trusted.") == 0;
}

uint32_t HostPerm(uint32_t perm, bool dir) {
  return (perm & 0777) | (dir ? 0700 : 0600);
}

std::string SelfFd(int fd) {
  return "/proc/self/fd/" + std::to_string(fd);
}

// The 64-bit record layout; the old getdents record keeps d_type in its last byte instead.
struct Dirent64Head {
  uint64_t d_ino;
  int64_t d_off;
  uint16_t d_reclen;
  uint8_t d_type;
};

void FakeStat(struct stat* st, mode_t mode) {
  std::memset(st, 0, sizeof *st);
  st->st_mode = mode;
  st->st_nlink = S_ISDIR(mode) ? 2 : 1;
  st->st_blksize = 1024;
}

}  // namespace

void Supervisor::Stat(Call& c, int dirfd_arg, int path_arg, int flags_arg, bool follow, int buf_arg,
                      bool statx_call) {
  uint64_t flags = flags_arg >= 0 ? c.arg(flags_arg) : 0;
  if (flags_arg >= 0) follow = !(flags & AT_SYMLINK_NOFOLLOW);
  unsigned statx_mask = statx_call ? static_cast<unsigned>(c.arg(3)) : 0;
  int sync = static_cast<int>(flags & AT_STATX_SYNC_TYPE);
  struct stat st;
  struct statx sx;
  const Mount* m = nullptr;
  // Every object is stat'ed through a descriptor or a (descriptor, name) pair of ours, never a
  // path a guest could redirect.
  auto do_stat = [&](int dirfd, const char* name, int at_flags) -> int {
    if (statx_call) return ::statx(dirfd, name, at_flags | sync, statx_mask, &sx) == 0 ? 0 : -errno;
    return ::fstatat(dirfd, name, &st, at_flags) == 0 ? 0 : -errno;
  };
  Resolved r;
  bool empty = false;
  int links = 0;
  WalkOptions o;
  if (path_arg >= 0 && (c.arg(path_arg) != 0 || !(flags & AT_EMPTY_PATH))) {
    if (int rc = ResolveArg(c, dirfd_arg, path_arg, follow, &r, &empty, &o); rc != 0)
      return c.Fail(rc);
    if (empty && !(flags & AT_EMPTY_PATH)) return c.Fail(-ENOENT);
  } else {
    empty = true;
  }
  o.follow_final = follow;
  o.search = c.Search();
  int rc;
  if (empty) {
    int fd = dirfd_arg >= 0 ? c.iarg(dirfd_arg) : -1;
    if (fd == AT_FDCWD) {
      std::string cwd = Cwd(*c.task);
      WalkOptions wo;
      if (int wrc = fs_.Walk(c.tid(), "/", cwd, wo, &r); wrc != 0) return c.Fail(wrc);
      empty = false;
    } else {
      if (fd < 0) return c.Fail(-EBADF);
      rc = do_stat(AT_FDCWD, FdPath(c, fd).c_str(), 0);
      if (rc != 0) return c.Fail(rc == -ENOENT ? -EBADF : rc);
      if (statx_call) {
        st.st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
        st.st_ino = sx.stx_ino;
      }
      m = MountOfStat(st);
    }
  }
  if (!empty) {
    for (;;) {
      if (r.in_proc()) {
        const ProcTarget& p = r.proc;
        int pfd = proc_view_.host_proc();
        switch (p.kind) {
          case ProcTarget::Kind::kRoot:
            rc = do_stat(pfd, "", AT_EMPTY_PATH);
            break;
          case ProcTarget::Kind::kHost:
            rc = do_stat(pfd, p.host.c_str(), AT_SYMLINK_NOFOLLOW);
            break;
          case ProcTarget::Kind::kFdLink:
            rc = do_stat(pfd, p.host.c_str(), 0);
            if (rc == 0) {
              // The open file itself: its owner is what its mount's store says.
              if (statx_call) {
                st.st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
                st.st_ino = sx.stx_ino;
              }
              m = MountOfStat(st);
            }
            break;
          case ProcTarget::Kind::kLink:
            rc = do_stat(pfd, p.host.c_str(), AT_SYMLINK_NOFOLLOW);
            break;
          case ProcTarget::Kind::kContent:
          case ProcTarget::Kind::kEmptyDir: {
            // Made-up files look like procfs files: root-owned, read-only, size 0.
            rc = do_stat(pfd, "", AT_EMPTY_PATH);
            mode_t mode =
                p.kind == ProcTarget::Kind::kContent ? (S_IFREG | 0444) : (S_IFDIR | 0555);
            if (statx_call) {
              sx.stx_mode = static_cast<uint16_t>(mode);
              sx.stx_size = 0;
              sx.stx_nlink = S_ISDIR(mode) ? 2 : 1;
            } else {
              dev_t dev = st.st_dev;
              FakeStat(&st, mode);
              st.st_dev = dev;
            }
            break;
          }
          default:
            rc = -ENOENT;
        }
        if (rc != 0) return c.Fail(rc);
        break;
      }
      if (r.is_mount_root()) {
        rc = do_stat(r.dir.get(), "", AT_EMPTY_PATH);
      } else {
        rc = do_stat(r.dir.get(), r.name.c_str(), AT_SYMLINK_NOFOLLOW);
      }
      if (rc != 0) return c.Fail(rc);
      mode_t mode = statx_call ? sx.stx_mode : st.st_mode;
      if (!r.is_mount_root() && S_ISLNK(mode) && (follow || r.trailing_slash)) {
        if (int frc = fs_.FollowFinal(c.tid(), &r, o, &links); frc != 0) return c.Fail(frc);
        continue;
      }
      if (r.trailing_slash && !S_ISDIR(mode)) return c.Fail(-ENOTDIR);
      m = r.mount;
      break;
    }
  }
  uint64_t buf = c.arg(buf_arg);
  if (statx_call) {
    VirtualizeStatx(c, m, &sx);
    if (int wrc = WriteMem(c, buf, &sx, sizeof sx); wrc != 0) return c.Fail(wrc);
    return c.Return(0);
  }
  Virtualize(c, m, &st);
  if (int wrc = WriteMem(c, buf, &st, sizeof st); wrc != 0) return c.Fail(wrc);
  c.Return(0);
}

void Supervisor::Fstat(Call& c) {
  struct stat st;
  if (::stat(FdPath(c, c.iarg(0)).c_str(), &st) != 0) return c.Fail(-EBADF);
  Virtualize(c, MountOfStat(st), &st);
  if (int rc = WriteMem(c, c.arg(1), &st, sizeof st); rc != 0) return c.Fail(rc);
  c.Return(0);
}

int Supervisor::Target(Call& c, int dirfd_arg, int path_arg, int fd_arg, bool follow, UniqueFd* fd,
                       struct stat* st, const Mount** m, Resolved* r_out) {
  Resolved r;
  bool empty = path_arg < 0;
  if (path_arg >= 0) {
    int links = 0;
    WalkOptions o;
    if (int rc = ResolveArg(c, dirfd_arg, path_arg, follow, &r, &empty, &o); rc != 0) return rc;
    if (empty) {
      // fchownat(fd, "", ..., AT_EMPTY_PATH) and friends: the descriptor itself.
      if (dirfd_arg < 0) return -ENOENT;
      fd_arg = dirfd_arg;
    } else {
      o.follow_final = follow;
      o.search = c.Search();
      if (follow)
        if (int rc = FollowIfLink(c, &r, o, &links); rc != 0) return rc;
      if (r.in_proc()) return -EPERM;
      fd->reset(OpenObject(r, follow));
      if (!*fd) return -errno;
      if (::fstat(fd->get(), st) != 0) return -errno;
      if (r.trailing_slash && !S_ISDIR(st->st_mode)) return -ENOTDIR;
      *m = r.mount;
      if (r_out) *r_out = std::move(r);
      return 0;
    }
  }
  // A guest descriptor: where it lies decides what may be done to it.
  std::string guest;
  int rc = FdGuestPath(c, c.iarg(fd_arg), &guest, m);
  if (rc == -EBADF) return rc;
  fd->reset(::open(FdPath(c, c.iarg(fd_arg)).c_str(), O_PATH | O_CLOEXEC));
  if (!*fd) return -EBADF;
  if (::fstat(fd->get(), st) != 0) return -errno;
  if (rc != 0) {
    *m = nullptr;  // a pipe, a socket, a deleted file: nothing of the image
    return 0;
  }
  if (r_out && (*m)->kind != PathMapping::Kind::kProc) {
    WalkOptions o;
    o.follow_final = false;
    Resolved again;
    if (fs_.Walk(c.tid(), "/", guest, o, &again) == 0 && !again.in_proc())
      *r_out = std::move(again);
  }
  return 0;
}

void Supervisor::Chown(Call& c, int dirfd_arg, int path_arg, int fd_arg, uint32_t uid, uint32_t gid,
                       bool follow) {
  UniqueFd fd;
  struct stat st;
  const Mount* m = nullptr;
  if (int rc = Target(c, dirfd_arg, path_arg, fd_arg, follow, &fd, &st, &m); rc != 0)
    return c.Fail(rc);
  if (!m || !m->store) return c.Fail(-EPERM);
  if (int rc = m->read_only ? -EROFS : 0; rc != 0) return c.Fail(rc);
  FakeCreds creds;
  {
    std::lock_guard<std::mutex> lock(c.task->creds_mu);
    creds = c.task->creds;
  }
  oci::FileMeta meta = fs_.MetaOf(*m, st);
  if (!creds.privileged()) {
    bool own = meta.uid == creds.fsuid;
    bool uid_ok = uid == FakeCreds::kKeep || uid == meta.uid;
    bool gid_ok = gid == FakeCreds::kKeep || gid == meta.gid || gid == creds.fsgid ||
                  std::find(creds.groups.begin(), creds.groups.end(), gid) != creds.groups.end();
    if (!own || !uid_ok || !gid_ok) return c.Fail(-EPERM);
  }
  if (uid != FakeCreds::kKeep) meta.uid = uid;
  if (gid != FakeCreds::kKeep) meta.gid = gid;
  // As the kernel does: chown drops set-user-ID, and set-group-ID when group-executable.
  if (!S_ISDIR(meta.mode) && (uid != FakeCreds::kKeep || gid != FakeCreds::kKeep)) {
    meta.mode &= ~static_cast<uint32_t>(S_ISUID);
    if (meta.mode & S_IXGRP) meta.mode &= ~static_cast<uint32_t>(S_ISGID);
  }
  fs_.WithStore(*m, [&](oci::MetaStore& store) { store.Set(st.st_ino, std::move(meta)); });
  if (S_ISDIR(st.st_mode)) fs_.Invalidate();  // search permission may have changed
  c.Return(0);
}

void Supervisor::Chmod(Call& c, int dirfd_arg, int path_arg, int fd_arg, uint32_t mode,
                       bool follow) {
  UniqueFd fd;
  struct stat st;
  const Mount* m = nullptr;
  Resolved r;
  if (int rc = Target(c, dirfd_arg, path_arg, fd_arg, follow, &fd, &st, &m, &r); rc != 0)
    return c.Fail(rc);
  if (S_ISLNK(st.st_mode)) return c.Fail(-EOPNOTSUPP);
  if (!m || !m->store) return c.Fail(m && m->kind == PathMapping::Kind::kSys ? -EROFS : -EPERM);
  if (m->read_only) return c.Fail(-EROFS);
  FakeCreds creds;
  {
    std::lock_guard<std::mutex> lock(c.task->creds_mu);
    creds = c.task->creds;
  }
  oci::FileMeta meta = fs_.MetaOf(*m, st);
  if (!creds.privileged() && meta.uid != creds.fsuid) return c.Fail(-EPERM);
  // As the kernel's setattr_copy(): set-group-ID survives only for a member of the file's group
  // or with CAP_FSETID.
  if ((mode & S_ISGID) && !creds.HasCap(4 /*CAP_FSETID*/) && !Who::Fs(creds).InGroup(meta.gid))
    mode &= ~static_cast<uint32_t>(S_ISGID);
  meta.mode = (meta.mode & S_IFMT) | (mode & 07777);
  bool faked_type = (meta.mode & S_IFMT) != (st.st_mode & S_IFMT);
  uint32_t host_perm = faked_type ? HostPerm(mode, false) : HostPerm(mode, S_ISDIR(st.st_mode));
  if ((st.st_mode & 07777) != host_perm) {
    // The change reaches the disk: a shared inode is copied up first (by the name it has now),
    // and never changed in place.
    if (Shared(st)) {
      if (r.dir.fd == nullptr || r.is_mount_root()) return c.Fail(-EACCES);
      if (int rc = CopyUp(r, true); rc != 0) return c.Fail(rc);
      fd.reset(OpenObject(r, false));
      if (!fd || ::fstat(fd.get(), &st) != 0) return c.Fail(-errno);
      if (Shared(st)) return c.Fail(-EACCES);
    }
    if (::fchmodat(AT_FDCWD, SelfFd(fd.get()).c_str(), host_perm, 0) != 0) return c.Fail(-errno);
  }
  st.st_mode = (st.st_mode & S_IFMT) | host_perm;
  fs_.WithStore(*m, [&](oci::MetaStore& store) {
    if (meta.uid == 0 && meta.gid == 0 && meta.xattrs.empty() && meta.mode == st.st_mode &&
        meta.rdev == st.st_rdev)
      store.Erase(st.st_ino);
    else
      store.Set(st.st_ino, meta);
  });
  if (S_ISDIR(st.st_mode)) fs_.Invalidate();
  c.Return(0);
}

void Supervisor::Xattr(Call& c, XattrOp op, bool by_fd, bool follow) {
  // Layout: (path|fd, name, value, size, flags) / (path|fd, list, size).
  std::string name;
  if (op != XattrOp::kList) {
    int rc = sys::ReadProcessString(c.tid(), c.arg(1), &name, 255);
    if (rc == -ENAMETOOLONG) return c.Fail(-ERANGE);
    if (rc != 0) return c.Fail(rc);
  }
  UniqueFd fd;
  struct stat st;
  const Mount* m = nullptr;
  Resolved r;
  int trc = by_fd ? Target(c, -1, -1, 0, true, &fd, &st, &m, &r)
                  : Target(c, -1, 0, -1, follow, &fd, &st, &m, &r);
  if (trc != 0) return c.Fail(trc);
  std::string path = SelfFd(fd.get());
  bool virt = op != XattrOp::kList && IsVirtualXattr(name);
  if (!virt) {
    // user.* and the like live on disk; reached through our descriptor (the magic link leads to
    // the object itself, a symlink included).
    if (op == XattrOp::kSet || op == XattrOp::kRemove) {
      if (!m) return c.Fail(-EPERM);
      if (m->read_only || m->kind == PathMapping::Kind::kSys) return c.Fail(-EROFS);
      if (m->kind == PathMapping::Kind::kProc || m->kind == PathMapping::Kind::kDevice)
        return c.Fail(-EPERM);
      if (Shared(st)) {
        if (r.dir.fd == nullptr || r.is_mount_root()) return c.Fail(-EACCES);
        if (int rc = CopyUp(r, true); rc != 0) return c.Fail(rc);
        fd.reset(OpenObject(r, false));
        if (!fd) return c.Fail(-errno);
        path = SelfFd(fd.get());
      }
    }
    if (op == XattrOp::kSet) {
      size_t size = c.arg(3);
      if (size > 65536) return c.Fail(-E2BIG);
      std::string value(size, '\0');
      if (int rc = ReadMem(c, c.arg(2), value.data(), size); rc != 0) return c.Fail(rc);
      if (::setxattr(path.c_str(), name.c_str(), value.data(), size, c.iarg(4)) != 0)
        return c.Fail(-errno);
      return c.Return(0);
    }
    if (op == XattrOp::kRemove) {
      if (::removexattr(path.c_str(), name.c_str()) != 0) return c.Fail(-errno);
      return c.Return(0);
    }
    if (op == XattrOp::kGet) {
      size_t size = std::min<size_t>(c.arg(3), 65536);
      std::string value(size, '\0');
      ssize_t n = ::getxattr(path.c_str(), name.c_str(), size ? value.data() : nullptr, size);
      if (n < 0) return c.Fail(-errno);
      if (size && WriteMem(c, c.arg(2), value.data(), static_cast<size_t>(n)) != 0)
        return c.Fail(-EFAULT);
      return c.Return(n);
    }
  }
  const oci::FileMeta* found = nullptr;
  oci::FileMeta meta;
  bool have = false;
  if (m && m->store) {
    fs_.WithStore(*m, [&](oci::MetaStore& store) {
      found = store.Find(st.st_ino);
      if (found) {
        meta = *found;
        have = true;
      }
    });
  }
  if (op == XattrOp::kList) {
    // The host's names first, then those the store holds.
    std::string list(65536, '\0');
    ssize_t n = ::listxattr(path.c_str(), list.data(), list.size());
    if (n < 0 && errno != ENOTSUP && errno != ENODATA) return c.Fail(-errno);
    list.resize(n < 0 ? 0 : static_cast<size_t>(n));
    if (have)
      for (const auto& [k, v] : meta.xattrs) {
        list += k;
        list += '\0';
      }
    size_t size = c.arg(2);
    if (size == 0) return c.Return(static_cast<int64_t>(list.size()));
    if (list.size() > size) return c.Fail(-ERANGE);
    if (WriteMem(c, c.arg(1), list.data(), list.size()) != 0) return c.Fail(-EFAULT);
    return c.Return(static_cast<int64_t>(list.size()));
  }
  if (op == XattrOp::kGet) {
    if (!have) return c.Fail(-ENODATA);
    auto it = meta.xattrs.find(name);
    if (it == meta.xattrs.end()) return c.Fail(-ENODATA);
    size_t size = c.arg(3);
    if (size == 0) return c.Return(static_cast<int64_t>(it->second.size()));
    if (size < it->second.size()) return c.Fail(-ERANGE);
    if (WriteMem(c, c.arg(2), it->second.data(), it->second.size()) != 0) return c.Fail(-EFAULT);
    return c.Return(static_cast<int64_t>(it->second.size()));
  }
  {
    std::lock_guard<std::mutex> lock(c.task->creds_mu);
    if (!c.task->creds.privileged()) return c.Fail(-EPERM);
  }
  if (!m || !m->store) return c.Fail(-EPERM);
  if (m->read_only) return c.Fail(-EROFS);
  oci::FileMeta eff = fs_.MetaOf(*m, st);
  if (op == XattrOp::kRemove) {
    if (!eff.xattrs.erase(name)) return c.Fail(-ENODATA);
  } else {
    size_t size = c.arg(3);
    if (size > 65536) return c.Fail(-E2BIG);
    std::string value(size, '\0');
    if (int rc = ReadMem(c, c.arg(2), value.data(), size); rc != 0) return c.Fail(rc);
    int flags = c.iarg(4);
    bool exists = eff.xattrs.count(name) != 0;
    if ((flags & XATTR_CREATE) && exists) return c.Fail(-EEXIST);
    if ((flags & XATTR_REPLACE) && !exists) return c.Fail(-ENODATA);
    eff.xattrs[name] = std::move(value);
  }
  fs_.WithStore(*m, [&](oci::MetaStore& store) { store.Set(st.st_ino, std::move(eff)); });
  c.Return(0);
}

void Supervisor::Times(Call& c, int dirfd_arg, int path_arg, int times_arg, TimesArg kind,
                       bool follow) {
  struct timespec ts[2];
  bool explicit_times = false;
  bool now = c.arg(times_arg) == 0;
  if (!now) {
    if (kind == TimesArg::kTimespec) {
      if (int rc = ReadMem(c, c.arg(times_arg), ts, sizeof ts); rc != 0) return c.Fail(rc);
      for (auto& t : ts)
        if (t.tv_nsec != UTIME_NOW && t.tv_nsec != UTIME_OMIT &&
            (t.tv_nsec < 0 || t.tv_nsec >= 1000000000))
          return c.Fail(-EINVAL);
      if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT) {
        // Nothing to change; the kernel still checks the path exists.
      }
      explicit_times = !((ts[0].tv_nsec == UTIME_NOW || ts[0].tv_nsec == UTIME_OMIT) &&
                         (ts[1].tv_nsec == UTIME_NOW || ts[1].tv_nsec == UTIME_OMIT));
    } else if (kind == TimesArg::kTimeval) {
      struct timeval tv[2];
      if (int rc = ReadMem(c, c.arg(times_arg), tv, sizeof tv); rc != 0) return c.Fail(rc);
      for (int i = 0; i < 2; ++i) {
        if (tv[i].tv_usec < 0 || tv[i].tv_usec >= 1000000) return c.Fail(-EINVAL);
        ts[i].tv_sec = tv[i].tv_sec;
        ts[i].tv_nsec = tv[i].tv_usec * 1000;
      }
      explicit_times = true;
    } else {
      struct {
        int64_t actime, modtime;
      } ub;
      if (int rc = ReadMem(c, c.arg(times_arg), &ub, sizeof ub); rc != 0) return c.Fail(rc);
      ts[0] = {ub.actime, 0};
      ts[1] = {ub.modtime, 0};
      explicit_times = true;
    }
  }
  // utimensat(fd, NULL, ...) is futimens(fd): the descriptor itself.
  bool by_fd = path_arg >= 0 && c.arg(path_arg) == 0 && dirfd_arg >= 0;
  UniqueFd fd;
  struct stat st;
  const Mount* m = nullptr;
  Resolved r;
  int trc = by_fd ? Target(c, -1, -1, dirfd_arg, true, &fd, &st, &m, &r)
                  : Target(c, dirfd_arg, path_arg, -1, follow, &fd, &st, &m, &r);
  if (trc != 0) return c.Fail(trc);
  if (!m) return c.Fail(-EPERM);
  if (m->read_only || m->kind == PathMapping::Kind::kSys) return c.Fail(-EROFS);
  if (m->kind == PathMapping::Kind::kProc || m->kind == PathMapping::Kind::kDevice)
    return c.Fail(-EPERM);
  if (c.checks)
    if (int rc = TimesCheck(c.who, fs_.MetaOf(*m, st), explicit_times); rc != 0) return c.Fail(rc);
  if (Shared(st)) {
    if (r.dir.fd == nullptr || r.is_mount_root()) return c.Fail(-EACCES);
    if (int rc = CopyUp(r, true); rc != 0) return c.Fail(rc);
    fd.reset(OpenObject(r, false));
    if (!fd) return c.Fail(-errno);
  }
  if (::utimensat(AT_FDCWD, SelfFd(fd.get()).c_str(), now ? nullptr : ts, 0) != 0)
    return c.Fail(-errno);
  c.Return(0);
}

void Supervisor::Getdents(Call& c, bool is64) {
  int gfd = DupGuestFd(c, c.iarg(0));
  if (gfd < 0) return c.Fail(gfd);
  UniqueFd fd(gfd);
  size_t count = std::min<uint64_t>(c.arg(2), 1 << 20);
  std::vector<char> buf(count);
  // Our duplicate shares the guest's file offset, so the listing continues where it was.
  long n = ::syscall(is64 ? SYS_getdents64 : SYS_getdents, fd.get(), buf.data(), count);
  if (n < 0) return c.Fail(-errno);
  struct stat dst;
  const Mount* m = nullptr;
  if (::fstat(fd.get(), &dst) == 0) m = MountOfStat(dst);
  if (m && m->store) {
    fs_.WithStore(*m, [&](oci::MetaStore& store) {
      for (size_t off = 0; off + sizeof(Dirent64Head) <= static_cast<size_t>(n);) {
        Dirent64Head head;
        std::memcpy(&head, buf.data() + off, sizeof head);
        if (head.d_reclen == 0 || off + head.d_reclen > static_cast<size_t>(n)) break;
        size_t type_at = is64 ? off + offsetof(Dirent64Head, d_type) : off + head.d_reclen - 1;
        auto type = static_cast<uint8_t>(buf[type_at]);
        if (type == DT_REG) {
          if (const oci::FileMeta* fm = store.Find(static_cast<ino_t>(head.d_ino))) {
            auto want = static_cast<uint8_t>(IFTODT(fm->mode));
            if (want != DT_UNKNOWN) buf[type_at] = static_cast<char>(want);
          }
        }
        off += head.d_reclen;
      }
    });
  }
  if (n > 0)
    if (int rc = WriteMem(c, c.arg(1), buf.data(), static_cast<size_t>(n)); rc != 0)
      return c.Fail(rc);
  c.Return(n);
}

}  // namespace ocibuild::sandbox
