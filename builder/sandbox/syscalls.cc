// Entry handlers of the tracer: one per family of traced syscalls. Each either rewrites the
// arguments and lets the kernel run the call against the host path, or answers the call itself
// (identity, ownership) and skips it.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "builder/sandbox/copy_up.h"
#include "builder/sandbox/exec_image.h"
#include "builder/sandbox/tracer.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

namespace ocibuild::sandbox {

using sys::Arg;
using sys::Regs;
using sys::SetArg;

namespace {

constexpr uint32_t kNoMode = 0xffffffff;

bool IsVirtualXattr(const std::string& name) {
  return name.compare(0, 9, "security.") == 0 || name.compare(0, 8, "trusted.") == 0;
}

// Host permission bits: whatever the image says, the (unprivileged) owner keeps read/write (and
// search on directories) so that fake root is never denied; the image's bits live in the store.
uint32_t HostPerm(uint32_t perm, bool dir) {
  return (perm & 0777) | (dir ? 0700 : 0600);
}

int Errno(const Error& e) {
  return e.sys_errno ? e.sys_errno : EIO;
}

}  // namespace

Result<uint64_t> Tracer::ScratchPut(const Tracee& t, const void* data, size_t len) {
  scratch_ = (scratch_ - len) & ~uint64_t{15};
  OCIB_TRY(sys::WriteMem(t.tid, scratch_, data, len));
  return scratch_;
}

Tracer::Resume Tracer::Fail(Regs& r, int neg_errno) {
  sys::SkipSyscall(&r, neg_errno);
  return Resume::kCont;
}

Tracer::Resume Tracer::Return(Regs& r, int64_t value) {
  sys::SkipSyscall(&r, value);
  return Resume::kCont;
}

int Tracer::GuestBase(const Tracee& t, int dirfd, std::string* base) {
  char proc[64];
  if (dirfd == AT_FDCWD) {
    snprintf(proc, sizeof proc, "/proc/%d/cwd", t.tid);
  } else {
    snprintf(proc, sizeof proc, "/proc/%d/fd/%d", t.tid, dirfd);
  }
  char buf[PATH_MAX];
  ssize_t n = ::readlink(proc, buf, sizeof buf - 1);
  if (n < 0) return dirfd == AT_FDCWD ? -ENOENT : -EBADF;
  tmp_buf_.assign(buf, static_cast<size_t>(n));
  if (tmp_buf_.empty() || tmp_buf_[0] != '/') return -ENOTDIR;  // pipe:[..], anon_inode:..
  if (!resolver_.ToGuest(tmp_buf_, base)) {
    // Outside the rootfs and every mapping (should not happen): refuse rather than escape.
    return -EACCES;
  }
  return 0;
}

int Tracer::ResolveArg(Tracee& t, const Regs& r, int dirfd_arg, int path_arg, bool follow,
                       std::string* host, std::string* guest, bool* skipped) {
  if (skipped) *skipped = false;
  uint64_t addr = Arg(r, path_arg);
  if (addr == 0) {
    if (skipped) *skipped = true;
    return 0;
  }
  Status st = sys::ReadString(t.tid, addr, &path_buf_, PATH_MAX);
  if (!st.ok()) return -Errno(st.error());
  if (path_buf_.empty()) {
    if (skipped) *skipped = true;  // AT_EMPTY_PATH, or ENOENT from the kernel
    return 0;
  }
  base_buf_.clear();
  if (path_buf_[0] != '/') {
    int dirfd = dirfd_arg >= 0 ? static_cast<int>(Arg(r, dirfd_arg)) : AT_FDCWD;
    if (int rc = GuestBase(t, dirfd, &base_buf_); rc != 0) return rc;
  }
  Status rs = resolver_.Resolve(path_buf_, base_buf_, follow, host, guest, Search(), &dirs_);
  if (!rs.ok()) return -Errno(rs.error());
  return 0;
}

int Tracer::TranslateArg(Tracee& t, Regs& r, int dirfd_arg, int path_arg, bool follow,
                         std::string* host, std::string* guest) {
  std::string* h = host ? host : &host_buf_;
  bool skipped = false;
  int rc = ResolveArg(t, r, dirfd_arg, path_arg, follow, h, guest, &skipped);
  if (rc != 0 || skipped) return rc;
  auto addr = ScratchPut(t, h->c_str(), h->size() + 1);
  if (!addr.ok()) return -Errno(addr.error());
  SetArg(&r, path_arg, *addr);
  if (dirfd_arg >= 0) SetArg(&r, dirfd_arg, static_cast<uint64_t>(AT_FDCWD));
  return 0;
}

Tracer::Resume Tracer::PathCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, bool follow) {
  if (int rc = TranslateArg(t, r, dirfd_arg, path_arg, follow); rc != 0) return Fail(r, rc);
  return Resume::kToExit;
}

