#include "builder/sandbox/tracer.h"

#include <linux/audit.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "builder/sandbox/seccomp_policy.h"
#include "builder/sandbox/supervisor.h"
#include "util/sys/pidfd.h"
#include "util/sys/process_mem.h"

namespace ocibuild::sandbox {
namespace {

constexpr int kKillWaitSeconds = 10;

// SIGUSR1 is the workers' "a traced call is answered"; it stays blocked (see WakeSignals), and a
// handler only in case some thread ever unblocks it (its default action would end the process).
void OnWake(int) {}

// A task's thread group and its parent process, from /proc/<tid>/status.
bool TgidAndParent(pid_t tid, pid_t* tgid, pid_t* ppid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", tid);
  FILE* f = fopen(path, "re");
  if (!f) return false;
  char line[256];
  int found = 0;
  while (found < 2 && fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "Tgid: %d", tgid) == 1 || std::sscanf(line, "PPid: %d", ppid) == 1)
      ++found;
  }
  fclose(f);
  return found == 2;
}

}  // namespace

Tracer::Tracer(GuestFs& fs, ProcessTable& procs, TracerOptions opts)
    : fs_(fs), procs_(procs), opts_(std::move(opts)) {}

void Tracer::Resume(pid_t pid, int sig) {
  (void)sys::Cont(pid, sig);
}

void Tracer::Fail(pid_t tid, sys::Regs& r, int neg_errno) {
  sys::SkipSyscall(&r, neg_errno);
  (void)sys::SetRegs(tid, r);
  Resume(tid);
}

void Tracer::RestartUntakenCall(pid_t pid) {
  // The kernel's return codes for "restart the call": ERESTARTSYS (only with SA_RESTART, EINTR
  // otherwise) and ERESTARTNOINTR (always). Kernel-internal, so not in any uapi header.
  constexpr int64_t kErestartsys = 512;
  constexpr int64_t kErestartnointr = 513;
  sys::Regs r;
  if (!opts_.restart_untaken || opts_.filter.empty() || !sys::GetRegs(pid, &r).ok()) return;
  if (sys::RetVal(r) != -kErestartsys || static_cast<int64_t>(sys::SyscallNr(r)) < 0) return;
  // A notified call waits interruptibly until a worker takes it (after that, killably: see
  // SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV in backend.cc, which restart_untaken requires), and
  // ends in ERESTARTSYS if a signal comes first. Nothing of it has happened, so running it after
  // the handler is what the kernel's own call would look like had the signal come a moment earlier;
  // EINTR would make kill, open or stat fail where they never do (ash's SIGCHLD handler made `kill
  // -CONT` fail after `kill -STOP`, and the stopped child waited for good). A call the kernel
  // itself waited in keeps its EINTR: the filter lets it through, or the supervisor let it run
  // (CONTINUE), and none of those ends in ERESTARTSYS for a signal that is not fatal (the SysV
  // waits: EINTR, ERESTARTNOHAND; the rest wait uninterruptibly or killably).
  seccomp_data call = {};
  call.nr = static_cast<int>(sys::SyscallNr(r));
  call.arch = AUDIT_ARCH_X86_64;
  call.instruction_pointer = r.rip;
  for (int i = 0; i < 6; ++i) call.args[i] = sys::Arg(r, i);
  std::optional<uint32_t> action = RunFilter(opts_.filter, call);
  if (!action || (*action & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_USER_NOTIF) return;
  sys::SetRetVal(&r, -kErestartnointr);
  if (sys::SetRegs(pid, r).ok()) ++restarted_;
}

sigset_t Tracer::WakeSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGUSR1);
  return set;
}

