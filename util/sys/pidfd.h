// pidfds (Linux 5.3+/5.6+): a process referred to by a descriptor, never by a number that the
// kernel may hand to another process once this one is reaped.
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace ocibuild::sys {

// Each returns the fd / 0, or -errno.
int PidfdOpen(pid_t pid, unsigned flags = 0);
// A duplicate of descriptor `targetfd` of the process behind `pidfd` (needs ptrace access).
int PidfdGetfd(int pidfd, int targetfd);
int PidfdSendSignal(int pidfd, int sig, siginfo_t* info = nullptr);

}  // namespace ocibuild::sys