Tracer::Resume Tracer::PathWriteCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, bool follow) {
  if (int rc = TranslateArg(t, r, dirfd_arg, path_arg, follow, &host_buf_); rc != 0)
    return Fail(r, rc);
  if (InRootfs(host_buf_)) BreakSharedLink(host_buf_, *store_, true, opts_.shared_inodes);
  return Resume::kToExit;
}

bool Tracer::InRootfs(const std::string& host) const {
  const std::string& root = resolver_.rootfs();
  return host.size() >= root.size() && host.compare(0, root.size(), root) == 0 &&
         (host.size() == root.size() || host[root.size()] == '/');
}

void Tracer::VirtualizeStatx(struct statx* sx) const {
  if (const oci::FileMeta* m = store_->Find(static_cast<ino_t>(sx->stx_ino))) {
    sx->stx_uid = m->uid;
    sx->stx_gid = m->gid;
    sx->stx_mode = static_cast<uint16_t>(m->mode);
    sx->stx_rdev_major = major(m->rdev);
    sx->stx_rdev_minor = minor(m->rdev);
  } else {
    sx->stx_uid = 0;
    sx->stx_gid = 0;
  }
}

Tracer::Resume Tracer::StatCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, int flags_arg,
                                bool follow, int buf_arg, bool statx) {
  // The tracer performs the stat itself on the host path (same host credentials as the tracee)
  // and writes the virtualised result: one stop instead of an entry and an exit stop. Paths
  // outside the rootfs (/proc/self/..., /dev/fd/...) mean something else in the tracer's
  // context and take the slow road.
  uint64_t flags = flags_arg >= 0 ? Arg(r, flags_arg) : 0;
  if (flags_arg >= 0) follow = !(flags & AT_SYMLINK_NOFOLLOW);
  bool skipped = path_arg < 0;
  int fd = static_cast<int>(Arg(r, path_arg < 0 ? 0 : dirfd_arg));
  if (path_arg >= 0) {
    if (Arg(r, path_arg) != 0 || (flags & AT_EMPTY_PATH)) {
      if (int rc = ResolveArg(t, r, dirfd_arg, path_arg, follow, &host_buf_, nullptr, &skipped);
          rc != 0)
        return Fail(r, rc);
    } else {
      skipped = true;
    }
    if (skipped && !(flags & AT_EMPTY_PATH)) {
      return Fail(r, Arg(r, path_arg) == 0 ? -EFAULT : -ENOENT);
    }
  }
  char proc[64];
  const char* target = host_buf_.c_str();
  if (skipped) {
    if (fd == AT_FDCWD) {
      snprintf(proc, sizeof proc, "/proc/%d/cwd", t.tid);
    } else {
      if (fd < 0) return Fail(r, -EBADF);
      snprintf(proc, sizeof proc, "/proc/%d/fd/%d", t.tid, fd);
    }
    target = proc;
    follow = true;  // through the magic link to the open file itself
  } else if (!InRootfs(host_buf_)) {
    if (int rc = TranslateArg(t, r, dirfd_arg, path_arg, follow); rc != 0) return Fail(r, rc);
    t.op = statx ? ExitOp::kStatx : ExitOp::kStat;
    t.a0 = Arg(r, buf_arg);
    return Resume::kToExit;
  }
  uint64_t buf = Arg(r, buf_arg);
  if (statx) {
    struct statx sx;
    int xflags =
        static_cast<int>(flags & (AT_STATX_SYNC_TYPE)) | (follow ? 0 : AT_SYMLINK_NOFOLLOW);
    if (::statx(AT_FDCWD, target, xflags, static_cast<unsigned>(Arg(r, 3)), &sx) != 0)
      return Fail(r, skipped && errno == ENOENT ? -EBADF : -errno);
    VirtualizeStatx(&sx);
    if (!sys::WriteMem(t.tid, buf, &sx, sizeof sx).ok()) return Fail(r, -EFAULT);
    return Return(r, 0);
  }
  struct stat st;
  if ((follow ? ::stat(target, &st) : ::lstat(target, &st)) != 0)
    return Fail(r, skipped && errno == ENOENT ? -EBADF : -errno);
  store_->Virtualize(&st);
  if (!sys::WriteMem(t.tid, buf, &st, sizeof st).ok()) return Fail(r, -EFAULT);
  return Return(r, 0);
}

uint32_t Tracer::ReadUmask(pid_t tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  FILE* f = fopen(path, "re");
  if (!f) return 022;
  char line[256];
  uint32_t mask = 022;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "Umask:", 6) == 0) {
      mask = static_cast<uint32_t>(strtoul(line + 6, nullptr, 8));
      break;
    }
  }
  fclose(f);
  return mask;
}

