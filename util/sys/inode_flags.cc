#include "util/sys/inode_flags.h"

#include <linux/fs.h>
#include <sys/ioctl.h>

#include <cerrno>

namespace ocibuild::sys {
namespace {

// The kernel reads and writes an int here, whatever the ioctl's declared type says.
int GetFlags(int fd, int* flags) {
  return ::ioctl(fd, FS_IOC_GETFLAGS, flags) == 0 ? 0 : -errno;
}

}  // namespace

int SetTopDir(int dir_fd) {
  int flags = 0;
  if (int r = GetFlags(dir_fd, &flags); r != 0) return r;
  if (flags & FS_TOPDIR_FL) return 0;
  flags |= FS_TOPDIR_FL;
  return ::ioctl(dir_fd, FS_IOC_SETFLAGS, &flags) == 0 ? 0 : -errno;
}

int HasTopDir(int dir_fd) {
  int flags = 0;
  if (int r = GetFlags(dir_fd, &flags); r != 0) return r;
  return (flags & FS_TOPDIR_FL) ? 1 : 0;
}

}  // namespace ocibuild::sys
