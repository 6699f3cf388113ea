#include "util/sys/process_mem.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "util/fd.h"

namespace ocibuild::sys {
namespace {

// Whether process_vm_readv/writev are allowed here. Container runtimes' default seccomp profiles
// refuse them without CAP_SYS_PTRACE; /proc/<pid>/mem (same ptrace access rules, no seccomp
// filter on open/pread) then does the same job. Learnt once per process.
std::atomic<bool> g_use_proc_mem{false};

int Errno(ssize_t n, size_t want) {
  if (n == static_cast<ssize_t>(want)) return 0;
  if (n >= 0) return -EFAULT;  // a partial transfer stops at the first inaccessible page
  return errno == ESRCH || errno == EPERM || errno == ENOMEM ? -errno : -EFAULT;
}

int ProcMem(pid_t pid, uint64_t addr, void* buf, size_t len, bool write) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/mem", pid);
  UniqueFd fd(::open(path, (write ? O_WRONLY : O_RDONLY) | O_CLOEXEC));
  if (!fd) return errno == ENOENT ? -ESRCH : -errno;
  size_t done = 0;
  while (done < len) {
    ssize_t n = write ? ::pwrite(fd.get(), static_cast<const char*>(buf) + done, len - done,
                                 static_cast<off_t>(addr + done))
                      : ::pread(fd.get(), static_cast<char*>(buf) + done, len - done,
                                static_cast<off_t>(addr + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -EFAULT;
    done += static_cast<size_t>(n);
  }
  return 0;
}

bool Refused(ssize_t n) {
  return n < 0 && (errno == EPERM || errno == ENOSYS);
}

}  // namespace

int ReadProcessMem(pid_t pid, uint64_t addr, void* buf, size_t len) {
  if (len == 0) return 0;
  if (!g_use_proc_mem.load(std::memory_order_relaxed)) {
    struct iovec local = {buf, len};
    struct iovec remote = {reinterpret_cast<void*>(addr), len};
    ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (!Refused(n)) return Errno(n, len);
    g_use_proc_mem.store(true);
  }
  return ProcMem(pid, addr, buf, len, false);
}

int WriteProcessMem(pid_t pid, uint64_t addr, const void* buf, size_t len) {
  if (len == 0) return 0;
  if (!g_use_proc_mem.load(std::memory_order_relaxed)) {
    struct iovec local = {const_cast<void*>(buf), len};
    struct iovec remote = {reinterpret_cast<void*>(addr), len};
    ssize_t n = ::process_vm_writev(pid, &local, 1, &remote, 1, 0);
    if (!Refused(n)) return Errno(n, len);
    g_use_proc_mem.store(true);
  }
  return ProcMem(pid, addr, const_cast<void*>(buf), len, true);
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
