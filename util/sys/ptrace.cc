#include "util/sys/ptrace.h"

#include <sys/ptrace.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace ocibuild::sys {

long TraceOptions() {
  // SECCOMP: the filter decides which syscalls stop. SYSGOOD: syscall-exit stops are told apart
  // from signals. FORK/VFORK/CLONE: every process and thread of the step is followed. EXEC: the
  // tracer learns about new images (and the pid change of a non-leader exec). EXITKILL: if the
  // tracer dies, nothing keeps running untraced against the host root.
  return PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
         PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
}

Status Seize(pid_t pid) {
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, TraceOptions()) != 0) {
    int err = errno;
    std::string hint;
    if (err == EPERM || err == ENOSYS)
      hint =
          " (ptrace is blocked here: the container's seccomp profile, AppArmor/SELinux or "
          "kernel.yama.ptrace_scope forbids it; the ptrace sandbox cannot run RUN steps)";
    return Error{
        "ptrace(PTRACE_SEIZE) pid " + std::to_string(pid) + ": " + std::strerror(err) + hint, err};
  }
  return Ok();
}

Status Cont(pid_t pid, int sig) {
  if (::ptrace(PTRACE_CONT, pid, nullptr, sig) != 0)
    return SysError("ptrace(PTRACE_CONT)", std::to_string(pid));
  return Ok();
}

Status ContToSyscallExit(pid_t pid, int sig) {
  if (::ptrace(PTRACE_SYSCALL, pid, nullptr, sig) != 0)
    return SysError("ptrace(PTRACE_SYSCALL)", std::to_string(pid));
  return Ok();
}

Status Listen(pid_t pid) {
  if (::ptrace(PTRACE_LISTEN, pid, nullptr, nullptr) != 0)
    return SysError("ptrace(PTRACE_LISTEN)", std::to_string(pid));
  return Ok();
}

Status GetRegs(pid_t pid, Regs* regs) {
  if (::ptrace(PTRACE_GETREGS, pid, nullptr, regs) != 0)
    return SysError("ptrace(PTRACE_GETREGS)", std::to_string(pid));
  return Ok();
}

Status SetRegs(pid_t pid, const Regs& regs) {
  if (::ptrace(PTRACE_SETREGS, pid, nullptr, &regs) != 0)
    return SysError("ptrace(PTRACE_SETREGS)", std::to_string(pid));
  return Ok();
}

Result<unsigned long> GetEventMsg(pid_t pid) {
  unsigned long msg = 0;
  if (::ptrace(PTRACE_GETEVENTMSG, pid, nullptr, &msg) != 0)
    return SysError("ptrace(PTRACE_GETEVENTMSG)", std::to_string(pid));
  return msg;
}

namespace {

Status PeekRead(pid_t pid, uint64_t addr, void* buf, size_t len) {
  auto* out = static_cast<unsigned char*>(buf);
  uint64_t aligned = addr & ~uint64_t{7};
  size_t skip = addr - aligned;
  while (len > 0) {
    errno = 0;
    long word = ::ptrace(PTRACE_PEEKDATA, pid, aligned, nullptr);
    if (errno != 0) return SysError("ptrace(PTRACE_PEEKDATA)", std::to_string(pid));
    size_t n = std::min(len, sizeof word - skip);
    std::memcpy(out, reinterpret_cast<unsigned char*>(&word) + skip, n);
    out += n;
    len -= n;
    aligned += sizeof word;
    skip = 0;
  }
  return Ok();
}

Status PokeWrite(pid_t pid, uint64_t addr, const void* buf, size_t len) {
  const auto* in = static_cast<const unsigned char*>(buf);
  uint64_t aligned = addr & ~uint64_t{7};
  size_t skip = addr - aligned;
  while (len > 0) {
    long word = 0;
    size_t n = std::min(len, sizeof word - skip);
    if (skip != 0 || n != sizeof word) {
      errno = 0;
      word = ::ptrace(PTRACE_PEEKDATA, pid, aligned, nullptr);
      if (errno != 0) return SysError("ptrace(PTRACE_PEEKDATA)", std::to_string(pid));
    }
    std::memcpy(reinterpret_cast<unsigned char*>(&word) + skip, in, n);
    if (::ptrace(PTRACE_POKEDATA, pid, aligned, word) != 0)
      return SysError("ptrace(PTRACE_POKEDATA)", std::to_string(pid));
    in += n;
    len -= n;
    aligned += sizeof word;
    skip = 0;
  }
  return Ok();
}

}  // namespace

Status ReadMem(pid_t pid, uint64_t addr, void* buf, size_t len) {
  if (len == 0) return Ok();
  struct iovec local {
    buf, len
  };
  struct iovec remote {
    reinterpret_cast<void*>(addr), len
  };
  ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(len)) return Ok();
  if (n < 0 && errno != ENOSYS && errno != EPERM)
    return SysError("process_vm_readv", std::to_string(pid));
  return PeekRead(pid, addr, buf, len);
}

Status WriteMem(pid_t pid, uint64_t addr, const void* buf, size_t len) {
  if (len == 0) return Ok();
  struct iovec local {
    const_cast<void*>(buf), len
  };
  struct iovec remote {
    reinterpret_cast<void*>(addr), len
  };
  ssize_t n = ::process_vm_writev(pid, &local, 1, &remote, 1, 0);
  if (n == static_cast<ssize_t>(len)) return Ok();
  // process_vm_writev honours page protections; POKEDATA (like a debugger) does not, and works
  // where process_vm_* is filtered.
  return PokeWrite(pid, addr, buf, len);
}

Status ReadString(pid_t pid, uint64_t addr, std::string* out, size_t max) {
  out->clear();
  if (addr == 0) return Error{"NULL path", EFAULT};
  char chunk[256];
  while (out->size() < max) {
    // Never read across a page boundary in one go: the next page may be unmapped.
    size_t to_page = 4096 - (addr & 4095);
    size_t n = std::min(sizeof chunk, to_page);
    struct iovec local {
      chunk, n
    };
    struct iovec remote {
      reinterpret_cast<void*>(addr), n
    };
    ssize_t got = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (got <= 0) {
      OCIB_TRY(PeekRead(pid, addr, chunk, std::min<size_t>(n, 8 - (addr & 7))));
      got = static_cast<ssize_t>(std::min<size_t>(n, 8 - (addr & 7)));
    }
    void* nul = std::memchr(chunk, 0, static_cast<size_t>(got));
    if (nul) {
      out->append(chunk, static_cast<const char*>(nul) - chunk);
      return Ok();
    }
    out->append(chunk, static_cast<size_t>(got));
    addr += static_cast<uint64_t>(got);
  }
  return Error{"path too long", ENAMETOOLONG};
}

}  // namespace ocibuild::sys
