#include "util/sys/probe.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/uio.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "util/fd.h"
#include "util/fs.h"
#include "util/sys/seccomp.h"

namespace ocibuild::sys {
namespace {

// Exit codes of probe children: 0 success, kErrnoBase + errno for a refused call.
constexpr int kErrnoBase = 64;

ProbeOutcome Refused(int err, const std::string& what) {
  return ProbeOutcome{false, err, what + ": " + std::strerror(err)};
}

// Runs `child` in a forked process; its exit code is 0 or kErrnoBase + errno.
template <typename F>
ProbeOutcome InChild(const std::string& what, F child) {
  pid_t pid = ::fork();
  if (pid < 0) return Refused(errno, "fork");
  if (pid == 0) {
    int err = child();
    ::_exit(err == 0 ? 0 : kErrnoBase + (err & 0x3f));
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return ProbeOutcome{true, 0, ""};
  if (WIFEXITED(st) && WEXITSTATUS(st) >= kErrnoBase)
    return Refused(WEXITSTATUS(st) - kErrnoBase, what);
  return ProbeOutcome{false, 0,
                      what + ": the probe process died (status " + std::to_string(st) + ")"};
}

int InstallFilter(bool trace_getppid) {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
  struct sock_filter allow_all[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  struct sock_filter trace[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRACE),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog;
  if (trace_getppid) {
    prog = {static_cast<unsigned short>(sizeof trace / sizeof trace[0]), trace};
  } else {
    prog = {1, allow_all};
  }
  if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0) return errno;
  return 0;
}

const char* FsTypeName(long magic) {
  switch (static_cast<unsigned long>(magic)) {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794c7630:
      return "overlay";
    case 0x2fc12fc1:
      return "zfs";
    case 0x6969:
      return "nfs";
    case 0x65735546:
      return "fuse";
    case 0xFF534D42:
      return "cifs";
    case 0x5346414F:
      return "afs";
    case 0x858458f6:
      return "ramfs";
    case 0x73717368:
      return "squashfs";
    case 0xf2f52010:
      return "f2fs";
    default:
      return nullptr;
  }
}

}  // namespace

ProbeOutcome ProbeSeccompFilter() {
  return InChild("installing a seccomp filter", [] { return InstallFilter(false); });
}

NotifyProbe ProbeSeccompNotify() {
  NotifyProbe out;
  out.killable = SeccompFlagSupported(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    out.notify = Refused(errno, "socketpair");
    out.addfd = out.notify;
    return out;
  }
  UniqueFd ours(sv[0]), theirs(sv[1]);
  pid_t pid = ::fork();
  if (pid < 0) {
    out.notify = Refused(errno, "fork");
    out.addfd = out.notify;
    return out;
  }
  if (pid == 0) {
    ::close(sv[0]);
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    };
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) ::_exit(kErrnoBase + (errno & 0x3f));
    int listener = InstallSeccompFilterWithListener(f, sizeof f / sizeof f[0], 0);
    if (listener < 0) ::_exit(kErrnoBase + ((-listener) & 0x3f));
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    char one = 'l';
    struct iovec iov = {&one, 1};
    struct msghdr m = {};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &listener, sizeof listener);
    if (::sendmsg(sv[1], &m, 0) != 1) ::_exit(kErrnoBase + (errno & 0x3f));
    ::close(listener);
    if (::syscall(SYS_getppid) != 4242) ::_exit(2);
    long fd = ::syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY);
    if (fd < 0) ::_exit(3);
    struct stat st;
    if (::fstat(static_cast<int>(fd), &st) != 0 || !S_ISCHR(st.st_mode)) ::_exit(3);
    ::_exit(0);
  }
  theirs.reset();
  auto reap = [pid] {
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return st;
  };
  int listener = -1;
  {
    char byte;
    struct iovec iov = {&byte, 1};
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct msghdr m = {};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    if (::recvmsg(ours.get(), &m, MSG_CMSG_CLOEXEC) == 1) {
      struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
      if (cm && cm->cmsg_type == SCM_RIGHTS) std::memcpy(&listener, CMSG_DATA(cm), sizeof listener);
    }
  }
  if (listener < 0) {
    int st = reap();
    int err = WIFEXITED(st) && WEXITSTATUS(st) >= kErrnoBase ? WEXITSTATUS(st) - kErrnoBase : EIO;
    out.notify = Refused(err, "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER)");
    out.addfd = out.notify;
    return out;
  }
  UniqueFd lfd(listener);
  {
    char c = 0;
    struct iovec local = {&c, 1};
    struct iovec remote = {&c, 1};
    out.process_vm = ::process_vm_readv(pid, &local, 1, &remote, 1, 0) == 1;
  }
  seccomp_notif req;
  if (int rc = NotifRecv(listener, &req); rc != 0) {
    ::kill(pid, SIGKILL);
    reap();
    out.notify = Refused(-rc, "SECCOMP_IOCTL_NOTIF_RECV");
    out.addfd = out.notify;
    return out;
  }
  seccomp_notif_resp resp = {};
  resp.id = req.id;
  resp.val = 4242;
  if (int rc = NotifSend(listener, resp); rc != 0) {
    ::kill(pid, SIGKILL);
    reap();
    out.notify = Refused(-rc, "SECCOMP_IOCTL_NOTIF_SEND");
    out.addfd = out.notify;
    return out;
  }
  out.notify = ProbeOutcome{true, 0, ""};
  if (int rc = NotifRecv(listener, &req); rc != 0) {
    ::kill(pid, SIGKILL);
    reap();
    out.addfd = Refused(-rc, "SECCOMP_IOCTL_NOTIF_RECV");
    return out;
  }
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  int rc = NotifAddFd(listener, req.id, devnull.get(), 0, true);
  if (rc < 0) {
    resp = {};
    resp.id = req.id;
    resp.error = -ENOSYS;
    NotifSend(listener, resp);
  }
  int st = reap();
  if (rc < 0) {
    out.addfd = Refused(-rc, "SECCOMP_IOCTL_NOTIF_ADDFD");
  } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
    out.addfd = ProbeOutcome{true, 0, ""};
  } else {
    out.addfd = ProbeOutcome{false, EIO, "the installed descriptor did not reach the process"};
  }
  return out;
}