Tracer::Resume Tracer::OpenCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, uint64_t flags,
                                int mode_arg) {
  bool creat = (flags & O_CREAT) != 0;
  bool follow = !(flags & O_NOFOLLOW) && !(creat && (flags & O_EXCL));
  if (int rc = TranslateArg(t, r, dirfd_arg, path_arg, follow, &host_buf_); rc != 0)
    return Fail(r, rc);
  bool tmpfile = (flags & O_TMPFILE & ~O_DIRECTORY) != 0;
  if (checks_ && InRootfs(host_buf_)) {
    // may_open(): the access mode (O_TRUNC writes too) on an existing file; W+X on the
    // directory for a new one (O_TMPFILE: on the directory itself).
    int acc = static_cast<int>(flags & O_ACCMODE);
    int mask = (acc == O_RDONLY ? kMayRead : 0) | (acc == O_WRONLY ? kMayWrite : 0) |
               (acc == O_RDWR ? kMayRead | kMayWrite : 0) | ((flags & O_TRUNC) ? kMayWrite : 0);
    if (flags & O_PATH) mask = 0;
    struct stat st;
    bool exists = (follow ? ::stat(host_buf_.c_str(), &st) : ::lstat(host_buf_.c_str(), &st)) == 0;
    int rc = 0;
    if (tmpfile) {
      if (exists) rc = Permission(who_, MetaOf(st), kMayWrite | kMayExec);
    } else if (exists && !(creat && (flags & O_EXCL)) && mask) {
      rc = Permission(who_, MetaOf(st), mask);
    } else if (!exists && creat) {
      rc = MayCreate(host_buf_);
    }
    if (rc != 0) return Fail(r, rc);
  }
  bool writes = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
  if (writes && !tmpfile && !(flags & O_PATH) && InRootfs(host_buf_))
    BreakSharedLink(host_buf_, *store_, !(flags & O_TRUNC), opts_.shared_inodes);
  if (!creat && !tmpfile) return Resume::kToExit;
  uint32_t mode = mode_arg >= 0 ? static_cast<uint32_t>(Arg(r, mode_arg)) & 07777 : 0666;
  bool odd_mode = (mode & 0600) != 0600 || (mode & 07000);
  bool foreign = t.creds.fsuid != 0 || t.creds.fsgid != 0;
  struct stat st;
  bool existed = !tmpfile && ::lstat(host_buf_.c_str(), &st) == 0;
  if (existed) return Resume::kToExit;
  if (odd_mode && mode_arg >= 0) SetArg(&r, mode_arg, HostPerm(mode, false));
  if (!odd_mode && !foreign && store_->size() == 0) return Resume::kToExit;
  t.op = ExitOp::kRecordNew;
  t.s0 = host_buf_;
  t.a2 = 1;  // the result is an fd
  t.new_mode = odd_mode ? (mode & ~ReadUmask(t.tid)) : kNoMode;
  return Resume::kToExit;
}

Tracer::Resume Tracer::MkdirCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, int mode_arg) {
  if (int rc = TranslateArg(t, r, dirfd_arg, path_arg, false, &host_buf_); rc != 0)
    return Fail(r, rc);
  if (checks_) {
    if (int rc = MayCreate(host_buf_); rc != 0) return Fail(r, rc);
  }
  uint32_t mode = static_cast<uint32_t>(Arg(r, mode_arg)) & 07777;
  bool odd_mode = (mode & 0700) != 0700 || (mode & 07000);
  bool foreign = t.creds.fsuid != 0 || t.creds.fsgid != 0;
  if (odd_mode) SetArg(&r, mode_arg, HostPerm(mode, true));
  if (!odd_mode && !foreign && store_->size() == 0) return Resume::kToExit;
  t.op = ExitOp::kRecordNew;
  t.s0 = host_buf_;
  t.a2 = 0;
  t.new_mode = odd_mode ? (mode & ~ReadUmask(t.tid)) : kNoMode;
  return Resume::kToExit;
}

Tracer::Resume Tracer::MknodCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, int mode_arg,
                                 int dev_arg) {
  if (int rc = TranslateArg(t, r, dirfd_arg, path_arg, false, &host_buf_); rc != 0)
    return Fail(r, rc);
  if (checks_) {
    if (int rc = MayCreate(host_buf_); rc != 0) return Fail(r, rc);
  }
  uint32_t mode = static_cast<uint32_t>(Arg(r, mode_arg));
  uint32_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  uint32_t perm = mode & 07777;
  bool device = type == S_IFCHR || type == S_IFBLK;
  bool foreign = t.creds.fsuid != 0 || t.creds.fsgid != 0;
  if (!t.creds.privileged() && device) return Fail(r, -EPERM);
  // A device node is a placeholder regular file on disk; the store says what it really is.
  if (device || (perm & 0600) != 0600 || (perm & 07000)) {
    SetArg(&r, mode_arg, (device ? S_IFREG : type) | HostPerm(perm, false));
    if (device) SetArg(&r, dev_arg, 0);
  } else if (!foreign && store_->size() == 0) {
    return Resume::kToExit;
  }
  t.op = ExitOp::kRecordNew;
  t.s0 = host_buf_;
  t.a2 = 0;
  t.new_mode = type | (perm & ~ReadUmask(t.tid));
  t.a1 = device ? 1 : 0;
  t.a0 = device ? Arg(t.entry, dev_arg) : 0;
  return Resume::kToExit;
}

