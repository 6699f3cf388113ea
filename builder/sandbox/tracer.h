// The ptrace side of the sandbox: one thread that follows every process and thread of the step
// (fork/vfork/clone/exec events, exits) into the ProcessTable, and performs execve/execveat.
//
// exec is the one call the supervisor cannot perform for the guest, so the kernel must read a
// filename from guest memory. That filename is a path of ours — a private directory outside the
// guest's reach holding a symlink to /proc/<supervisor>/fd/<n>, our descriptor of the program
// (or of the guest's ld.so) opened in the guest namespace — and nothing else can write it while
// the kernel reads it: every other task sharing the address space is stopped first, the scratch
// memory must be a private mapping, and no step process may write another's memory
// (process_vm_writev, /proc/<pid>/mem and ptrace are refused). Once the new image is loaded,
// before it runs an instruction, the tracer checks that /proc/<pid>/exe is the file it opened,
// and kills the process otherwise.
#pragma once

#include <sys/types.h>

#include <linux/filter.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "builder/sandbox/guest_fs.h"
#include "builder/sandbox/process_table.h"
#include "util/fd.h"
#include "util/result.h"
#include "util/sys/ptrace.h"

namespace ocibuild::sandbox {

struct Call;

struct TracerOptions {
  int log_fd = 2;
  bool verbose = false;
  // A private directory (not reachable from the guest) for the per-exec symlinks.
  std::string exec_dir;
  // qemu-user for ELF programs of another architecture (RunSpec::emulator); empty: none.
  std::string emulator;
  // The descriptor channel: our end, and the number of the step's end in every step process.
  int channel = -1;
  int guest_channel = -1;
  // The step's seccomp filter: which of an interrupted task's calls were notified.
  std::vector<sock_filter> filter;
  // Restart notified calls a signal cut short before a worker took them (RestartUntakenCall).
  // Only where a worker's receipt makes the wait killable (WAIT_KILLABLE_RECV): without it a
  // call is also cut short after a worker performed it, and only the replay of SA_RESTART
  // restarts (Supervisor::Replayed) may run it again.
  bool restart_untaken = false;
};

class Tracer {
 public:
  Tracer(GuestFs& fs, ProcessTable& procs, TracerOptions opts);

  // The signals that wake the tracer (SIGCHLD, SIGUSR1). Every thread of the process must block
  // them from its start (block them before creating any thread): one that did not could take
  // a SIGCHLD meant to wake the tracer.
  static sigset_t WakeSignals();

  // Takes over `main` (seized, its Task already in the table, about to exec) and runs until it
  // exits; the step's remaining processes are then killed (bounded wait) as a container runtime
  // does when PID 1 exits. Returns the wait status of `main`.
  Result<int> Run(pid_t main);

  // Hands a traced call (with the guest's descriptors it needs) to a worker, which reports
  // through Done.
  void set_submit(std::function<void(std::unique_ptr<Call>)> submit) {
    submit_ = std::move(submit);
  }
  // A worker finished a traced call of `tid`: its return value. Thread-safe; wakes the tracer.
  void Done(pid_t tid, int64_t value);

  uint64_t stops() const { return stops_; }
  // Calls RestartUntakenCall restarted.
  uint64_t restarted() const { return restarted_; }
  // Tasks still alive when Run returned (did not die within the bounded wait after SIGKILL).
  size_t survivors() const { return survivors_; }

