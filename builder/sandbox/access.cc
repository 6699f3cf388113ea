// Permission checks of the tracer for a non-root identity: the kernel's DAC rules applied to the
// recorded owners and modes (see permissions.h). Fake root skips all of them except exec's x bit,
// so none of this is on root's hot path.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "builder/sandbox/copy_up.h"
#include "builder/sandbox/tracer.h"

namespace ocibuild::sandbox {

using sys::Arg;
using sys::Regs;

namespace {

// The directory holding `host` (no trailing slash); false for the filesystem root.
bool ParentOf(const std::string& host, std::string* parent) {
  size_t end = host.size();
  while (end > 1 && host[end - 1] == '/') --end;
  size_t slash = host.rfind('/', end - 1);
  if (slash == std::string::npos || end <= 1) return false;
  parent->assign(host, 0, slash == 0 ? 1 : slash);
  return true;
}

}  // namespace

oci::FileMeta Tracer::MetaOf(const struct stat& st) const {
  if (st.st_ino == root_ino_ && !store_->Find(st.st_ino)) {
    oci::FileMeta m;
    m.mode = S_IFDIR | 0755;
    return m;
  }
  return store_->Effective(st);
}

int Tracer::MayAccess(const std::string& host, bool follow, int mask) const {
  if (!InRootfs(host)) return 0;
  struct stat st;
  if ((follow ? ::stat(host.c_str(), &st) : ::lstat(host.c_str(), &st)) != 0) return 0;
  return Permission(who_, MetaOf(st), mask);
}

int Tracer::MayCreate(const std::string& host) const {
  if (!InRootfs(host)) return 0;
  struct stat st;
  if (::lstat(host.c_str(), &st) == 0) return 0;
  std::string parent;
  if (!ParentOf(host, &parent) || ::stat(parent.c_str(), &st) != 0) return 0;
  return Permission(who_, MetaOf(st), kMayWrite | kMayExec);
}

int Tracer::MayDelete(const std::string& host) const {
  if (!InRootfs(host)) return 0;
  struct stat victim, dir;
  std::string parent;
  if (::lstat(host.c_str(), &victim) != 0) return 0;
  if (!ParentOf(host, &parent) || ::stat(parent.c_str(), &dir) != 0) return 0;
  oci::FileMeta d = MetaOf(dir);
  if (int rc = Permission(who_, d, kMayWrite | kMayExec); rc != 0) return rc;
  return StickyCheck(who_, d, MetaOf(victim));
}

int Tracer::RenameAllowed(const std::string& from, const std::string& to, uint64_t flags) const {
  if (!InRootfs(from) || !InRootfs(to)) return 0;
  struct stat src, dst;
  if (::lstat(from.c_str(), &src) != 0) return 0;
  if (int rc = MayDelete(from); rc != 0) return rc;
  bool exists = ::lstat(to.c_str(), &dst) == 0;
  if (int rc = exists ? MayDelete(to) : MayCreate(to); rc != 0) return rc;
  std::string p1, p2;
  if (!ParentOf(from, &p1) || !ParentOf(to, &p2) || p1 == p2) return 0;
  if (S_ISDIR(src.st_mode)) {
    if (int rc = Permission(who_, MetaOf(src), kMayWrite); rc != 0) return rc;
  }
  if ((flags & RENAME_EXCHANGE) && exists && S_ISDIR(dst.st_mode))
    return Permission(who_, MetaOf(dst), kMayWrite);
  return 0;
}

Tracer::Resume Tracer::AccessCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, int mode_arg,
                                  int flags_arg) {
  int mode = static_cast<int>(Arg(r, mode_arg));
  int flags = flags_arg >= 0 ? static_cast<int>(Arg(r, flags_arg)) : 0;
  if (mode & ~(R_OK | W_OK | X_OK)) return Fail(r, -EINVAL);
  // Without AT_EACCESS the kernel checks with the real ids (set-user-ID programs ask "may the
  // user who started me ...?"), the whole walk included.
  who_ = (flags & AT_EACCESS) ? Who::Fs(t.creds) : Who::Real(t.creds);
  checks_ = !who_.Bypasses();
  bool follow = !(flags & AT_SYMLINK_NOFOLLOW);
  bool skipped = false;
  int rc = ResolveArg(t, r, dirfd_arg, path_arg, follow, &host_buf_, nullptr, &skipped);
  if (rc != 0) return Fail(r, rc);
  if (skipped || !InRootfs(host_buf_)) return PathCall(t, r, dirfd_arg, path_arg, follow);
  // Answered here in one stop: existence from the host, permission from the image.
  struct stat st;
  if ((follow ? ::stat(host_buf_.c_str(), &st) : ::lstat(host_buf_.c_str(), &st)) != 0)
    return Fail(r, -errno);
  if (mode == F_OK) return Return(r, 0);
  int mask = ((mode & R_OK) ? kMayRead : 0) | ((mode & W_OK) ? kMayWrite : 0) |
             ((mode & X_OK) ? kMayExec : 0);
  return Return(r, Permission(who_, MetaOf(st), mask));
}

Tracer::Resume Tracer::CheckedPathCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, bool follow,
                                       int mask, bool dir_only) {
  if (int rc = TranslateArg(t, r, dirfd_arg, path_arg, follow, &host_buf_); rc != 0)
    return Fail(r, rc);
  if (checks_ && InRootfs(host_buf_)) {
    struct stat st;
    if ((follow ? ::stat(host_buf_.c_str(), &st) : ::lstat(host_buf_.c_str(), &st)) == 0 &&
        (!dir_only || S_ISDIR(st.st_mode))) {
      if (int rc = Permission(who_, MetaOf(st), mask); rc != 0) return Fail(r, rc);
    }
  }
  if ((mask & kMayWrite) && InRootfs(host_buf_))
    BreakSharedLink(host_buf_, *store_, false, opts_.shared_inodes);
  return Resume::kToExit;
}

Tracer::Resume Tracer::TimesCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, int times_arg,
                                 TimesArg kind, bool follow) {
  if (!checks_) {
    if (path_arg < 0 || Arg(r, path_arg) == 0) return Resume::kCont;  // futimens(fd, ...)
    return PathWriteCall(t, r, dirfd_arg, path_arg, follow);
  }
  // Which rule applies: "now" (owner or writer) or explicit times (owner only).
  bool explicit_times = false;
  uint64_t times = Arg(r, times_arg);
  if (times != 0) {
    if (kind == TimesArg::kTimespec) {
      struct timespec ts[2];
      if (!sys::ReadMem(t.tid, times, ts, sizeof ts).ok()) return Fail(r, -EFAULT);
      if (ts[0].tv_nsec == UTIME_OMIT && ts[1].tv_nsec == UTIME_OMIT) {
        if (path_arg < 0 || Arg(r, path_arg) == 0) return Resume::kCont;
        return PathCall(t, r, dirfd_arg, path_arg, follow);
      }
      explicit_times = !(ts[0].tv_nsec == UTIME_NOW && ts[1].tv_nsec == UTIME_NOW);
    } else {
      explicit_times = true;
    }
  }
  struct stat st;
  int rc = StatTarget(t, r, dirfd_arg, path_arg, dirfd_arg, follow, &host_buf_, &st);
  if (rc == 0 && st.st_dev == root_dev_) {
    if (int deny = TimesCheck(who_, MetaOf(st), explicit_times); deny != 0) return Fail(r, deny);
  }
  if (path_arg < 0 || Arg(r, path_arg) == 0) return Resume::kCont;
  return PathWriteCall(t, r, dirfd_arg, path_arg, follow);
}

}  // namespace ocibuild::sandbox
