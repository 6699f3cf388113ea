// What the kernel and the container runtime allow this process, for `ocibuild doctor`. Each
// process-level probe runs in a forked child, so the filter, namespace or tracer it sets up
// never sticks to the caller. Nothing here needs privileges; a refusal is a result, not an error.
#pragma once

#include <cstdint>
#include <string>

#include "util/result.h"

namespace ocibuild::sys {

struct ProbeOutcome {
  bool ok = false;
  int err = 0;         // errno of the refused call
  std::string detail;  // which call was refused, in words
};

// PTRACE_SEIZE of a stopped child, resumed until it exits. With `seccomp_trace`, the child first
// installs a filter returning SECCOMP_RET_TRACE for getppid and the tracer must see that stop:
// exactly what the RUN sandbox needs.
ProbeOutcome ProbePtrace(bool seccomp_trace);

// prctl(PR_SET_NO_NEW_PRIVS) and an allow-all seccomp filter.
ProbeOutcome ProbeSeccompFilter();

// unshare(CLONE_NEWUSER).
ProbeOutcome ProbeUserNamespace();

struct FsInfo {
  std::string type;         // "ext4", "overlay", "tmpfs", ... or "0x<magic>"
  uint64_t free_bytes = 0;  // available to unprivileged users
  uint64_t total_bytes = 0;
  uint64_t free_inodes = 0;  // 0 with total_inodes 0: the filesystem has no inode limit
  uint64_t total_inodes = 0;
  uint64_t dev = 0;  // st_dev, to tell whether two paths share a filesystem
};

// statfs + statvfs + stat of `path` (which must exist).
Result<FsInfo> FilesystemInfo(const std::string& path);

// Whether a file in `dir` can carry a `user.*` and a `security.*` extended attribute (tried on a
// temporary file that is removed again).
struct XattrSupport {
  ProbeOutcome user;
  ProbeOutcome security;
};
Result<XattrSupport> ProbeXattrs(const std::string& dir);

}  // namespace ocibuild::sys