void Tracer::WaitForWake(const std::optional<std::chrono::steady_clock::time_point>& deadline) {
  sigset_t set = WakeSignals();
  siginfo_t si;
  if (!deadline) {
    (void)::sigwaitinfo(&set, &si);
    return;
  }
  auto left = *deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return;
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
  timespec ts = {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  (void)::sigtimedwait(&set, &si, &ts);
}

Result<int> Tracer::Run(pid_t main) {
  self_ = ::getpid();
  tracer_tid_ = static_cast<pid_t>(::syscall(SYS_gettid));
  // The tracer sleeps in sigwaitinfo, never in a blocking waitpid: a worker's answer (SIGUSR1)
  // that came after DrainDone looked but before a blocking waitpid began would wake nothing, and
  // the task parked on that call would stay stopped for good when no other tracee had anything
  // to report (seen as tar stopped in the hand-over's sendmsg under dpkg-deb). Blocked, SIGUSR1
  // and SIGCHLD (every tracee stop and exit raises it) stay pending until sigwaitinfo takes
  // them, however early they come. Every thread of the supervisor blocks both (backend.cc blocks
  // them before any thread starts), so none can take a SIGCHLD meant for this one.
  struct sigaction wake = {};
  wake.sa_handler = OnWake;
  ::sigaction(SIGUSR1, &wake, nullptr);
  struct sigaction chld = {};
  chld.sa_handler = SIG_DFL;  // not SIG_IGN, no SA_NOCLDSTOP: stops must raise SIGCHLD
  ::sigaction(SIGCHLD, &chld, nullptr);
  sigset_t wake_set = WakeSignals();
  ::pthread_sigmask(SIG_BLOCK, &wake_set, nullptr);
  states_[main].tid = main;
  int main_status = -1;
  // Set when the main process is gone: the rest of the step gets that long to die.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  for (;;) {
    DrainDone();
    if (deadline && std::chrono::steady_clock::now() >= *deadline) break;
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, __WALL | WNOHANG);
    if (pid == 0) {
      WaitForWake(deadline);
      continue;
    }
    if (pid < 0) {
      if (errno == EINTR) continue;
      if (errno == ECHILD) break;
      return SysError("waitpid", "tracees");
    }
    if (pid == main && (WIFEXITED(status) || WIFSIGNALED(status))) {
      main_status = status;
      OnExit(pid);
      if (!main_done_) {
        main_done_ = true;
        KillAll();
        deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kKillWaitSeconds);
      }
      if (states_.empty() && early_children_.empty()) break;
      continue;
    }
    Dispatch(pid, status);
    if (main_done_ && states_.empty() && early_children_.empty()) break;
  }
  survivors_ = states_.size();
  if (main_status == -1) return Error{"tracer lost the main process", ECHILD};
  return main_status;
}

void Tracer::KillAll() {
  // A traced task's pid cannot be reused before we have waited for it, so these are the step's.
  for (auto& [tid, st] : states_) ::kill(tid, SIGKILL);
  for (const auto& [p, parent] : early_children_) ::kill(p, SIGKILL);
}

void Tracer::Dispatch(pid_t pid, int status) {
  ++stops_;
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    OnExit(pid);
    return;
  }
  if (!WIFSTOPPED(status)) return;
  auto it = states_.find(pid);
  if (it == states_.end()) {
    if (main_done_) {
      ::kill(pid, SIGKILL);
      Resume(pid);
      return;
    }
    // A new child reported before its parent's fork event: it waits until we know its parent.
    // Unless that event will never come: a parent killed (SIGKILL) between making the child and
    // reporting it (or while its report was still unread) drops the report, and the child would
    // stay stopped for good (`timeout -s KILL` of a make that had just forked a compiler).
    pid_t tgid = 0, ppid = 0;
    if (!TgidAndParent(pid, &tgid, &ppid)) return;  // gone already: its exit follows
    if (tgid != pid) {
      // A thread: its maker is in its own thread group, which only dies with it.
      early_children_[pid] = 0;
      return;
    }
    if (states_.count(ppid) == 0) {
      // Its parent is already gone (it was re-parented to us): nobody can tell whose identity
      // it inherited, and it has not run an instruction of its own; it dies with its parent.
      ::kill(pid, SIGKILL);
      Resume(pid);
      return;
    }
    early_children_[pid] = ppid;  // adopted from that parent if it dies without reporting
    return;
  }
  if (main_done_) {
    ::kill(pid, SIGKILL);
    Resume(pid);
    return;
  }
  if (HoldIfWaited(pid, status)) return;
  State& st = it->second;
  st.listening = false;
  int sig = WSTOPSIG(status);
  int event = status >> 16;
  switch (event) {
    case PTRACE_EVENT_SECCOMP:
      OnSeccomp(pid);
      return;
    case PTRACE_EVENT_FORK:
    case PTRACE_EVENT_VFORK:
    case PTRACE_EVENT_CLONE:
      OnNewChild(pid, event);
      Resume(pid);
      return;
    case PTRACE_EVENT_VFORK_DONE:
      st.in_vfork = false;
      Resume(pid);
      return;
    case PTRACE_EVENT_EXEC:
      OnExecEvent(pid);
      return;
    case PTRACE_EVENT_STOP:
      if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
        st.listening = true;
        (void)sys::Listen(pid);  // group-stop: stays stopped until SIGCONT
      } else {
        Resume(pid);
      }
      return;
    case 0:
      if (sig == (SIGTRAP | 0x80)) {
        if (st.grabbing) {
          FinishGrab(pid);
        } else if (st.restore_args) {
          st.restore_args = false;
          sys::Regs r;
          if (sys::GetRegs(pid, &r).ok()) {
            sys::CopyArgs(&r, st.call_regs);
            (void)sys::SetRegs(pid, r);
          }
          Resume(pid);
        } else {
          OnExecExit(pid);
        }
      } else {
        RestartUntakenCall(pid);
        Resume(pid, sig);  // signal-delivery stop: deliver it
      }
      return;
    default:
      Resume(pid);
      return;
  }
}

