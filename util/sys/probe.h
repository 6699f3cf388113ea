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

// What the RUN sandbox's supervisor needs from seccomp user notification: a child installs a
// filter with a listener (getppid and openat notified) and hands it over on a socket; the probe
// answers a getppid and installs a descriptor for an openat (SECCOMP_IOCTL_NOTIF_ADDFD with
// SEND). Also whether the listener's waits can be made killable and whether process_vm_readv
// is allowed (else /proc/<pid>/mem is used).
struct NotifyProbe {
  ProbeOutcome notify;      // listener + answer
  ProbeOutcome addfd;       // descriptor installed and answered atomically
  bool killable = false;    // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (5.19)
  bool process_vm = false;  // process_vm_readv on a child
};
NotifyProbe ProbeSeccompNotify();

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