void Tracer::FinishRecordNew(Tracee& t, const Regs& r) {
  int64_t rv = sys::RetVal(r);
  if (rv < 0) return;
  struct stat st;
  int rc;
  if (t.a2) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d/fd/%lld", t.tid, static_cast<long long>(rv));
    rc = ::stat(proc, &st);
  } else {
    rc = ::lstat(t.s0.c_str(), &st);
  }
  if (rc != 0) return;
  bool foreign = t.creds.fsuid != 0 || t.creds.fsgid != 0;
  if (t.new_mode == kNoMode && !foreign) {
    store_->Erase(st.st_ino);  // a reused inode number must not inherit a dead file's owner
    return;
  }
  oci::FileMeta m;
  m.uid = t.creds.fsuid;
  m.gid = t.creds.fsgid;
  if (t.new_mode == kNoMode) {
    m.mode = st.st_mode;
  } else if (t.new_mode & S_IFMT) {
    m.mode = t.new_mode;  // mknod: full type
  } else {
    m.mode = (st.st_mode & S_IFMT) | t.new_mode;
  }
  m.rdev = t.a1 ? t.a0 : st.st_rdev;
  if (S_ISCHR(m.mode) || S_ISBLK(m.mode)) has_devices_ = true;
  store_->Set(st.st_ino, std::move(m));
}

Tracer::Resume Tracer::UnlinkCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, bool dir) {
  bool skipped = false;
  if (int rc = ResolveArg(t, r, dirfd_arg, path_arg, false, &host_buf_, nullptr, &skipped); rc != 0)
    return Fail(r, rc);
  if (checks_ && !skipped) {
    if (int rc = MayDelete(host_buf_); rc != 0) return Fail(r, rc);
  }
  struct stat st;
  bool erase = !skipped && store_->size() != 0 && ::lstat(host_buf_.c_str(), &st) == 0 &&
               (dir || S_ISDIR(st.st_mode) || st.st_nlink <= 1) && store_->Find(st.st_ino);
  if (!skipped && InRootfs(host_buf_)) {
    // Done by the tracer (same host credentials): one stop instead of two.
    if ((dir ? ::rmdir(host_buf_.c_str()) : ::unlink(host_buf_.c_str())) != 0)
      return Fail(r, -errno);
    if (dir) dirs_.Clear();  // dpkg's many failing rmdirs keep the cache
    if (erase) store_->Erase(st.st_ino);
    return Return(r, 0);
  }
  if (int rc = TranslateArg(t, r, dirfd_arg, path_arg, false, &host_buf_); rc != 0)
    return Fail(r, rc);
  if (erase) {
    t.op = ExitOp::kErase;
    t.a0 = st.st_ino;
  }
  return Resume::kToExit;
}

Tracer::Resume Tracer::RenameCall(Tracee& t, Regs& r, int olddir, int oldpath, int newdir,
                                  int newpath, uint64_t flags) {
  bool skip1 = false, skip2 = false;
  if (int rc = ResolveArg(t, r, olddir, oldpath, false, &host_buf_, nullptr, &skip1); rc != 0)
    return Fail(r, rc);
  if (int rc = ResolveArg(t, r, newdir, newpath, false, &host2_buf_, nullptr, &skip2); rc != 0)
    return Fail(r, rc);
  if (skip1 || skip2) return Fail(r, -ENOENT);
  if (checks_) {
    if (int rc = RenameAllowed(host_buf_, host2_buf_, flags); rc != 0) return Fail(r, rc);
  }
  struct stat dst, src;
  bool erase = store_->size() != 0 && !(flags & RENAME_EXCHANGE) &&
               ::lstat(host2_buf_.c_str(), &dst) == 0 && ::lstat(host_buf_.c_str(), &src) == 0 &&
               src.st_ino != dst.st_ino && (S_ISDIR(dst.st_mode) || dst.st_nlink <= 1) &&
               store_->Find(dst.st_ino);
  if (InRootfs(host_buf_) && InRootfs(host2_buf_)) {
    // Only a directory moving can make the resolver's DirCache wrong; files move all the time
    // (dpkg renames every file it installs into place).
    bool moves_dir = (flags & RENAME_EXCHANGE) || (::lstat(host_buf_.c_str(), &src) == 0 &&
                                                   S_ISDIR(src.st_mode));
    if (::renameat2(AT_FDCWD, host_buf_.c_str(), AT_FDCWD, host2_buf_.c_str(),
                    static_cast<unsigned>(flags)) != 0)
      return Fail(r, -errno);
    if (moves_dir) dirs_.Clear();
    if (erase) store_->Erase(dst.st_ino);
    return Return(r, 0);
  }
  if (int rc = TranslateArg(t, r, olddir, oldpath, false, &host_buf_); rc != 0) return Fail(r, rc);
  if (int rc = TranslateArg(t, r, newdir, newpath, false, &host2_buf_); rc != 0) return Fail(r, rc);
  if (erase) {
    t.op = ExitOp::kErase;
    t.a0 = dst.st_ino;
  }
  return Resume::kToExit;
}

