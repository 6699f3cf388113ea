// sched_{get,set}affinity(2) with the kernel's view of the mask: its byte length is the kernel's
// cpumask size (glibc's wrapper hides the size the kernel returns).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ocibuild::sys {

// Fills `mask` (of `len` bytes) for thread `tid` (0: the caller). Returns the number of bytes the
// kernel wrote, or -errno (EINVAL when `len` is too short or not a multiple of 8).
long GetAffinity(pid_t tid, void* mask, size_t len);
// The caller's mask, exactly the kernel's length; empty on failure.
std::vector<uint8_t> GetOwnAffinity();
// Returns 0 or -errno.
int SetAffinity(pid_t tid, const void* mask, size_t len);

}  // namespace ocibuild::sys
