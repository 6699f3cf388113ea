#include "builder/sandbox/tracer.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include <unistd.h>
#include <cerrno>
#include <cstring>
#include <string>

#include "util/fd.h"

namespace ocibuild::sandbox {

namespace {

void RestoreArgs(sys::Regs* r, const sys::Regs& entry) {
  r->rdi = entry.rdi;
  r->rsi = entry.rsi;
  r->rdx = entry.rdx;
  r->r10 = entry.r10;
  r->r8 = entry.r8;
  r->r9 = entry.r9;
}

// Syscalls after which a path that named a directory may name something else.
bool MayMoveDirectories(uint64_t nr) {
  return nr == SYS_rename || nr == SYS_renameat || nr == SYS_renameat2 || nr == SYS_rmdir ||
         nr == SYS_unlinkat;
}

}  // namespace

Tracee* Tracer::Find(pid_t tid) {
  auto it = tracees_.find(tid);
  return it == tracees_.end() ? nullptr : &it->second;
}

Result<int> Tracer::Run(pid_t main, FakeCreds creds, const std::string& exe) {
  Tracee& first = tracees_[main];
  first.tid = main;
  first.creds = std::move(creds);
  first.exe = exe;
  struct stat root_st;
  if (::stat(resolver_.rootfs().c_str(), &root_st) == 0) {
    root_ino_ = root_st.st_ino;
    root_dev_ = root_st.st_dev;
  }
  for (const auto& [ino, m] : store_->entries())
    if (S_ISCHR(m.mode) || S_ISBLK(m.mode)) has_devices_ = true;
  int main_status = -1;
  bool main_done = false;
  packing_ = CpuPacking::Create(opts_.pack_cpus);
  packing_.Start(main, opts_.cpu_hint);
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, __WALL);
    if (packing_.active()) {
      timespec now;
      ::clock_gettime(CLOCK_MONOTONIC, &now);
      uint64_t ns = static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
      if (packing_.WindowEnded(ns)) {
        for (auto& [tid, tracee] : tracees_) {
          tracee.packed =
              packing_.Rebalance(tid, tracee.packed, tracee.window_stops, tracee.cpu_mask);
          tracee.window_stops = 0;
        }
      }
    }
    if (pid < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) break;
      return SysError("waitpid", "tracees");
    }
    if (WIFEXITED(status) || WIFSIGNALED(status)) {
      tracees_.erase(pid);
      early_children_.erase(pid);
      if (pid == main) {
        main_status = status;
        main_done = true;
        // The step is over when its command is: leftovers (daemons started by postinst
        // scripts, ...) die with it, as in a container whose PID 1 exited.
        for (auto& [tid, _] : tracees_) ::kill(tid, SIGKILL);
        for (pid_t p : early_children_) ::kill(p, SIGKILL);
      }
      continue;
    }
    if (!WIFSTOPPED(status)) continue;
    Tracee* t = Find(pid);
    if (!t) {
      if (main_done) {
        ::kill(pid, SIGKILL);
        continue;
      }
      // A new child reported before its parent's fork event: it waits until we know its parent.
      early_children_.insert(pid);
      continue;
    }
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (main_done) {
      ::kill(pid, SIGKILL);
      (void)sys::Cont(pid, 0);
      continue;
    }
    switch (event) {
      case PTRACE_EVENT_SECCOMP:
        OnSeccomp(*t);
        break;
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK:
      case PTRACE_EVENT_CLONE: {
        auto child = sys::GetEventMsg(pid);
        if (child.ok()) OnNewChild(*t, static_cast<pid_t>(*child));
        (void)sys::Cont(pid, 0);
        break;
      }
      case PTRACE_EVENT_EXEC:
        OnExec(pid);
        break;
      case PTRACE_EVENT_STOP:
        if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
          (void)sys::Listen(pid);  // group-stop: stay stopped until SIGCONT
        } else {
          (void)sys::Cont(pid, 0);
        }
        break;
      case 0:
        if (sig == (SIGTRAP | 0x80)) {
          OnSyscallExit(*t);
        } else {
          (void)sys::Cont(pid, sig);  // signal-delivery stop: deliver it
        }
        break;
      default:
        (void)sys::Cont(pid, 0);
        break;
    }
  }
  if (!main_done) return Error{"tracer lost the main process", ECHILD};
  return main_status;
}

void Tracer::OnNewChild(Tracee& parent, pid_t child) {
  Tracee& c = tracees_[child];
  // `parent` may have moved if the map rehashed; look it up again.
  Tracee* p = Find(parent.tid);
  c.tid = child;
  if (p) {
    c.creds = p->creds;
    c.exe = p->exe;
    c.cpu_mask = p->cpu_mask;
    c.packed = p->packed;
  }
  // It inherited its parent's affinity at fork, which may predate a change of the parent's.
  packing_.Apply(child, c.packed, c.cpu_mask);
  if (early_children_.erase(child)) (void)sys::Cont(child, 0);
}

void Tracer::OnExec(pid_t pid) {
  auto former = sys::GetEventMsg(pid);
  if (former.ok() && static_cast<pid_t>(*former) != pid) {
    // exec from a non-leader thread: it continues under the leader's pid.
    auto it = tracees_.find(static_cast<pid_t>(*former));
    if (it != tracees_.end()) {
      Tracee moved = std::move(it->second);
      tracees_.erase(it);
      moved.tid = pid;
      tracees_[pid] = std::move(moved);
    }
  }
  if (Tracee* t = Find(pid)) {
    if (!t->pending_execfn.empty()) FixExecFn(*t);
    if (!t->pending_exe.empty()) t->exe.swap(t->pending_exe);
    t->creds.OnExec();
    t->dumpable = true;
    t->pending_exe.clear();
    t->pending_execfn.clear();
    // The old image is gone: nothing to restore at the (unreported) syscall exit.
    t->restore = false;
    t->op = ExitOp::kNone;
  }
  (void)sys::Cont(pid, 0);
}

