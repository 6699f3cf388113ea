// The only place ocibuild talks ptrace to the kernel. Everything above this file sees a stopped
// tracee as registers (its memory: util/sys/process_mem.h).
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "util/result.h"

namespace ocibuild::sys {

#if !defined(__x86_64__)
#error "the ptrace sandbox currently supports x86_64 only"
#endif

using Regs = struct user_regs_struct;

// Options every tracee gets: see the comment in the .cc for why each is needed.
long TraceOptions();

// Seizes a child that is blocked waiting for us; fails with a clear message when ptrace itself is
// forbidden (seccomp profile without ptrace, Yama scope 3, ...).
Status Seize(pid_t pid);
Status Cont(pid_t pid, int sig);
// Continues and asks for a stop at the exit of the current syscall.
Status ContToSyscallExit(pid_t pid, int sig);
Status Listen(pid_t pid);
Status GetRegs(pid_t pid, Regs* regs);
Status SetRegs(pid_t pid, const Regs& regs);
Result<unsigned long> GetEventMsg(pid_t pid);

// Accessors for the x86_64 syscall ABI.
inline uint64_t SyscallNr(const Regs& r) {
  return r.orig_rax;
}
inline uint64_t Arg(const Regs& r, int i) {
  switch (i) {
    case 0:
      return r.rdi;
    case 1:
      return r.rsi;
    case 2:
      return r.rdx;
    case 3:
      return r.r10;
    case 4:
      return r.r8;
    default:
      return r.r9;
  }
}
inline void SetArg(Regs* r, int i, uint64_t v) {
  switch (i) {
    case 0:
      r->rdi = v;
      break;
    case 1:
      r->rsi = v;
      break;
    case 2:
      r->rdx = v;
      break;
    case 3:
      r->r10 = v;
      break;
    case 4:
      r->r8 = v;
      break;
    default:
      r->r9 = v;
      break;
  }
}
// The six argument registers of `from` into `r` (undoes what a call's rewrite changed).
inline void CopyArgs(Regs* r, const Regs& from) {
  r->rdi = from.rdi;
  r->rsi = from.rsi;
  r->rdx = from.rdx;
  r->r10 = from.r10;
  r->r8 = from.r8;
  r->r9 = from.r9;
}
inline int64_t RetVal(const Regs& r) {
  return static_cast<int64_t>(r.rax);
}
inline void SetRetVal(Regs* r, int64_t v) {
  r->rax = static_cast<uint64_t>(v);
}
// At a seccomp stop: make the kernel skip the syscall; it then returns whatever rax holds.
inline void SkipSyscall(Regs* r, int64_t ret) {
  r->orig_rax = static_cast<uint64_t>(-1);
  r->rax = static_cast<uint64_t>(ret);
}
inline uint64_t StackPointer(const Regs& r) {
  return r.rsp;
}

}  // namespace ocibuild::sys