bool Tracer::HoldIfWaited(pid_t pid, int status) {
  for (auto& [tid, e] : execs_) {
    if (e->started || !e->waiting.erase(pid)) continue;
    State& st = states_[pid];
    st.held = true;
    st.held_status = status;
    e->held.push_back(pid);
    if (e->waiting.empty()) StartExec(*e);
    return true;
  }
  return false;
}

void Tracer::OnNewChild(pid_t parent, int event) {
  auto msg = sys::GetEventMsg(parent);
  if (!msg.ok()) return;
  pid_t child = static_cast<pid_t>(*msg);
  sys::Regs regs;
  uint64_t flags = 0;
  if (sys::GetRegs(parent, &regs).ok()) {
    uint64_t nr = sys::SyscallNr(regs);
    if (nr == SYS_clone) flags = regs.rdi;
    if (nr == SYS_vfork) flags = CLONE_VM | CLONE_VFORK;
  }
  if (event == PTRACE_EVENT_VFORK) flags |= CLONE_VM | CLONE_VFORK;
  AddChild(parent, child, flags);
  if (event == PTRACE_EVENT_VFORK) states_[parent].in_vfork = true;
  if (early_children_.erase(child)) Resume(child);
}

void Tracer::AddChild(pid_t parent, pid_t child, uint64_t flags) {
  std::shared_ptr<Task> ptask = procs_.Find(parent);
  auto t = std::make_shared<Task>();
  t->tid = child;
  if (ptask) {
    {
      std::lock_guard<std::mutex> lock(ptask->creds_mu);
      t->creds = ptask->creds;
      t->cpu_mask = ptask->cpu_mask;
      t->fs = ptask->fs;
    }
    if (!(flags & CLONE_FS)) {
      auto copy = std::make_shared<FsState>();
      std::lock_guard<std::mutex> lock(t->fs->mu);
      copy->cwd = t->fs->cwd;
      copy->cwd_dir = t->fs->cwd_dir;
      copy->cwd_gen = t->fs->cwd_gen;
      copy->umask = t->fs->umask;
      t->fs = std::move(copy);
    }
    if (flags & CLONE_THREAD) {
      t->proc = ptask->proc;
    } else {
      t->proc = std::make_shared<Process>(child);
      int pidfd = sys::PidfdOpen(child);
      if (pidfd >= 0) t->proc->pidfd.reset(pidfd);
      std::lock_guard<std::mutex> lock(ptask->proc->mu);
      t->proc->exe = ptask->proc->exe;
      t->proc->dumpable = ptask->proc->dumpable;
      t->proc->mm = (flags & CLONE_VM) ? ptask->proc->mm : next_mm_++;
    }
  } else {
    t->proc = std::make_shared<Process>(child);
    t->fs = std::make_shared<FsState>();
    t->proc->mm = next_mm_++;
  }
  procs_.Add(t);
  states_[child].tid = child;
}

