// openat2(2) with RESOLVE_IN_ROOT, and an equivalent userspace component walk for kernels or
// seccomp profiles that refuse openat2 (older Docker default profiles answer EPERM or ENOSYS).
//
// Both treat `rootfd` as "/": absolute paths, ".." and symlink targets (absolute or relative)
// resolve beneath it, so a path can never name anything outside the root.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

namespace ocibuild::sys {

// The raw call: returns an fd, or -1 with errno set (ENOSYS when the kernel lacks openat2).
int Openat2(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve);

// True when openat2(RESOLVE_IN_ROOT) works here; false on ENOSYS/EPERM (seccomp) or E2BIG.
bool Openat2Usable(int some_dirfd);

enum class InRootMethod { kOpenat2, kWalk };

// Opens `path` beneath `rootfd` as if `rootfd` were "/". `flags` are open(2) flags; O_NOFOLLOW
// applies to the final component only, as with open(2). Magic links (/proc/self/fd/N inside the
// root) are never followed. Errors name `path` and the failing call.
Result<UniqueFd> OpenInRoot(int rootfd, std::string_view path, int flags, mode_t mode,
                            InRootMethod method);

}  // namespace ocibuild::sys
