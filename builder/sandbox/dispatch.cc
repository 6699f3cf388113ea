// Which handler each traced syscall gets (x86_64 numbering), plus the exec and identity handlers.
#include <fcntl.h>
#include <linux/capability.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "builder/sandbox/exec_image.h"
#include "builder/sandbox/tracer.h"
#include "util/sys/affinity.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

namespace ocibuild::sandbox {

using sys::Arg;
using sys::Regs;
using sys::SetArg;

namespace {

bool NoFollow(uint64_t flags) {
  return (flags & AT_SYMLINK_NOFOLLOW) != 0;
}
uint32_t Id(uint64_t v) {
  return static_cast<uint32_t>(v);
}

}  // namespace

Tracer::Resume Tracer::Dispatch(Tracee& t, Regs& r) {
  long nr = static_cast<long>(sys::SyscallNr(r));
  switch (nr) {
    // --- open & create ---
    case SYS_open:
      return OpenCall(t, r, -1, 0, Arg(r, 1), 2);
    case SYS_creat:
      return OpenCall(t, r, -1, 0, O_CREAT | O_WRONLY | O_TRUNC, 1);
    case SYS_openat:
      return OpenCall(t, r, 0, 1, Arg(r, 2), 3);
    case SYS_openat2:
      return OpenAt2Call(t, r);
    case SYS_mkdir:
      return MkdirCall(t, r, -1, 0, 1);
    case SYS_mkdirat:
      return MkdirCall(t, r, 0, 1, 2);
    case SYS_mknod:
      return MknodCall(t, r, -1, 0, 1, 2);
    case SYS_mknodat:
      return MknodCall(t, r, 0, 1, 2, 3);
    case SYS_symlink:
      return SymlinkCall(t, r, -1, 1);
    case SYS_symlinkat:
      return SymlinkCall(t, r, 1, 2);
    case SYS_link:
      return LinkCall(t, r, -1, 0, -1, 1, false);
    case SYS_linkat:
      return LinkCall(t, r, 0, 1, 2, 3, (Arg(r, 4) & AT_SYMLINK_FOLLOW) != 0);
    // --- removal & rename ---
    case SYS_unlink:
      return UnlinkCall(t, r, -1, 0, false);
    case SYS_rmdir:
      return UnlinkCall(t, r, -1, 0, true);
    case SYS_unlinkat:
      return UnlinkCall(t, r, 0, 1, (Arg(r, 2) & AT_REMOVEDIR) != 0);
    case SYS_rename:
      return RenameCall(t, r, -1, 0, -1, 1, 0);
    case SYS_renameat:
      return RenameCall(t, r, 0, 1, 2, 3, 0);
    case SYS_renameat2:
      return RenameCall(t, r, 0, 1, 2, 3, Arg(r, 4));
    // --- stat family: results virtualised ---
    case SYS_stat:
      return StatCall(t, r, -1, 0, -1, true, 1, false);
    case SYS_lstat:
      return StatCall(t, r, -1, 0, -1, false, 1, false);
    case SYS_fstat:
      return StatCall(t, r, -1, -1, -1, true, 1, false);
    case SYS_newfstatat:
      return StatCall(t, r, 0, 1, 3, true, 2, false);
    case SYS_statx:
      return StatCall(t, r, 0, 1, 2, true, 4, true);
    // --- plain path arguments ---
    case SYS_statfs:
      return PathCall(t, r, -1, 0, true);
    case SYS_access:
      return AccessCall(t, r, -1, 0, 1, -1);
    case SYS_faccessat:
      return AccessCall(t, r, 0, 1, 2, -1);
    case SYS_faccessat2:
      return AccessCall(t, r, 0, 1, 2, 3);
    case SYS_chdir:
      return CheckedPathCall(t, r, -1, 0, true, kMayExec, /*dir_only=*/true);
    case SYS_truncate:
      return CheckedPathCall(t, r, -1, 0, true, kMayWrite);
    case SYS_utime:
      return TimesCall(t, r, -1, 0, 1, TimesArg::kUtimbuf, true);
    case SYS_utimes:
      return TimesCall(t, r, -1, 0, 1, TimesArg::kTimeval, true);
    case SYS_futimesat:
      return TimesCall(t, r, 0, 1, 2, TimesArg::kTimeval, true);
    case SYS_utimensat:
      return TimesCall(t, r, 0, 1, 2, TimesArg::kTimespec, !NoFollow(Arg(r, 3)));
    case SYS_inotify_add_watch:
      return PathCall(t, r, -1, 1, (Arg(r, 2) & IN_DONT_FOLLOW) == 0);
    case SYS_readlink:
      return ReadlinkCall(t, r, -1, 0, 1, 2);
    case SYS_readlinkat:
      return ReadlinkCall(t, r, 0, 1, 2, 3);
    case SYS_getcwd:
      t.op = ExitOp::kGetcwd;
      t.a0 = Arg(r, 0);
      t.a1 = Arg(r, 1);
      return Resume::kToExit;
    case SYS_chroot: {
      // Only the identity chroot is supported; anything else would need per-process roots.
      std::string guest;
      if (int rc = ResolveArg(t, r, -1, 0, true, &host_buf_, &guest); rc != 0) return Fail(r, rc);
      if (!t.creds.privileged()) return Fail(r, -EPERM);
      return guest == "/" ? Return(r, 0) : Fail(r, -EPERM);
    }
    // --- ownership & modes: recorded in the store, never applied to the host ---
    case SYS_chown:
      return ChownCall(t, r, -1, 0, -1, Id(Arg(r, 1)), Id(Arg(r, 2)), true);
    case SYS_lchown:
      return ChownCall(t, r, -1, 0, -1, Id(Arg(r, 1)), Id(Arg(r, 2)), false);
    case SYS_fchown:
      return ChownCall(t, r, -1, -1, 0, Id(Arg(r, 1)), Id(Arg(r, 2)), true);
    case SYS_fchownat:
      return ChownCall(t, r, 0, 1, -1, Id(Arg(r, 2)), Id(Arg(r, 3)), !NoFollow(Arg(r, 4)));
    case SYS_chmod:
      return ChmodCall(t, r, -1, 0, -1, Id(Arg(r, 1)), true);
    case SYS_fchmod:
      return ChmodCall(t, r, -1, -1, 0, Id(Arg(r, 1)), true);
    case SYS_fchmodat:
      return ChmodCall(t, r, 0, 1, -1, Id(Arg(r, 2)), true);
    case SYS_fchmodat2:
      return ChmodCall(t, r, 0, 1, -1, Id(Arg(r, 2)), !NoFollow(Arg(r, 3)));
    case SYS_setxattr:
      return XattrCall(t, r, XattrOp::kSet, -1, true);
    case SYS_lsetxattr:
      return XattrCall(t, r, XattrOp::kSet, -1, false);
    case SYS_fsetxattr:
      return XattrCall(t, r, XattrOp::kSet, 0, true);
    case SYS_getxattr:
      return XattrCall(t, r, XattrOp::kGet, -1, true);
    case SYS_lgetxattr:
      return XattrCall(t, r, XattrOp::kGet, -1, false);
    case SYS_fgetxattr:
      return XattrCall(t, r, XattrOp::kGet, 0, true);
    case SYS_listxattr:
      return XattrCall(t, r, XattrOp::kList, -1, true);
    case SYS_llistxattr:
      return XattrCall(t, r, XattrOp::kList, -1, false);
    case SYS_flistxattr:
      return XattrCall(t, r, XattrOp::kList, 0, true);
    case SYS_removexattr:
      return XattrCall(t, r, XattrOp::kRemove, -1, true);
    case SYS_lremovexattr:
      return XattrCall(t, r, XattrOp::kRemove, -1, false);
    case SYS_fremovexattr:
      return XattrCall(t, r, XattrOp::kRemove, 0, true);
    // --- exec ---
    case SYS_execve:
      return ExecCall(t, r, -1, 0, 1, 2, 0);
    case SYS_execveat:
      return ExecCall(t, r, 0, 1, 2, 3, Arg(r, 4));
    // --- AF_UNIX addresses ---
    case SYS_bind:
      return SockaddrCall(t, r, 1, 2, false);
    case SYS_connect:
      return SockaddrCall(t, r, 1, 2, true);
    case SYS_sendto:
      return SockaddrCall(t, r, 4, 5, true);
    case SYS_sendmsg:
      return SendmsgCall(t, r);
    case SYS_recvmsg:
      return RecvmsgCall(t, r);
    case SYS_recvfrom:
      return SockNameCall(t, r, 4, 5);
    case SYS_getsockname:
    case SYS_getpeername:
      return SockNameCall(t, r, 1, 2);
    // --- directory listings: faked device types ---
    case SYS_getdents:
      return GetdentsCall(t, r, false);
    case SYS_getdents64:
      return GetdentsCall(t, r, true);
    case SYS_socket: {
      int domain = static_cast<int>(Arg(r, 0));
      if (opts_.network || domain == AF_UNIX || domain == AF_NETLINK) return Resume::kCont;
      return Fail(r, -EAFNOSUPPORT);  // RUN --network=none
    }
    case SYS_unshare:
      return Arg(r, 0) == 0 ? Return(r, 0) : Fail(r, -EPERM);
    case SYS_sched_getaffinity:
      return AffinityCall(t, r, false);
    case SYS_sched_setaffinity:
      return AffinityCall(t, r, true);
    default:
      break;
  }
  return IdentityCall(t, r, nr);
}

Tracer::Resume Tracer::AffinityCall(Tracee& t, Regs& r, bool set) {
  pid_t target = Arg(r, 0) == 0 ? t.tid : static_cast<pid_t>(Arg(r, 0));
  Tracee* who = Find(target);
  if (!packing_.active() || !who) return Resume::kCont;  // the kernel's answer is the truth
  size_t len = Arg(r, 1);
  // The kernel refuses lengths that are not whole longs; beyond 8192 CPUs nothing is read.
  if (len % sizeof(long) != 0) return Fail(r, -EINVAL);
  std::vector<uint8_t> buf(std::min<size_t>(len, 1024));
  if (set) {
    if (!buf.empty() && !sys::ReadMem(t.tid, Arg(r, 2), buf.data(), buf.size()).ok())
      return Fail(r, -EFAULT);
    // The real call validates the mask and clips it to the allowed CPUs; reading it back
    // gives what the guest will see, then the packing (if on) takes the thread back.
    if (int rc = sys::SetAffinity(target, buf.data(), buf.size()); rc < 0) return Fail(r, rc);
    who->cpu_mask.assign(packing_.original().size(), 0);
    long n = sys::GetAffinity(target, who->cpu_mask.data(), who->cpu_mask.size());
    if (n < 0) who->cpu_mask.clear();
    packing_.Apply(target, who->packed, who->cpu_mask);
    return Return(r, 0);
  }
  long n = sys::GetAffinity(target, buf.data(), buf.size());  // the kernel's size and errors
  if (n < 0) return Fail(r, static_cast<int>(n));
  const std::vector<uint8_t>& mask = who->cpu_mask.empty() ? packing_.original() : who->cpu_mask;
  std::fill(buf.begin(), buf.begin() + n, 0);
  std::copy_n(mask.begin(), std::min<size_t>(mask.size(), static_cast<size_t>(n)), buf.begin());
  if (!sys::WriteMem(t.tid, Arg(r, 2), buf.data(), static_cast<size_t>(n)).ok())
    return Fail(r, -EFAULT);
  return Return(r, n);
}

Tracer::Resume Tracer::IdentityCall(Tracee& t, Regs& r, long nr) {
  FakeCreds& c = t.creds;
  auto put3 = [&](uint32_t a, uint32_t b, uint32_t d) {
    uint32_t v[3] = {a, b, d};
    for (int i = 0; i < 3; ++i) {
      if (Arg(r, i) && !sys::WriteMem(t.tid, Arg(r, i), &v[i], sizeof v[i]).ok())
        return Fail(r, -EFAULT);
    }
    return Return(r, 0);
  };
  switch (nr) {
    case SYS_getuid:
      return Return(r, c.ruid);
    case SYS_geteuid:
      return Return(r, c.euid);
    case SYS_getgid:
      return Return(r, c.rgid);
    case SYS_getegid:
      return Return(r, c.egid);
    case SYS_getresuid:
      return put3(c.ruid, c.euid, c.suid);
    case SYS_getresgid:
      return put3(c.rgid, c.egid, c.sgid);
    case SYS_setuid:
      return Return(r, c.SetUid(Id(Arg(r, 0))));
    case SYS_setgid:
      return Return(r, c.SetGid(Id(Arg(r, 0))));
    case SYS_setreuid:
      return Return(r, c.SetReUid(Id(Arg(r, 0)), Id(Arg(r, 1))));
    case SYS_setregid:
      return Return(r, c.SetReGid(Id(Arg(r, 0)), Id(Arg(r, 1))));
    case SYS_setresuid:
      return Return(r, c.SetResUid(Id(Arg(r, 0)), Id(Arg(r, 1)), Id(Arg(r, 2))));
    case SYS_setresgid:
      return Return(r, c.SetResGid(Id(Arg(r, 0)), Id(Arg(r, 1)), Id(Arg(r, 2))));
    case SYS_setfsuid:
      return Return(r, c.SetFsUid(Id(Arg(r, 0))));
    case SYS_setfsgid:
      return Return(r, c.SetFsGid(Id(Arg(r, 0))));
    case SYS_getgroups: {
      int64_t size = static_cast<int>(Arg(r, 0));
      if (size < 0) return Fail(r, -EINVAL);
      if (size == 0) return Return(r, static_cast<int64_t>(c.groups.size()));
      if (static_cast<size_t>(size) < c.groups.size()) return Fail(r, -EINVAL);
      if (!sys::WriteMem(t.tid, Arg(r, 1), c.groups.data(), c.groups.size() * 4).ok())
        return Fail(r, -EFAULT);
      return Return(r, static_cast<int64_t>(c.groups.size()));
    }
    case SYS_setgroups: {
      size_t size = Arg(r, 0);
      if (size > 65536) return Fail(r, -EINVAL);
      std::vector<uint32_t> list(size);
      if (size && !sys::ReadMem(t.tid, Arg(r, 1), list.data(), size * 4).ok())
        return Fail(r, -EFAULT);
      return Return(r, c.SetGroups(std::move(list)));
    }
    case SYS_capget: {
      __user_cap_header_struct hdr;
      if (!sys::ReadMem(t.tid, Arg(r, 0), &hdr, sizeof hdr).ok()) return Fail(r, -EFAULT);
      if (hdr.version != _LINUX_CAPABILITY_VERSION_1 &&
          hdr.version != _LINUX_CAPABILITY_VERSION_2 &&
          hdr.version != _LINUX_CAPABILITY_VERSION_3) {
        hdr.version = _LINUX_CAPABILITY_VERSION_3;
        (void)sys::WriteMem(t.tid, Arg(r, 0), &hdr, sizeof hdr);
        return Fail(r, -EINVAL);
      }
      if (Arg(r, 1) == 0) return Return(r, 0);
      int words = hdr.version == _LINUX_CAPABILITY_VERSION_1 ? 1 : 2;
      __user_cap_data_struct data[2];
      for (int i = 0; i < 2; ++i) {
        data[i].effective = static_cast<uint32_t>(c.cap_eff >> (32 * i));
        data[i].permitted = static_cast<uint32_t>(c.cap_prm >> (32 * i));
        data[i].inheritable = static_cast<uint32_t>(c.cap_inh >> (32 * i));
      }
      if (!sys::WriteMem(t.tid, Arg(r, 1), data, sizeof data[0] * words).ok())
        return Fail(r, -EFAULT);
      return Return(r, 0);
    }
    case SYS_capset: {
      __user_cap_header_struct hdr;
      if (!sys::ReadMem(t.tid, Arg(r, 0), &hdr, sizeof hdr).ok()) return Fail(r, -EFAULT);
      int words = hdr.version == _LINUX_CAPABILITY_VERSION_1 ? 1 : 2;
      __user_cap_data_struct data[2] = {};
      if (!sys::ReadMem(t.tid, Arg(r, 1), data, sizeof data[0] * words).ok())
        return Fail(r, -EFAULT);
      auto join = [&](uint32_t lo, uint32_t hi) { return uint64_t{lo} | (uint64_t{hi} << 32); };
      return Return(r, c.SetCaps(join(data[0].effective, data[1].effective),
                                 join(data[0].permitted, data[1].permitted),
                                 join(data[0].inheritable, data[1].inheritable)));
    }
    case SYS_prctl:
      switch (Arg(r, 0)) {
        case PR_GET_KEEPCAPS:
          return Return(r, c.keepcaps ? 1 : 0);
        case PR_SET_KEEPCAPS:
          if (Arg(r, 1) > 1) return Fail(r, -EINVAL);
          c.keepcaps = Arg(r, 1) == 1;
          return Return(r, 0);
        case PR_CAPBSET_READ:
          // The bounding set of a container's root, whatever the host's (--cap-drop=ALL).
          return Arg(r, 1) <= 40 ? Return(r, 1) : Fail(r, -EINVAL);
        case PR_CAPBSET_DROP:
        case PR_SET_SECUREBITS:
          return c.HasCap(8 /*CAP_SETPCAP*/) ? Return(r, 0) : Fail(r, -EPERM);
        case PR_GET_SECUREBITS:
          return Return(r, 0);
        case PR_SET_DUMPABLE:
          // Never let it reach the kernel: a non-dumpable tracee's memory and /proc/<pid>/fd are
          // closed to an unprivileged tracer (PEEKDATA gives EIO), which would break every path
          // syscall of sudo, ssh & co.
          if (Arg(r, 1) > 1) return Fail(r, -EINVAL);
          t.dumpable = Arg(r, 1) == 1;
          return Return(r, 0);
        case PR_GET_DUMPABLE:
          return Return(r, t.dumpable ? 1 : 0);
        case PR_CAP_AMBIENT:
          // Callers probe capabilities upwards until EINVAL.
          if (Arg(r, 1) == PR_CAP_AMBIENT_CLEAR_ALL) return Return(r, 0);
          return Arg(r, 2) <= 40 ? Return(r, 0) : Fail(r, -EINVAL);
        default:
          return Resume::kCont;  // everything else is the kernel's business
      }
    default:
      break;
  }
  return UnknownCall(t, r, nr);
}

Tracer::Resume Tracer::ExecCall(Tracee& t, Regs& r, int dirfd_arg, int path_arg, int argv_arg,
                                int envp_arg, uint64_t flags) {
  std::string given;  // the filename as the caller wrote it (what a script sees as $0)
  std::string prog_host, prog_guest;
  Status rs = sys::ReadString(t.tid, Arg(r, path_arg), &given, PATH_MAX);
  if (!rs.ok()) return Fail(r, -EFAULT);
  // AT_EXECFN as the kernel would set it: the name given, or /dev/fd/N[/name] for a dirfd.
  int dirfd = dirfd_arg >= 0 ? static_cast<int>(Arg(r, dirfd_arg)) : AT_FDCWD;
  std::string execfn = given;
  if (dirfd != AT_FDCWD && (given.empty() || given[0] != '/')) {
    execfn = "/dev/fd/" + std::to_string(dirfd);
    if (!given.empty()) execfn += "/" + given;
  }
  if (given.empty() && (flags & AT_EMPTY_PATH) && dirfd_arg >= 0) {
    // fexecve(): the file the descriptor is open on, named in the guest. (Resolving
    // "/proc/self/fd/N" here would name the tracer's own descriptor.)
    if (int rc = GuestBase(t, dirfd, &given); rc != 0)
      return Fail(r, rc == -ENOTDIR ? -ENOENT : rc);
  }
  if (given == "/proc/self/exe" || given == "/proc/thread-self/exe") given = t.exe;
  {
    std::string base;
    if (!given.empty() && given[0] != '/') {
      if (int rc = GuestBase(t, dirfd, &base); rc != 0) return Fail(r, rc);
    }
    if (given.empty()) return Fail(r, -ENOENT);
    Status st = resolver_.Resolve(given, base, true, &prog_host, &prog_guest, Search(), &dirs_);
    if (!st.ok()) return Fail(r, -(st.error().sys_errno ? st.error().sys_errno : ENOENT));
  }
  // The argv as a list of either existing tracee strings (pointer) or new strings.
  struct Item {
    uint64_t ptr = 0;
    std::string s;
    bool fresh = false;
  };
  std::vector<Item> argv;
  for (uint64_t p = Arg(r, argv_arg);; p += 8) {
    uint64_t s = 0;
    if (Arg(r, argv_arg) == 0) break;
    if (!sys::ReadMem(t.tid, p, &s, 8).ok()) return Fail(r, -EFAULT);
    if (s == 0) break;
    argv.push_back({s, {}, false});
    if (argv.size() > (1u << 20)) return Fail(r, -E2BIG);
  }
  bool argv_changed = false;
  std::string exec_host = prog_host;
  std::string final_guest = prog_guest;
  for (int depth = 0;; ++depth) {
    if (depth > 4) return Fail(r, -ELOOP);
    struct stat st;
    if (::stat(exec_host.c_str(), &st) != 0) return Fail(r, -errno);
    if (!S_ISREG(st.st_mode)) return Fail(r, -EACCES);
    // The image's mode decides (even root needs an x bit); the host's would let anything run.
    if (int rc = Permission(who_, MetaOf(st), kMayExec); rc != 0) return Fail(r, rc);
    auto img = InspectExecutable(exec_host);
    if (!img.ok()) return Fail(r, -(img.error().sys_errno ? img.error().sys_errno : ENOEXEC));
    if (img->kind == ExecImage::Kind::kScript) {
      // argv becomes: interp [arg] script args...
      if (argv.empty()) argv.push_back({});
      argv[0] = {0, given, true};
      std::vector<Item> front{{0, img->interp, true}};
      if (!img->interp_arg.empty()) front.push_back({0, img->interp_arg, true});
      argv.insert(argv.begin(), front.begin(), front.end());
      argv_changed = true;
      given = img->interp;
      std::string base;
      if (given[0] != '/' && GuestBase(t, AT_FDCWD, &base) != 0) return Fail(r, -ENOENT);
      Status s2 = resolver_.Resolve(given, base, true, &exec_host, &final_guest, Search(), &dirs_);
      if (!s2.ok()) return Fail(r, -ENOENT);
      continue;
    }
    if (img->kind == ExecImage::Kind::kDynamicElf) {
      // The kernel would load PT_INTERP from the host: run the guest's loader explicitly.
      std::string interp_host;
      Status s2 = resolver_.Resolve(img->interp, "", true, &interp_host, nullptr, Search(), &dirs_);
      struct stat ist;
      if (!s2.ok() || ::stat(interp_host.c_str(), &ist) != 0) return Fail(r, -ENOENT);
      if (int rc = Permission(who_, MetaOf(ist), kMayExec); rc != 0) return Fail(r, rc);
      bool musl = img->interp.find("ld-musl") != std::string::npos;
      std::vector<Item> front{{0, img->interp, true}};
      if (!musl) {
        front.push_back({0, "--argv0", true});
        front.push_back(argv.empty() ? Item{0, given, true} : argv[0]);
      }
      front.push_back({0, final_guest, true});
      if (!argv.empty()) argv.erase(argv.begin());
      argv.insert(argv.begin(), front.begin(), front.end());
      argv_changed = true;
      exec_host = interp_host;
    }
    break;
  }
  // The kernel copies the path we pass as the AT_EXECFN string; pad it with "/." so that the
  // guest's name fits there when the exec event rewrites it.
  const std::string& root = resolver_.rootfs();
  if (execfn.size() > exec_host.size() && InRootfs(exec_host)) {
    size_t pairs = (execfn.size() - exec_host.size() + 1) / 2;
    std::string pad;
    for (size_t i = 0; i < pairs; ++i) pad += "/.";
    exec_host.insert(root.size(), pad);
  }
  // Write strings, then the pointer array, below the stack.
  auto where = ScratchPut(t, exec_host.c_str(), exec_host.size() + 1);
  if (!where.ok()) return Fail(r, -EFAULT);
  uint64_t path_addr = *where;
  uint64_t argv_addr = Arg(r, argv_arg);
  if (argv_changed) {
    std::vector<uint64_t> ptrs;
    ptrs.reserve(argv.size() + 1);
    for (Item& it : argv) {
      if (it.fresh) {
        auto a = ScratchPut(t, it.s.c_str(), it.s.size() + 1);
        if (!a.ok()) return Fail(r, -EFAULT);
        it.ptr = *a;
      }
      ptrs.push_back(it.ptr);
    }
    ptrs.push_back(0);
    auto a = ScratchPut(t, ptrs.data(), ptrs.size() * 8);
    if (!a.ok()) return Fail(r, -E2BIG);
    argv_addr = *a;
  }
  uint64_t envp = Arg(r, envp_arg);
  r.orig_rax = SYS_execve;
  SetArg(&r, 0, path_addr);
  SetArg(&r, 1, argv_addr);
  SetArg(&r, 2, envp);
  t.pending_exe = final_guest;
  t.pending_execfn = std::move(execfn);
  t.op = ExitOp::kExec;
  return Resume::kToExit;
}

}  // namespace ocibuild::sandbox