Tracer::Resume Tracer::LinkCall(Tracee& t, Regs& r, int olddir, int oldpath, int newdir,
                                int newpath, bool follow) {
  if (int rc = TranslateArg(t, r, olddir, oldpath, follow); rc != 0) return Fail(r, rc);
  if (int rc = TranslateArg(t, r, newdir, newpath, false, &host2_buf_); rc != 0) return Fail(r, rc);
  if (checks_) {
    if (int rc = MayCreate(host2_buf_); rc != 0) return Fail(r, rc);
  }
  return Resume::kToExit;
}

Tracer::Resume Tracer::SymlinkCall(Tracee& t, Regs& r, int newdir, int newpath) {
  // The link text is stored verbatim: it is resolved in the guest when followed.
  if (int rc = TranslateArg(t, r, newdir, newpath, false, &host_buf_); rc != 0) return Fail(r, rc);
  if (checks_) {
    if (int rc = MayCreate(host_buf_); rc != 0) return Fail(r, rc);
  }
  bool foreign = t.creds.fsuid != 0 || t.creds.fsgid != 0;
  if (!foreign && store_->size() == 0) return Resume::kToExit;
  t.op = ExitOp::kRecordNew;
  t.s0 = host_buf_;
  t.a2 = 0;
  t.new_mode = kNoMode;
  return Resume::kToExit;
}

Tracer::Resume Tracer::ReadlinkCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, int buf_arg,
                                    int size_arg) {
  bool skipped = false;
  if (int rc = ResolveArg(t, r, dirfd_arg, path_arg, false, &host_buf_, &guest_buf_, &skipped);
      rc != 0)
    return Fail(r, rc);
  if (skipped) return Resume::kCont;  // readlinkat(fd, ""): the kernel reads the fd's link
  if (guest_buf_.compare(0, 6, "/proc/") != 0) {
    // A link in the rootfs (or a bind mapping) holds guest text, the same for any reader: read
    // it here and skip the syscall. realpath() readlinks every component of every path, and
    // compilers realpath a lot; one stop instead of an entry and an exit stop.
    int size = static_cast<int>(Arg(r, size_arg));
    if (size <= 0 || dirs_.Has(guest_buf_)) return Fail(r, -EINVAL);  // a directory: no link
    tmp_buf_.resize(static_cast<size_t>(std::min(size, PATH_MAX)));
    ssize_t n = ::readlink(host_buf_.c_str(), tmp_buf_.data(), tmp_buf_.size());
    if (n < 0) return Fail(r, -errno);
    if (!sys::WriteMem(t.tid, Arg(r, buf_arg), tmp_buf_.data(), static_cast<size_t>(n)).ok())
      return Fail(r, -EFAULT);
    return Return(r, n);
  }
  // Below /proc (rare): the kernel reads the link, as the tracee.
  if (int rc = TranslateArg(t, r, dirfd_arg, path_arg, false, &host_buf_, &guest_buf_); rc != 0)
    return Fail(r, rc);
  {
    // /proc/<pid>/exe of a program started through its guest ld.so points at ld.so: answer with
    // the program the guest exec'd.
    std::string_view rest(guest_buf_);
    rest.remove_prefix(6);
    size_t slash = rest.find('/');
    if (slash != std::string_view::npos && rest.substr(slash) == "/exe") {
      std::string_view who = rest.substr(0, slash);
      const Tracee* target = nullptr;
      if (who == "self" || who == "thread-self") {
        target = &t;
      } else {
        pid_t p = static_cast<pid_t>(strtol(std::string(who).c_str(), nullptr, 10));
        target = Find(p);
      }
      if (target && !target->exe.empty()) {
        size_t n = std::min<size_t>(target->exe.size(), Arg(r, size_arg));
        if (!sys::WriteMem(t.tid, Arg(r, buf_arg), target->exe.data(), n).ok())
          return Fail(r, -EFAULT);
        return Return(r, static_cast<int64_t>(n));
      }
    }
  }
  // Magic links (/proc/<pid>/cwd, fd/N, root, ...) hold host paths: de-translated at exit.
  t.op = ExitOp::kReadlink;
  t.a0 = Arg(r, buf_arg);
  t.a1 = Arg(r, size_arg);
  return Resume::kToExit;
}

