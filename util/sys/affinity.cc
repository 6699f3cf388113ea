#include "util/sys/affinity.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ocibuild::sys {

long GetAffinity(pid_t tid, void* mask, size_t len) {
  long n = ::syscall(SYS_sched_getaffinity, tid, len, mask);
  return n < 0 ? -errno : n;
}

std::vector<uint8_t> GetOwnAffinity() {
  // Large enough for any kernel's CONFIG_NR_CPUS (8192).
  std::vector<uint8_t> mask(1024);
  long n = GetAffinity(0, mask.data(), mask.size());
  if (n <= 0) return {};
  mask.resize(static_cast<size_t>(n));
  return mask;
}

int SetAffinity(pid_t tid, const void* mask, size_t len) {
  return ::syscall(SYS_sched_setaffinity, tid, len, mask) == 0 ? 0 : -errno;
}

}  // namespace ocibuild::sys
