// seccomp(2): installing a classic BPF filter. Building the filter (which syscalls do what) is
// the caller's policy; this is only the raw call.
#pragma once

#include <linux/filter.h>

#include <vector>

namespace ocibuild::sys {

// Installs `prog` for the calling thread (SECCOMP_SET_MODE_FILTER); needs PR_SET_NO_NEW_PRIVS
// or CAP_SYS_ADMIN. Returns 0 or -errno; no allocation, so it is safe between fork and exec.
int InstallSeccompFilter(const std::vector<sock_filter>& prog);

}  // namespace ocibuild::sys