void Tracer::FinishReadlink(Tracee& t, Regs& r) {
  int64_t n = sys::RetVal(r);
  if (n <= 0) return;
  tmp_buf_.resize(static_cast<size_t>(n));
  if (!sys::ReadMem(t.tid, t.a0, tmp_buf_.data(), tmp_buf_.size()).ok()) return;
  if (tmp_buf_[0] != '/') return;
  std::string guest;
  if (!resolver_.ToGuest(tmp_buf_, &guest)) return;
  size_t len = std::min<size_t>(guest.size(), t.a1);
  if (!sys::WriteMem(t.tid, t.a0, guest.data(), len).ok()) return;
  sys::SetRetVal(&r, static_cast<int64_t>(len));
}

void Tracer::FinishGetcwd(Tracee& t, Regs& r) {
  int64_t n = sys::RetVal(r);
  if (n <= 0) return;
  tmp_buf_.resize(static_cast<size_t>(n));
  if (!sys::ReadMem(t.tid, t.a0, tmp_buf_.data(), tmp_buf_.size()).ok()) return;
  if (!tmp_buf_.empty() && tmp_buf_.back() == '\0') tmp_buf_.pop_back();
  std::string guest;
  if (!resolver_.ToGuest(tmp_buf_, &guest)) guest = "(unreachable)/";
  if (guest.size() + 1 > t.a1) {
    sys::SetRetVal(&r, -ERANGE);
    return;
  }
  if (!sys::WriteMem(t.tid, t.a0, guest.c_str(), guest.size() + 1).ok()) return;
  sys::SetRetVal(&r, static_cast<int64_t>(guest.size() + 1));
}

void Tracer::FinishStat(Tracee& t, const Regs& r) {
  if (sys::RetVal(r) != 0 || t.a0 == 0) return;
  struct stat st;
  if (!sys::ReadMem(t.tid, t.a0, &st, sizeof st).ok()) return;
  struct stat before = st;
  store_->Virtualize(&st);
  if (std::memcmp(&st, &before, sizeof st) != 0) (void)sys::WriteMem(t.tid, t.a0, &st, sizeof st);
}

void Tracer::FinishStatx(Tracee& t, const Regs& r) {
  if (sys::RetVal(r) != 0 || t.a0 == 0) return;
  struct statx sx;
  if (!sys::ReadMem(t.tid, t.a0, &sx, sizeof sx).ok()) return;
  struct statx before = sx;
  VirtualizeStatx(&sx);
  if (std::memcmp(&sx, &before, sizeof sx) != 0) (void)sys::WriteMem(t.tid, t.a0, &sx, sizeof sx);
}

int Tracer::StatTarget(Tracee& t, const Regs& r, int dirfd_arg, int path_arg, int fd_arg,
                       bool follow, std::string* host, struct stat* st) {
  bool skipped = path_arg < 0;
  if (path_arg >= 0) {
    int rc = ResolveArg(t, r, dirfd_arg, path_arg, follow, host, nullptr, &skipped);
    if (rc != 0) return rc;
    if (skipped && dirfd_arg < 0) return -ENOENT;
    if (skipped) fd_arg = dirfd_arg;  // AT_EMPTY_PATH: the dirfd itself
  }
  if (skipped) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d/fd/%d", t.tid, static_cast<int>(Arg(r, fd_arg)));
    host->assign(proc);
    // Through the magic link: the inode the descriptor refers to.
    if (::stat(proc, st) != 0) return -EBADF;
    return 0;
  }
  int rc = follow ? ::stat(host->c_str(), st) : ::lstat(host->c_str(), st);
  return rc == 0 ? 0 : -errno;
}

Tracer::Resume Tracer::ChownCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, int fd_arg,
                                 uint32_t uid, uint32_t gid, bool follow) {
  struct stat st;
  if (int rc = StatTarget(t, r, dirfd_arg, path_arg, fd_arg, follow, &host_buf_, &st); rc != 0)
    return Fail(r, rc);
  oci::FileMeta m = store_->Effective(st);
  if (!t.creds.privileged()) {
    bool own = m.uid == t.creds.fsuid;
    bool uid_ok = uid == FakeCreds::kKeep || uid == m.uid;
    bool gid_ok =
        gid == FakeCreds::kKeep || gid == m.gid || gid == t.creds.fsgid ||
        std::find(t.creds.groups.begin(), t.creds.groups.end(), gid) != t.creds.groups.end();
    if (!own || !uid_ok || !gid_ok) return Fail(r, -EPERM);
  }
  if (uid != FakeCreds::kKeep) m.uid = uid;
  if (gid != FakeCreds::kKeep) m.gid = gid;
  // As the kernel does: chown drops set-user-ID, and set-group-ID when group-executable.
  if (!S_ISDIR(m.mode) && (uid != FakeCreds::kKeep || gid != FakeCreds::kKeep)) {
    m.mode &= ~static_cast<uint32_t>(S_ISUID);
    if (m.mode & S_IXGRP) m.mode &= ~static_cast<uint32_t>(S_ISGID);
  }
  store_->Set(st.st_ino, std::move(m));
  return Return(r, 0);
}