void Tracer::FixExecFn(Tracee& t) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/auxv", t.tid);
  UniqueFd fd(::open(path, O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return;
  uint64_t auxv[2 * 64];
  ssize_t n = ::read(fd.get(), auxv, sizeof auxv);
  for (ssize_t i = 0; i + 1 < n / 8; i += 2) {
    if (auxv[i] == AT_NULL) break;
    if (auxv[i] != AT_EXECFN) continue;
    // The kernel's copy of the filename we exec'd: ExecCall made it at least as long as the
    // guest's name, so the guest's fits in place (a shorter name just ends earlier).
    if (!sys::ReadString(t.tid, auxv[i + 1], &tmp_buf_, PATH_MAX).ok()) return;
    if (t.pending_execfn.size() > tmp_buf_.size()) return;
    (void)sys::WriteMem(t.tid, auxv[i + 1], t.pending_execfn.c_str(), t.pending_execfn.size() + 1);
    return;
  }
}

void Tracer::OnSeccomp(Tracee& t) {
  ++traced_;
  ++t.window_stops;
  sys::Regs r;
  if (!sys::GetRegs(t.tid, &r).ok()) return;  // killed under us
  ++per_nr_[sys::SyscallNr(r) & 511];
  t.entry = r;
  t.restore = false;
  t.op = ExitOp::kNone;
  who_ = Who::Fs(t.creds);
  checks_ = !who_.Bypasses();
  ScratchReset(r);
  Resume how = Dispatch(t, r);
  // A skipped syscall never reaches an exit stop: put back any argument we rewrote before
  // deciding to answer it ourselves.
  if (sys::SyscallNr(r) == static_cast<uint64_t>(-1)) RestoreArgs(&r, t.entry);
  bool dirty = std::memcmp(&r, &t.entry, sizeof r) != 0;
  if (dirty) {
    if (!sys::SetRegs(t.tid, r).ok()) return;
    // Argument registers are preserved across syscalls by the ABI; the tracee's compiled code
    // relies on that, so our rewrites must be undone at exit.
    if (sys::SyscallNr(r) != static_cast<uint64_t>(-1)) t.restore = true;
  }
  if (t.restore || t.op != ExitOp::kNone) {
    (void)sys::ContToSyscallExit(t.tid, 0);
  } else {
    (void)sys::Cont(t.tid, 0);
  }
  (void)how;
}

void Tracer::OnSyscallExit(Tracee& t) {
  ++exit_stops_;
  ++t.window_stops;
  sys::Regs r;
  if (!sys::GetRegs(t.tid, &r).ok()) return;
  bool dirty = false;
  if (t.restore) {
    RestoreArgs(&r, t.entry);
    dirty = true;
  }
  // Done by the kernel between the two stops (renames and rmdirs inside the rootfs the tracer
  // does itself, and clears the cache there).
  if (MayMoveDirectories(sys::SyscallNr(t.entry)) && sys::RetVal(r) == 0) dirs_.Clear();
  int64_t before = sys::RetVal(r);
  switch (t.op) {
    case ExitOp::kNone:
    case ExitOp::kRestore:
      break;
    case ExitOp::kStat:
      FinishStat(t, r);
      break;
    case ExitOp::kStatx:
      FinishStatx(t, r);
      break;
    case ExitOp::kReadlink:
      FinishReadlink(t, r);
      break;
    case ExitOp::kGetcwd:
      FinishGetcwd(t, r);
      break;
    case ExitOp::kErase:
      if (sys::RetVal(r) == 0) store_->Erase(static_cast<ino_t>(t.a0));
      break;
    case ExitOp::kRecordNew:
      FinishRecordNew(t, r);
      break;
    case ExitOp::kListXattr:
      FinishListXattr(t, r);
      break;
    case ExitOp::kExec:
      t.pending_exe.clear();
      t.pending_execfn.clear();
      break;
    case ExitOp::kDirents:
      FinishGetdents(t, r);
      break;
    case ExitOp::kSockName:
      FinishSockName(t, r);
      break;
    case ExitOp::kMsgName:
      FinishMsgName(t, r);
      break;
  }
  if (sys::RetVal(r) != before) dirty = true;
  if (dirty) (void)sys::SetRegs(t.tid, r);
  t.restore = false;
  t.op = ExitOp::kNone;
  (void)sys::Cont(t.tid, 0);
}

void Tracer::PrintHistogram() const {
  std::string out = "ocibuild sandbox: " + std::to_string(traced_) + " seccomp stops, " +
                    std::to_string(exit_stops_) + " exit stops";
  if (packing_.active())
    out += ", " + std::to_string(packing_.changes()) + " threads packed or spread";
  out += "; by syscall:";
  for (int nr = 0; nr < 512; ++nr)
    if (per_nr_[nr]) out += " " + std::to_string(nr) + ":" + std::to_string(per_nr_[nr]);
  out += "\n";
  (void)!::write(opts_.log_fd, out.data(), out.size());
}

}  // namespace ocibuild::sandbox
