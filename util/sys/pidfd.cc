#include "util/sys/pidfd.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ocibuild::sys {

int PidfdOpen(pid_t pid, unsigned flags) {
  long fd = ::syscall(SYS_pidfd_open, pid, flags);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

int PidfdGetfd(int pidfd, int targetfd) {
  long fd = ::syscall(SYS_pidfd_getfd, pidfd, targetfd, 0);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

int PidfdSendSignal(int pidfd, int sig, siginfo_t* info) {
  return ::syscall(SYS_pidfd_send_signal, pidfd, sig, info, 0) == 0 ? 0 : -errno;
}

}  // namespace ocibuild::sys