Tracer::Resume Tracer::ChmodCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, int fd_arg,
                                 uint32_t mode, bool follow) {
  struct stat st;
  if (int rc = StatTarget(t, r, dirfd_arg, path_arg, fd_arg, follow, &host_buf_, &st); rc != 0)
    return Fail(r, rc);
  if (S_ISLNK(st.st_mode)) return Fail(r, -EOPNOTSUPP);
  oci::FileMeta m = store_->Effective(st);
  if (!t.creds.privileged() && m.uid != t.creds.fsuid) return Fail(r, -EPERM);
  // As the kernel's setattr_copy(): set-group-ID survives only for a member of the file's group
  // or with CAP_FSETID.
  if ((mode & S_ISGID) && !t.creds.HasCap(4 /*CAP_FSETID*/) && !Who::Fs(t.creds).InGroup(m.gid))
    mode &= ~static_cast<uint32_t>(S_ISGID);
  m.mode = (m.mode & S_IFMT) | (mode & 07777);
  bool faked_type = (m.mode & S_IFMT) != (st.st_mode & S_IFMT);
  uint32_t host_perm = faked_type ? HostPerm(mode, false) : HostPerm(mode, S_ISDIR(st.st_mode));
  // The chmod below reaches the disk: a cached tree's file is copied up first (a new inode).
  if ((st.st_mode & 07777) != host_perm && InRootfs(host_buf_) &&
      BreakSharedLink(host_buf_, *store_, true, opts_.shared_inodes) &&
      ::stat(host_buf_.c_str(), &st) != 0)
    return Fail(r, -errno);
  if ((st.st_mode & 07777) != host_perm && ::chmod(host_buf_.c_str(), host_perm) != 0)
    return Fail(r, -errno);
  st.st_mode = (st.st_mode & S_IFMT) | host_perm;
  if (m.uid == 0 && m.gid == 0 && m.xattrs.empty() && m.mode == st.st_mode && m.rdev == st.st_rdev)
    store_->Erase(st.st_ino);
  else
    store_->Set(st.st_ino, std::move(m));
  return Return(r, 0);
}

Tracer::Resume Tracer::XattrCall(Tracee& t, Regs& r, XattrOp op, int fd_arg, bool follow) {
  // Layout: (path|fd, name, value, size, flags) / (path|fd, list, size).
  int name_arg = 1;
  if (op != XattrOp::kList) {
    Status st = sys::ReadString(t.tid, Arg(r, name_arg), &guest_buf_, 256);
    if (!st.ok()) return Fail(r, -Errno(st.error()));
  }
  bool virt = op == XattrOp::kList || IsVirtualXattr(guest_buf_);
  if (!virt) {
    if (fd_arg >= 0) return Resume::kCont;
    return op == XattrOp::kSet ? PathWriteCall(t, r, -1, 0, follow) : PathCall(t, r, -1, 0, follow);
  }
  std::string name = guest_buf_;
  struct stat st;
  if (int rc = StatTarget(t, r, -1, fd_arg >= 0 ? -1 : 0, fd_arg, follow, &host_buf_, &st); rc != 0)
    return Fail(r, rc);
  if (op == XattrOp::kList) {
    if (fd_arg < 0) {
      if (int rc = TranslateArg(t, r, -1, 0, follow); rc != 0) return Fail(r, rc);
    }
    const oci::FileMeta* m = store_->Find(st.st_ino);
    if (!m || m->xattrs.empty()) return Resume::kToExit;
    t.op = ExitOp::kListXattr;
    t.a0 = st.st_ino;
    t.a1 = Arg(r, 1);
    t.a2 = Arg(r, 2);
    return Resume::kToExit;
  }
  const oci::FileMeta* found = store_->Find(st.st_ino);
  if (op == XattrOp::kGet) {
    if (!found) return Fail(r, -ENODATA);
    auto it = found->xattrs.find(name);
    if (it == found->xattrs.end()) return Fail(r, -ENODATA);
    size_t size = Arg(r, 3);
    if (size == 0) return Return(r, static_cast<int64_t>(it->second.size()));
    if (size < it->second.size()) return Fail(r, -ERANGE);
    if (!sys::WriteMem(t.tid, Arg(r, 2), it->second.data(), it->second.size()).ok())
      return Fail(r, -EFAULT);
    return Return(r, static_cast<int64_t>(it->second.size()));
  }
  if (!t.creds.privileged()) return Fail(r, -EPERM);
  oci::FileMeta m = store_->Effective(st);
  if (op == XattrOp::kRemove) {
    if (!m.xattrs.erase(name)) return Fail(r, -ENODATA);
  } else {
    size_t size = Arg(r, 3);
    if (size > 65536) return Fail(r, -E2BIG);
    std::string value(size, '\0');
    if (!sys::ReadMem(t.tid, Arg(r, 2), value.data(), size).ok()) return Fail(r, -EFAULT);
    int flags = static_cast<int>(Arg(r, 4));
    bool exists = m.xattrs.count(name) != 0;
    if ((flags & XATTR_CREATE) && exists) return Fail(r, -EEXIST);
    if ((flags & XATTR_REPLACE) && !exists) return Fail(r, -ENODATA);
    m.xattrs[name] = std::move(value);
  }
  store_->Set(st.st_ino, std::move(m));
  return Return(r, 0);
}