 private:
  struct Exec;
  struct State {
    pid_t tid = 0;
    bool in_vfork = false;   // between its VFORK event and VFORK_DONE: blocked in the kernel
    bool listening = false;  // group-stopped (PTRACE_LISTEN)
    bool exec_exit = false;  // its exec is running: the next syscall-exit stop is its result
    int held_status = 0;     // a stop deferred while another task's exec runs
    bool held = false;
    Exec* holding_for = nullptr;  // the exec this task was interrupted for
    // A call that needs the guest's descriptors: the step is sending them over the channel
    // (grabbing), then a worker performs the call while the task stays stopped (parked).
    bool grabbing = false;
    bool parked = false;
    bool done = false;  // the worker's answer arrived while an exec held the task
    int64_t result = 0;
    uint64_t nonce = 0;
    sys::Regs call_regs{};  // the call as the guest made it
    std::vector<int> grab_fds;
    bool restore_args = false;  // rewritten arguments to put back at the syscall's exit
  };
  // An exec in progress: the program, what the kernel gets, and the tasks held meanwhile.
  struct Exec {
    pid_t tid = 0;
    UniqueFd program;  // what the kernel will map: the program or the guest's ld.so
    std::string link;  // our symlink the kernel is given
    std::string guest_exe;
    std::string execfn;  // AT_EXECFN as the guest would see it
    sys::Regs orig{};    // the guest's own, restored on failure
    // The new argv: existing guest strings (by address) or strings of ours.
    struct Arg {
      uint64_t ptr = 0;
      std::string s;
      bool fresh = false;
    };
    std::vector<Arg> argv;
    bool argv_changed = false;
    uint64_t argv_addr = 0, envp = 0;
    std::set<pid_t> waiting;  // siblings not yet stopped
    std::vector<pid_t> held;  // siblings stopped for us
    bool started = false;
  };

  // Sleeps until a wake signal is pending (or the deadline passes).
  void WaitForWake(const std::optional<std::chrono::steady_clock::time_point>& deadline);
  void Dispatch(pid_t pid, int status);
  void OnSeccomp(pid_t pid);
  void OnNewChild(pid_t parent, int event);
  // The table entries of a new task, inheriting from `parent` as clone `flags` say.
  void AddChild(pid_t parent, pid_t child, uint64_t flags);
  void OnExecEvent(pid_t pid);
  void OnExecExit(pid_t pid);
  void OnExit(pid_t pid);
  // Traced calls on the guest's descriptors: which ones a call needs, the injected hand-over,
  // and the answer.
  bool NeedsGuestFds(pid_t pid, const sys::Regs& r, std::vector<int>* fds);
  void StartGrab(pid_t pid, const sys::Regs& r, std::vector<int> fds);
  void FinishGrab(pid_t pid);
  void Answer(pid_t pid, int64_t value);
  void DrainDone();
  // close_range() over the channel: the range is cut short of it.
  void CloseRange(pid_t pid, sys::Regs& r);
  // Prepares an exec: resolves and opens the program, builds the arguments. 0 or -errno.
  int PrepareExec(pid_t tid, const sys::Regs& regs, Exec* e);
  void StartExec(Exec& e);
  void FinishExec(pid_t tid, bool ok);
  void Fail(pid_t tid, sys::Regs& r, int neg_errno);
  // At a signal-delivery stop: a notified call the signal cut short before a worker took it is
  // restarted after the handler, whatever its SA_RESTART.
  void RestartUntakenCall(pid_t pid);
  void Resume(pid_t pid, int sig = 0);
  // The stop of a task that an exec of its address space is waiting for: held.
  bool HoldIfWaited(pid_t pid, int status);
  void KillAll();

  GuestFs& fs_;
  ProcessTable& procs_;
  TracerOptions opts_;
  pid_t self_ = 0;
  std::unordered_map<pid_t, State> states_;
  // First stop seen before the parent's event: child -> the parent process it waits for (0: a
  // thread, whose maker cannot die before it).
  std::unordered_map<pid_t, pid_t> early_children_;
  std::unordered_map<pid_t, std::unique_ptr<Exec>> execs_;
  uint64_t next_mm_ = 1;
  pid_t tracer_tid_ = 0;
  std::function<void(std::unique_ptr<Call>)> submit_;
  // Hand-overs read from the channel while serving another task's (by nonce).
  std::unordered_map<uint64_t, std::vector<UniqueFd>> stash_;
  std::mutex done_mu_;
  std::atomic<bool> has_done_{false};
  std::vector<std::pair<pid_t, int64_t>> done_;
  uint64_t next_link_ = 0;
  uint64_t stops_ = 0;
  uint64_t restarted_ = 0;
  size_t survivors_ = 0;
  bool main_done_ = false;
};

}  // namespace ocibuild::sandbox
