#include "util/sys/ptrace.h"

#include <sys/ptrace.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace ocibuild::sys {

long TraceOptions() {
  // SECCOMP: the filter decides which syscalls stop. SYSGOOD: syscall-exit stops are told apart
  // from signals. FORK/VFORK/CLONE: every process and thread of the step is followed (and
  // VFORKDONE: when a vfork parent may run again in the address space it shares). EXEC: the
  // tracer learns about new images (and the pid change of a non-leader exec). EXITKILL: if the
  // tracer dies, nothing of the step keeps running.
  return PTRACE_O_TRACESECCOMP | PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK |
         PTRACE_O_TRACEVFORKDONE | PTRACE_O_TRACECLONE | PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
}

Status Seize(pid_t pid) {
  if (::ptrace(PTRACE_SEIZE, pid, nullptr, TraceOptions()) != 0) {
    int err = errno;
    std::string hint;
    if (err == EPERM || err == ENOSYS)
      hint =
          " (ptrace is blocked here: the container's seccomp profile, AppArmor/SELinux or "
          "kernel.yama.ptrace_scope forbids it; the sandbox cannot run RUN steps)";
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

}  // namespace ocibuild::sys
