#include "util/sys/seccomp.h"

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <map>
#include <mutex>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

namespace ocibuild::sys {

int InstallSeccompFilter(const std::vector<sock_filter>& prog) {
  struct sock_fprog fprog;
  fprog.len = static_cast<unsigned short>(prog.size());
  fprog.filter = const_cast<sock_filter*>(prog.data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) return -errno;
  return 0;
}

int InstallSeccompFilterWithListener(const sock_filter* prog, unsigned short len,
                                     unsigned long extra_flags) {
  struct sock_fprog fprog;
  fprog.len = len;
  fprog.filter = const_cast<sock_filter*>(prog);
  long fd = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                      SECCOMP_FILTER_FLAG_NEW_LISTENER | extra_flags, &fprog);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

bool SeccompFlagSupported(unsigned long flag) {
  static std::mutex mu;
  static std::map<unsigned long, bool> known;
  std::lock_guard<std::mutex> lock(mu);
  auto it = known.find(flag);
  if (it != known.end()) return it->second;
  bool ok = false;
  pid_t child = ::fork();
  if (child == 0) {
    struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog fprog = {1, &allow};
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    // Listener flags (WAIT_KILLABLE_RECV) are only accepted together with NEW_LISTENER.
    unsigned long with = flag == SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
                             ? flag | SECCOMP_FILTER_FLAG_NEW_LISTENER
                             : flag;
    long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, with, &fprog);
    ::_exit(rc < 0 ? 1 : 0);
  }
  if (child > 0) {
    int st = 0;
    while (::waitpid(child, &st, 0) < 0 && errno == EINTR) {
    }
    ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  known[flag] = ok;
  return ok;
}

int NotifRecv(int listener, seccomp_notif* req) {
  *req = {};
  return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) == 0 ? 0 : -errno;
}

int NotifSend(int listener, const seccomp_notif_resp& resp) {
  return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0 ? 0 : -errno;
}

int NotifIdValid(int listener, uint64_t id) {
  return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 ? 0 : -errno;
}

int NotifAddFd(int listener, uint64_t id, int srcfd, uint32_t newfd_flags, bool send) {
  struct seccomp_notif_addfd addfd = {};
  addfd.id = id;
  addfd.flags = send ? SECCOMP_ADDFD_FLAG_SEND : 0;
  addfd.srcfd = static_cast<uint32_t>(srcfd);
  addfd.newfd_flags = newfd_flags;
  int rc = ::ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
  return rc < 0 ? -errno : rc;
}

int NotifSetSyncWakeUp(int listener) {
  return ::ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0
             ? 0
             : -errno;
}

bool NotifPending(int listener) {
  struct pollfd p = {listener, POLLIN, 0};
  return ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
}

}  // namespace ocibuild::sys