ProbeOutcome ProbeUserNamespace() {
  return InChild("unshare(CLONE_NEWUSER)",
                 [] { return ::unshare(CLONE_NEWUSER) == 0 ? 0 : errno; });
}

ProbeOutcome ProbePtrace(bool seccomp_trace) {
  pid_t pid = ::fork();
  if (pid < 0) return Refused(errno, "fork");
  if (pid == 0) {
    ::raise(SIGSTOP);  // wait to be seized
    if (seccomp_trace) {
      int err = InstallFilter(true);
      if (err) ::_exit(kErrnoBase + (err & 0x3f));
      ::syscall(SYS_getppid);
    }
    ::_exit(0);
  }
  auto reap = [pid] {
    ::kill(pid, SIGKILL);
    int st;
    while (::waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {
    }
  };
  int st = 0;
  if (::waitpid(pid, &st, WUNTRACED) < 0 || !WIFSTOPPED(st)) {
    int err = errno;
    reap();
    return Refused(err ? err : ECHILD, "waiting for the probe process to stop");
  }
  long opts = PTRACE_O_EXITKILL | (seccomp_trace ? PTRACE_O_TRACESECCOMP : 0);
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, reinterpret_cast<void*>(opts)) != 0) {
    int err = errno;
    reap();
    return Refused(err, "ptrace(PTRACE_SEIZE)");
  }
  ::kill(pid, SIGCONT);
  bool saw_seccomp_stop = false;
  for (int round = 0; round < 64; ++round) {
    if (::waitpid(pid, &st, __WALL) < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      reap();
      return Refused(err, "waitpid on the traced probe");
    }
    if (WIFEXITED(st)) {
      int code = WEXITSTATUS(st);
      if (code >= kErrnoBase) return Refused(code - kErrnoBase, "installing a seccomp filter");
      if (seccomp_trace && !saw_seccomp_stop)
        return ProbeOutcome{false, 0,
                            "the tracer never saw the seccomp trace stop (kernel older than 4.8?)"};
      return ProbeOutcome{true, 0, ""};
    }
    if (WIFSIGNALED(st))
      return ProbeOutcome{false, 0,
                          std::string("the traced probe was killed by ") + strsignal(WTERMSIG(st))};
    if ((st >> 16) == PTRACE_EVENT_SECCOMP) saw_seccomp_stop = true;
    // Every stop (the SIGCONT delivery, group stops, the seccomp event) just continues quietly.
    if (::ptrace(PTRACE_CONT, pid, nullptr, nullptr) != 0) {
      int err = errno;
      reap();
      return Refused(err, "ptrace(PTRACE_CONT)");
    }
  }
  reap();
  return ProbeOutcome{false, 0, "the traced probe did not finish"};
}

Result<FsInfo> FilesystemInfo(const std::string& path) {
  struct statfs sf;
  if (::statfs(path.c_str(), &sf) != 0) return SysError("statfs", path);
  struct statvfs sv;
  if (::statvfs(path.c_str(), &sv) != 0) return SysError("statvfs", path);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return SysError("stat", path);
  FsInfo info;
  const char* name = FsTypeName(static_cast<long>(sf.f_type));
  if (name) {
    info.type = name;
  } else {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(sf.f_type));
    info.type = buf;
  }
  info.free_bytes = static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
  info.total_bytes = static_cast<uint64_t>(sv.f_blocks) * sv.f_frsize;
  info.free_inodes = sv.f_favail;
  info.total_inodes = sv.f_files;
  info.dev = st.st_dev;
  return info;
}

Result<XattrSupport> ProbeXattrs(const std::string& dir) {
  std::string path = dir + "/.ocibuild-xattr-probe-" + std::to_string(::getpid());
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return SysError("open", path);
  XattrSupport out;
  auto attempt = [&](const char* name) {
    if (::fsetxattr(fd.get(), name, "1", 1, 0) == 0) return ProbeOutcome{true, 0, ""};
    return Refused(errno, std::string("setxattr ") + name);
  };
  out.user = attempt("user.ocibuild.probe");
  out.security = attempt("security.ocibuild.probe");
  ::unlink(path.c_str());
  return out;
}

}  // namespace ocibuild::sys