void Tracer::OnSeccomp(pid_t pid) {
  sys::Regs r;
  if (!sys::GetRegs(pid, &r).ok()) return;  // killed under us
  uint64_t nr = sys::SyscallNr(r);
  if (nr == SYS_close_range) {
    CloseRange(pid, r);
    return;
  }
  std::vector<int> fds;
  if (NeedsGuestFds(pid, r, &fds)) {
    StartGrab(pid, r, std::move(fds));
    return;
  }
  if (nr != SYS_execve && nr != SYS_execveat) {
    Resume(pid);  // a filter of the guest's own asked for a tracer: there is nothing to do
    return;
  }
  auto e = std::make_unique<Exec>();
  e->tid = pid;
  e->orig = r;
  if (int rc = PrepareExec(pid, r, e.get()); rc != 0) {
    if (opts_.verbose) {
      std::string msg = "ocibuild sandbox: exec refused before the kernel saw it: " +
                        std::string(std::strerror(-rc)) + "\n";
      (void)!::write(opts_.log_fd, msg.data(), msg.size());
    }
    Fail(pid, r, rc);
    return;
  }
  // Stop every other task that shares the address space: none may rewrite the filename while
  // the kernel reads it.
  std::shared_ptr<Task> me = procs_.Find(pid);
  uint64_t mm = me ? me->proc->mm : 0;
  for (auto& [tid, st] : states_) {
    // A task parked on a traced call is stopped already; it is resumed after the exec.
    if (tid == pid || st.in_vfork || st.parked) continue;
    std::shared_ptr<Task> t = procs_.Find(tid);
    if (!t || t->proc->mm != mm) continue;
    if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) == 0) e->waiting.insert(tid);
  }
  Exec& ref = *e;
  execs_[pid] = std::move(e);
  if (ref.waiting.empty()) StartExec(ref);
}

bool Tracer::NeedsGuestFds(pid_t pid, const sys::Regs& r, std::vector<int>* fds) {
  uint64_t nr = sys::SyscallNr(r);
  switch (nr) {
    case SYS_connect:
    case SYS_bind:
    case SYS_sendto:
    case SYS_getdents:
    case SYS_getdents64:
    case SYS_fcntl:
    case SYS_ioctl:
      fds->push_back(static_cast<int>(r.rdi));
      return true;
    case SYS_inotify_add_watch:
      fds->push_back(static_cast<int>(r.rdi));
      return true;
    case SYS_sendmsg:
    case SYS_sendmmsg: {
      fds->push_back(static_cast<int>(r.rdi));
      // Descriptors passed along (SCM_RIGHTS) are the guest's too: handed over with the socket.
      unsigned vlen =
          nr == SYS_sendmmsg ? static_cast<unsigned>(std::min<uint64_t>(r.rdx, 1024)) : 1;
      for (unsigned i = 0; i < vlen && fds->size() < 250; ++i) {
        uint64_t at = r.rsi + (nr == SYS_sendmmsg ? i * sizeof(mmsghdr) : 0);
        msghdr m;
        if (sys::ReadProcessMem(pid, at, &m, sizeof m) != 0) break;
        if (!m.msg_control || m.msg_controllen < sizeof(cmsghdr) || m.msg_controllen > 65536)
          continue;
        std::vector<char> control(m.msg_controllen);
        if (sys::ReadProcessMem(pid, reinterpret_cast<uint64_t>(m.msg_control), control.data(),
                                control.size()) != 0)
          continue;
        msghdr view = {};
        view.msg_control = control.data();
        view.msg_controllen = control.size();
        for (cmsghdr* cm = CMSG_FIRSTHDR(&view); cm; cm = CMSG_NXTHDR(&view, cm)) {
          if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
          size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
          const int* p = reinterpret_cast<const int*>(CMSG_DATA(cm));
          for (size_t k = 0; k < n && fds->size() < 250; ++k) fds->push_back(p[k]);
        }
      }
      std::sort(fds->begin(), fds->end());
      fds->erase(std::unique(fds->begin(), fds->end()), fds->end());
      return true;
    }
    default:
      return false;
  }
}

