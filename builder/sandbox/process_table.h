// The step's processes and threads, as the supervisor knows them: who may be named by kill(),
// pidfd_open(), /proc/<pid>, ... (nothing outside this set), and each one's emulated state
// (fake credentials, working directory and umask, guest executable).
//
// Written by the tracer thread (clone/exec/exit events) and read by every notification worker.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "builder/sandbox/fake_creds.h"
#include "builder/sandbox/guest_fs.h"
#include "util/fd.h"

namespace ocibuild::sandbox {

// What the kernel keeps in fs_struct (shared by CLONE_FS threads): the working directory and
// the umask. The guest's kernel-side cwd never moves (it is a private empty directory): every
// path call is resolved by the supervisor against this one.
struct FsState {
  std::mutex mu;
  std::string cwd = "/";  // guest path
  DirRef cwd_dir;         // the directory itself, so a rename of an ancestor is followed
  uint64_t cwd_gen = 0;   // GuestFs::generation() when `cwd` was last derived
  uint32_t umask = 022;
};

// One thread group.
struct Process {
  explicit Process(pid_t tgid_) : tgid(tgid_) {}
  const pid_t tgid;
  UniqueFd pidfd;  // refers to this process forever, even once its pid is reused
  std::mutex mu;
  std::string exe;  // guest path of the program, for /proc/<pid>/exe
  bool dumpable = true;
  uint64_t mm = 0;  // address space: shared by threads and by vfork/CLONE_VM children
};

struct Task {
  pid_t tid = 0;
  std::shared_ptr<Process> proc;
  std::shared_ptr<FsState> fs;
  // Per-thread, as in the kernel. Changed only by the worker answering this thread's own
  // notification (a thread has one at a time) or by the tracer while the thread is stopped.
  FakeCreds creds;
  // Held while changing `creds` or `fs`, and by readers on other threads (/proc/<pid>/...).
  mutable std::mutex creds_mu;
  std::vector<uint8_t> cpu_mask;  // what sched_getaffinity answers after a setaffinity
};

class ProcessTable {
 public:
  std::shared_ptr<Task> Find(pid_t tid) const;
  std::shared_ptr<Process> FindProcess(pid_t tgid) const;
  void Add(std::shared_ptr<Task> t);
  // Re-keys a thread that exec'd from a non-leader thread (it takes the leader's pid).
  void Rekey(pid_t from, pid_t to);
  void Remove(pid_t tid);
  // Thread-group ids, for a listing of /proc.
  std::vector<pid_t> Tgids() const;
  std::vector<pid_t> Tids() const;
  std::vector<std::shared_ptr<Process>> Processes() const;
  bool empty() const;
  // Threads of the step, read without the lock (a hint: it may change at once).
  size_t live_tasks() const { return live_.load(std::memory_order_relaxed); }

  // True when `pid` names a live thread or process of the step (checked against its pidfd, so
  // a reused pid does not count).
  bool IsMember(pid_t pid) const;
  // Whether process `tgid` of the step is still the one behind its pid (see IsMember); used
  // after acting on a pid to know the act reached the step's process.
  static bool Alive(const Process& p);

 private:
  mutable std::mutex mu_;
  std::unordered_map<pid_t, std::shared_ptr<Task>> tasks_;
  std::unordered_map<pid_t, std::shared_ptr<Process>> procs_;
  std::atomic<size_t> live_{0};  // tasks_.size()
};

}  // namespace ocibuild::sandbox
