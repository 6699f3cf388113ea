// Another process's memory, from any thread of a supervisor (ptrace's PEEK/POKE only work from
// the tracing thread): process_vm_readv/writev, or /proc/<pid>/mem where a seccomp profile
// refuses those (Docker's and containerd's defaults without CAP_SYS_PTRACE).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace ocibuild::sys {

// 0 or -EFAULT (any byte unreadable/unwritable), -ESRCH (gone), -EPERM.
int ReadProcessMem(pid_t pid, uint64_t addr, void* buf, size_t len);
int WriteProcessMem(pid_t pid, uint64_t addr, const void* buf, size_t len);
// A NUL-terminated string of at most `max` bytes (without the NUL) into *out: 0, -EFAULT or
// -ENAMETOOLONG. Reads page by page so a string ending just before an unmapped page works.
int ReadProcessString(pid_t pid, uint64_t addr, std::string* out, size_t max);

}  // namespace ocibuild::sys
