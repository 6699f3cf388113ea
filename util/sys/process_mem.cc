#include "util/sys/process_mem.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ocibuild::sys {
namespace {

int Errno(ssize_t n, size_t want) {
  if (n == static_cast<ssize_t>(want)) return 0;
  if (n >= 0) return -EFAULT;  // a partial transfer stops at the first inaccessible page
  return errno == ESRCH || errno == EPERM || errno == ENOMEM ? -errno : -EFAULT;
}

}  // namespace

int ReadProcessMem(pid_t pid, uint64_t addr, void* buf, size_t len) {
  if (len == 0) return 0;
  struct iovec local = {buf, len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  return Errno(::process_vm_readv(pid, &local, 1, &remote, 1, 0), len);
}

int WriteProcessMem(pid_t pid, uint64_t addr, const void* buf, size_t len) {
  if (len == 0) return 0;
  struct iovec local = {const_cast<void*>(buf), len};
  struct iovec remote = {reinterpret_cast<void*>(addr), len};
  return Errno(::process_vm_writev(pid, &local, 1, &remote, 1, 0), len);
}

int ReadProcessString(pid_t pid, uint64_t addr, std::string* out, size_t max) {
  out->clear();
  if (addr == 0) return -EFAULT;
  char chunk[512];
  while (out->size() <= max) {
    size_t n = std::min(sizeof chunk, static_cast<size_t>(4096 - (addr & 4095)));
    if (int rc = ReadProcessMem(pid, addr, chunk, n); rc != 0) return rc;
    const void* nul = std::memchr(chunk, 0, n);
    if (nul) {
      out->append(chunk, static_cast<const char*>(nul) - chunk);
      return out->size() > max ? -ENAMETOOLONG : 0;
    }
    out->append(chunk, n);
    addr += n;
  }
  return -ENAMETOOLONG;
}

}  // namespace ocibuild::sys
