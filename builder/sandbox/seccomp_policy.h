// The seccomp-bpf filter of the ptrace sandbox: which syscalls run at full speed, which stop in
// the tracer, which fail. Built once in the supervisor (libseccomp allocates), installed in the
// child with util/sys/seccomp.h (one raw syscall, no allocation after fork).
#pragma once

#include <linux/filter.h>

#include <vector>

#include "util/result.h"

namespace ocibuild::sandbox {

enum class Verdict { kAllow, kTrace, kErrno };

struct SyscallPolicy {
  Verdict verdict = Verdict::kTrace;
  int err = 0;  // for kErrno; 0 makes the syscall a no-op that returns 0 (fsync & co.)
};

// The policy for a native x86_64 syscall number. Unknown numbers are traced, so the tracer can
// refuse them with ENOSYS and name them; nothing unknown reaches the host unexamined.
SyscallPolicy PolicyFor(long nr);

// Compiles PolicyFor() over every syscall number into a classic BPF program. Foreign
// architectures (i386 via int 0x80, x32) get ENOSYS. Without network, socket() is traced too.
Result<std::vector<sock_filter>> BuildFilter(bool network = true);

}  // namespace ocibuild::sandbox