void Tracer::StartGrab(pid_t pid, const sys::Regs& r, std::vector<int> fds) {
  State& st = states_[pid];
  st.call_regs = r;
  st.grab_fds = std::move(fds);
  st.nonce = (static_cast<uint64_t>(pid) << 32) ^ ++next_link_ ^ 0x6f636962u;
  // The hand-over, written below the stack pointer: a sendmsg on the channel carrying the
  // descriptors. Another thread rewriting it can only change which of its own descriptors it
  // sends (the channel leads nowhere but here).
  uint64_t at = (sys::StackPointer(r) - 128) & ~uint64_t{15};
  size_t n = st.grab_fds.size();
  size_t cspace = CMSG_SPACE(n * sizeof(int));
  std::vector<char> control(cspace, 0);
  msghdr view = {};
  view.msg_control = control.data();
  view.msg_controllen = cspace;
  cmsghdr* cm = CMSG_FIRSTHDR(&view);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(n * sizeof(int));
  std::memcpy(CMSG_DATA(cm), st.grab_fds.data(), n * sizeof(int));
  uint64_t nonce_at = (at - 16) & ~uint64_t{15};
  uint64_t iov_at = nonce_at - 16;
  uint64_t control_at = (iov_at - cspace) & ~uint64_t{15};
  uint64_t msg_at = (control_at - sizeof(msghdr)) & ~uint64_t{15};
  iovec iov = {reinterpret_cast<void*>(nonce_at), sizeof st.nonce};
  msghdr m = {};
  m.msg_iov = reinterpret_cast<iovec*>(iov_at);
  m.msg_iovlen = 1;
  m.msg_control = reinterpret_cast<void*>(control_at);
  m.msg_controllen = cspace;
  sys::Regs inj = r;
  if (sys::WriteProcessMem(pid, nonce_at, &st.nonce, sizeof st.nonce) != 0 ||
      sys::WriteProcessMem(pid, iov_at, &iov, sizeof iov) != 0 ||
      sys::WriteProcessMem(pid, control_at, control.data(), cspace) != 0 ||
      sys::WriteProcessMem(pid, msg_at, &m, sizeof m) != 0) {
    Fail(pid, inj, -EFAULT);
    return;
  }
  inj.orig_rax = SYS_sendmsg;
  sys::SetArg(&inj, 0, static_cast<uint64_t>(opts_.guest_channel));
  sys::SetArg(&inj, 1, msg_at);
  sys::SetArg(&inj, 2, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (!sys::SetRegs(pid, inj).ok()) return;
  st.grabbing = true;
  (void)sys::ContToSyscallExit(pid, 0);
}

void Tracer::FinishGrab(pid_t pid) {
  State& st = states_[pid];
  st.grabbing = false;
  sys::Regs r;
  if (!sys::GetRegs(pid, &r).ok()) return;
  int64_t sent = sys::RetVal(r);
  if (sent < 0) {
    // A descriptor that is not open, the channel closed by the step itself: the call fails as
    // the kernel would fail it (EBADF).
    Answer(pid, sent == -ENOTSOCK || sent == -EBADF ? -EBADF : sent);
    return;
  }
  std::vector<UniqueFd> got;
  // Several tasks may be handing over at once: a message for another grab waits for it; one
  // that no grab is waiting for was sent by the step on its own and is dropped.
  auto stashed = stash_.find(st.nonce);
  if (stashed != stash_.end()) {
    got = std::move(stashed->second);
    stash_.erase(stashed);
  }
  for (int tries = 0; got.empty() && tries < 256; ++tries) {
    uint64_t nonce = 0;
    iovec iov = {&nonce, sizeof nonce};
    char cbuf[CMSG_SPACE(256 * sizeof(int))];
    msghdr m = {};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    ssize_t n = ::recvmsg(opts_.channel, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) break;
    std::vector<UniqueFd> fds;
    for (cmsghdr* cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
      size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      const int* p = reinterpret_cast<const int*>(CMSG_DATA(cm));
      for (size_t i = 0; i < k; ++i) fds.emplace_back(p[i]);
    }
    if (n != sizeof nonce) continue;
    if (nonce == st.nonce) {
      got = std::move(fds);
      break;
    }
    for (const auto& [tid, other] : states_) {
      if (other.grabbing && other.nonce == nonce) {
        stash_[nonce] = std::move(fds);
        break;
      }
    }
  }
  if (got.size() != st.grab_fds.size()) {
    Answer(pid, -EIO);
    return;
  }
  auto call = std::make_unique<Call>();
  call->req.pid = static_cast<uint32_t>(pid);
  call->req.data.nr = static_cast<int>(sys::SyscallNr(st.call_regs));
  for (int i = 0; i < 6; ++i) call->req.data.args[i] = sys::Arg(st.call_regs, i);
  call->traced = true;
  for (size_t i = 0; i < got.size(); ++i)
    call->grabbed.emplace_back(st.grab_fds[i], std::move(got[i]));
  st.parked = true;
  submit_(std::move(call));
}

void Tracer::Answer(pid_t pid, int64_t value) {
  auto it = states_.find(pid);
  if (it == states_.end()) return;
  sys::Regs r;
  if (!sys::GetRegs(pid, &r).ok()) return;
  sys::SetRetVal(&r, value);
  sys::CopyArgs(&r, it->second.call_regs);
  (void)sys::SetRegs(pid, r);
  Resume(pid);
}

void Tracer::Done(pid_t tid, int64_t value) {
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    done_.emplace_back(tid, value);
    has_done_.store(true);
  }
  ::syscall(SYS_tgkill, self_, tracer_tid_, SIGUSR1);
}