void Tracer::FinishListXattr(Tracee& t, Regs& r) {
  int64_t n = sys::RetVal(r);
  if (n < 0 && n != -ENODATA && n != -ENOTSUP) return;
  if (n < 0) n = 0;
  const oci::FileMeta* m = store_->Find(static_cast<ino_t>(t.a0));
  if (!m) return;
  tmp_buf_.clear();
  for (const auto& [k, v] : m->xattrs) {
    tmp_buf_ += k;
    tmp_buf_ += '\0';
  }
  size_t total = static_cast<size_t>(n) + tmp_buf_.size();
  if (t.a2 == 0) {
    sys::SetRetVal(&r, static_cast<int64_t>(total));
    return;
  }
  if (total > t.a2) {
    sys::SetRetVal(&r, -ERANGE);
    return;
  }
  if (!sys::WriteMem(t.tid, t.a1 + static_cast<uint64_t>(n), tmp_buf_.data(), tmp_buf_.size()).ok())
    return;
  sys::SetRetVal(&r, static_cast<int64_t>(total));
}

Tracer::Resume Tracer::SockaddrCall(Tracee& t, Regs& r, int addr_arg, int len_arg, bool follow) {
  uint64_t addr = Arg(r, addr_arg);
  uint64_t len = Arg(r, len_arg);
  if (addr == 0 || len > sizeof(sockaddr_un)) return Resume::kCont;
  sockaddr_un sa;
  std::memset(&sa, 0, sizeof sa);
  if (!sys::ReadMem(t.tid, addr, &sa, len).ok()) return Resume::kCont;
  uint32_t newlen = static_cast<uint32_t>(len);
  int rc = UnixAddrToHost(t, &sa, &newlen, follow);
  if (rc > 0) return Resume::kCont;
  if (rc < 0) return Fail(r, rc);
  auto where = ScratchPut(t, &sa, newlen);
  if (!where.ok()) return Fail(r, -EFAULT);
  SetArg(&r, addr_arg, *where);
  SetArg(&r, len_arg, newlen);
  return Resume::kToExit;
}

Tracer::Resume Tracer::OpenAt2Call(Tracee& t, Regs& r) {
  open_how how;
  std::memset(&how, 0, sizeof how);
  size_t size = Arg(r, 3);
  if (size < sizeof how) return Fail(r, -EINVAL);
  if (!sys::ReadMem(t.tid, Arg(r, 2), &how, sizeof how).ok()) return Fail(r, -EFAULT);
  Resume res = OpenCall(t, r, 0, 1, how.flags, -1);
  if (sys::SyscallNr(r) == static_cast<uint64_t>(-1)) return res;
  // Our resolution already confines the path to the guest root; the host-side resolve flags
  // would now reject the absolute host path we pass.
  if (how.resolve & (RESOLVE_IN_ROOT | RESOLVE_BENEATH)) {
    how.resolve &= ~static_cast<uint64_t>(RESOLVE_IN_ROOT | RESOLVE_BENEATH);
    auto where = ScratchPut(t, &how, sizeof how);
    if (!where.ok()) return Fail(r, -EFAULT);
    SetArg(&r, 2, *where);
    SetArg(&r, 3, sizeof how);
  }
  return res;
}

Tracer::Resume Tracer::UnknownCall(Tracee& t, Regs& r, long nr) {
  if (reported_unknown_.insert(nr).second) {
    char msg[160];
    int n = snprintf(msg, sizeof msg,
                     "ocibuild sandbox: refusing unknown syscall %ld with ENOSYS (pid %d)\n", nr,
                     t.tid);
    if (n > 0) (void)!::write(opts_.log_fd, msg, static_cast<size_t>(n));
  }
  return Fail(r, -ENOSYS);
}

}  // namespace ocibuild::sandbox
