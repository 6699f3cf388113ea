// seccomp(2): installing a classic BPF filter, and the user-notification listener that lets a
// supervisor answer a filtered process's syscalls. Building the filter (which syscalls do what)
// is the caller's policy; this is only the raw calls.
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstdint>
#include <vector>

namespace ocibuild::sys {

// Installs `prog` for the calling thread (SECCOMP_SET_MODE_FILTER); needs PR_SET_NO_NEW_PRIVS
// or CAP_SYS_ADMIN. Returns 0 or -errno; no allocation, so it is safe between fork and exec.
int InstallSeccompFilter(const std::vector<sock_filter>& prog);

// The same with SECCOMP_FILTER_FLAG_NEW_LISTENER (plus `extra_flags`): returns the listener fd
// (close-on-exec, as the kernel makes it) or -errno. Safe between fork and exec.
int InstallSeccompFilterWithListener(const sock_filter* prog, unsigned short len,
                                     unsigned long extra_flags);

// Whether this kernel accepts a filter flag (probed with a filter that allows everything, in
// a forked child, so the caller is never filtered). Cached per flag.
bool SeccompFlagSupported(unsigned long flag);

// The listener's ioctls. Each returns 0 (or the fd for AddFd) or -errno.
int NotifRecv(int listener, seccomp_notif* req);
int NotifSend(int listener, const seccomp_notif_resp& resp);
// 0 while the notification `id` is still pending (its task alive and still in that syscall).
int NotifIdValid(int listener, uint64_t id);
// Installs our `srcfd` into the notifying task (flags: O_CLOEXEC or 0). With `send`, the fd
// number becomes the syscall's return value atomically (SECCOMP_ADDFD_FLAG_SEND, Linux 5.14).
int NotifAddFd(int listener, uint64_t id, int srcfd, uint32_t newfd_flags, bool send);
// Asks the kernel to wake the supervisor thread on the notifying task's CPU (Linux 6.6): one
// CPU hand-off instead of a cross-CPU wake-up per notification.
int NotifSetSyncWakeUp(int listener);
// True when a notification is waiting that no thread has received yet (a poll that never blocks).
bool NotifPending(int listener);

}  // namespace ocibuild::sys
