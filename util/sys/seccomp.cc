#include "util/sys/seccomp.h"

#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ocibuild::sys {

int InstallSeccompFilter(const std::vector<sock_filter>& prog) {
  struct sock_fprog fprog;
  fprog.len = static_cast<unsigned short>(prog.size());
  fprog.filter = const_cast<sock_filter*>(prog.data());
  if (::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) != 0) return -errno;
  return 0;
}

}  // namespace ocibuild::sys