void Tracer::DrainDone() {
  if (!has_done_.load()) return;
  std::vector<std::pair<pid_t, int64_t>> done;
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    done.swap(done_);
    has_done_.store(false);
  }
  for (auto [tid, value] : done) {
    auto it = states_.find(tid);
    if (it == states_.end() || !it->second.parked) continue;
    // An exec of its address space is under way: the answer waits for it (FinishExec).
    bool exec_pending = false;
    if (std::shared_ptr<Task> t = procs_.Find(tid)) {
      for (const auto& [etid, e] : execs_) {
        std::shared_ptr<Task> et = procs_.Find(etid);
        if (et && et->proc->mm == t->proc->mm) exec_pending = true;
      }
    }
    if (exec_pending) {
      it->second.done = true;
      it->second.result = value;
      continue;
    }
    it->second.parked = false;
    Answer(tid, value);
  }
}

void Tracer::CloseRange(pid_t pid, sys::Regs& r) {
  // The filter sends only ranges that contain the channel: stop just before it (no descriptor
  // above it can exist, RLIMIT_NOFILE ends there).
  State& st = states_[pid];
  uint64_t first = r.rdi;
  uint64_t last = static_cast<uint64_t>(opts_.guest_channel) - 1;
  if (opts_.guest_channel <= 0 || first > last) {
    sys::SkipSyscall(&r, 0);
    (void)sys::SetRegs(pid, r);
    Resume(pid);
    return;
  }
  st.call_regs = r;
  sys::SetArg(&r, 1, last);
  if (!sys::SetRegs(pid, r).ok()) return;
  st.restore_args = true;
  (void)sys::ContToSyscallExit(pid, 0);
}

void Tracer::OnExit(pid_t pid) {
  auto gone = states_.find(pid);
  if (gone != states_.end() && gone->second.grabbing) stash_.erase(gone->second.nonce);
  if (gone != states_.end()) {
    // Its children it never reported (killed first) take after it, as a fork would have made
    // them; every report of a process comes before its leader's exit does.
    std::vector<pid_t> orphans;
    for (const auto& [child, parent] : early_children_)
      if (parent == pid) orphans.push_back(child);
    for (pid_t child : orphans) {
      AddChild(pid, child, 0);
      early_children_.erase(child);
      Resume(child);
    }
  }
  procs_.Remove(pid);
  states_.erase(pid);
  early_children_.erase(pid);
  auto own = execs_.find(pid);
  if (own != execs_.end()) {
    own->second->held.clear();
    std::vector<pid_t> held = std::move(own->second->held);
    FinishExec(pid, false);
  }
  for (auto& [tid, e] : execs_) {
    bool was_waiting = e->waiting.erase(pid) > 0;
    std::erase(e->held, pid);
    if (was_waiting && !e->started && e->waiting.empty()) {
      StartExec(*e);
      break;  // StartExec may end the exec and change execs_
    }
  }
}

}  // namespace ocibuild::sandbox
