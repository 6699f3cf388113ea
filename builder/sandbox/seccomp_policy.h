// The seccomp-bpf filter of the sandbox: which syscalls run at full speed, which the supervisor
// performs (user notification), which stop in the tracer (exec), which fail. Built once in the
// supervisor (libseccomp allocates), installed in the child with util/sys/seccomp.h (one raw
// syscall, no allocation after fork).
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "util/result.h"

namespace ocibuild::sandbox {

enum class Verdict {
  kAllow,   // runs at full speed
  kNotify,  // the supervisor answers it (every path, identity and other-process call)
  kTrace,   // the tracer runs it (execve, execveat; calls on the guest's sockets and others)
  kErrno,   // refused
  kSome,    // allowed for some arguments (pid 0 = self, no address, ...), notified otherwise
};

struct SyscallPolicy {
  Verdict verdict = Verdict::kNotify;
  int err = 0;  // for kErrno; 0 makes the syscall a no-op that returns 0 (fsync & co.)
};

// The policy for a native x86_64 syscall number. Unknown numbers are notified, so the supervisor
// can refuse them with ENOSYS and name them; nothing unknown reaches the host unexamined.
SyscallPolicy PolicyFor(long nr);

// ioctls that change a file's attribute flags (chattr: FS_IOC_SETFLAGS and its 32-bit spelling,
// FS_IOC_FSSETXATTR, FS_IOC_SETVERSION): they move a ctime without an inotify event, so the
// filter sends them to the supervisor, which notes them and lets them run.
bool IsFileAttrIoctl(uint32_t request);

struct FilterOptions {
  bool network = true;    // false: socket() only for AF_UNIX and AF_NETLINK
  bool getdents = false;  // trace getdents (the store holds device nodes: d_type is faked)
  // The step's end of the descriptor channel (see tracer.h): sendmsg on it is let through (the
  // tracer's injected hand-overs), close() of it is a no-op, close_range() over it is cut short.
  int channel_fd = -1;
};

// Compiles PolicyFor() and the argument rules into a classic BPF program. Foreign architectures
// (i386 via int 0x80, x32) get ENOSYS.
Result<std::vector<sock_filter>> BuildFilter(const FilterOptions& opts = {});

// What a filter of BuildFilter's answers for a call (the kernel's full return value: action and
// data), as the kernel's own interpreter would; nullopt for an instruction BuildFilter never
// emits, or a program that runs off its end.
std::optional<uint32_t> RunFilter(const std::vector<sock_filter>& prog, const seccomp_data& call);

}  // namespace ocibuild::sandbox
