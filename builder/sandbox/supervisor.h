// The notification side of the sandbox: worker threads that receive the step's filtered
// syscalls from the seccomp listener and perform them on the guest's behalf.
//
// A worker copies every argument out of guest memory once and acts only on its copy, so a
// thread rewriting a buffer after the fact changes nothing. Paths are resolved by GuestFs (the
// kernel walks one component at a time from descriptors under a mount root); descriptors are
// handed to the guest with SECCOMP_IOCTL_NOTIF_ADDFD; results are written back with
// process_vm_writev. The only calls let through with SECCOMP_USER_NOTIF_FLAG_CONTINUE are
// those whose every argument is a register and that have been checked (kill of the caller's
// own process, prctl options without pointers, ...): the kernel re-reads nothing from memory
// for them.
#pragma once

#include <linux/seccomp.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "builder/sandbox/copy_up.h"
#include "builder/sandbox/guest_fs.h"
#include "builder/sandbox/permissions.h"
#include "builder/sandbox/proc_view.h"
#include "builder/sandbox/process_table.h"
#include "util/fd.h"

namespace ocibuild::sandbox {

struct SupervisorOptions {
  int log_fd = 2;
  bool verbose = false;
  bool network = true;
  // RunSpec::shared_inodes: inodes the unpacked-tree cache shares (copy-up before writing).
  const std::unordered_set<uint64_t>* shared_inodes = nullptr;
  // RunSpec::foreign_links: names of shared inodes outside the rootfs (hidden from st_nlink).
  const std::unordered_map<uint64_t, uint32_t>* foreign_links = nullptr;
  // Prefix that makes the step's abstract AF_UNIX names its own (random per step).
  std::string abstract_prefix;
  // A private directory of the step for what the sandbox makes up (listings of /proc).
  std::string scratch_dir;
  std::string hostname = "buildkitsandbox";
  // The kernel lacks SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: a signal can interrupt a call we
  // already performed, and its restart must get the same answer (see Replay).
  bool replay_interrupted = false;
};

// Search permission on each directory a path walks through, for the call's identity.
struct CallSearch final : SearchPolicy {
  const Who* who = nullptr;
  int MaySearch(const oci::FileMeta& dir) const override { return Permission(*who, dir, kMayExec); }
};

// One notification being answered.
struct Call {
  seccomp_notif req{};
  std::shared_ptr<Task> task;
  // The answer: a value or an errno, or an fd to install (its number is the value), or let the
  // kernel run the call itself (only for calls whose arguments are all registers).
  int64_t val = 0;
  int err = 0;
  bool cont = false;
  UniqueFd addfd;
  uint32_t addfd_flags = 0;  // O_CLOEXEC or 0
  // A call the tracer stopped (seccomp RET_TRACE) because it needs the guest's own descriptors
  // (sockets, an inotify instance, a directory being listed): the tracer had the step send them
  // over the channel (see tracer.h), and the answer goes back to the tracer, not the listener.
  bool traced = false;
  // A path was read without checking that the caller still waits (a query): WriteMem checks.
  bool unchecked_read = false;
  std::vector<std::pair<int, UniqueFd>> grabbed;  // guest fd number -> our duplicate
  // The identity for permission checks of this call, and whether checks apply at all (fake
  // root with its capabilities bypasses them).
  Who who;
  bool checks = false;
  CallSearch search;
  const SearchPolicy* Search() const { return checks ? &search : nullptr; }
  // Sets the identity checks run as (fs ids; faccessat without AT_EACCESS: real ids).
  void SetWho(const Who& w) {
    who = w;
    search.who = &who;
    checks = !who.Bypasses();
  }

  pid_t tid() const { return static_cast<pid_t>(req.pid); }
  uint64_t arg(int i) const { return req.data.args[i]; }
  int iarg(int i) const { return static_cast<int>(req.data.args[i]); }
  void Fail(int neg_errno) {
    err = neg_errno < 0 ? neg_errno : -neg_errno;
    val = 0;
  }
  void Return(int64_t v) {
    if (v < 0) {
      Fail(static_cast<int>(v));
      return;
    }
    val = v;
    err = 0;
  }
};

class Supervisor {
 public:
  Supervisor(GuestFs& fs, ProcessTable& procs, SupervisorOptions opts);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Starts `threads` workers on the listener (more are added while all are busy).
  // False when not one worker thread could be started (nothing would receive the calls).
  bool Start(int listener, int threads);
  // A traced call for a worker (see Call::traced); `done(tid, value)` is called with the result
  // (a value or -errno) on the worker's thread.
  void Submit(std::unique_ptr<Call> c);
  void set_on_traced_done(std::function<void(pid_t, int64_t)> done) {
    on_traced_done_ = std::move(done);
  }
  // Stops the workers (after the step's last task is gone) and joins them.
  void Stop();
  // Called by a notification worker before a host call that may block until another guest call
  // is answered (opening a FIFO): another worker starts receiving. No-op on other threads.
  static void MayBlock();

  uint64_t handled() const { return handled_.load(); }
  // The most notifications handled at once (1 unless calls were waiting on each other).
  int peak_handling() const { return peak_handling_.load(); }
  // The copy-ups made (builder/shared_tree_guard.h checks the cache against them).
  std::vector<CopiedUp> copy_ups() const;
  // What a watch of the tree's directories cannot see (builder/tree_watch.h): the inodes that
  // got another name (a write through a temporary hardlink changes the first name, which no
  // event names), and whether a file-attribute ioctl ran (chattr moves a ctime without an
  // event).
  struct TreeNotes {
    std::vector<uint64_t> linked;
    bool file_attrs = false;
  };
  TreeNotes tree_notes() const;
  void PrintHistogram() const;
  // Called by the tracer once the step is over: removes SysV IPC objects the step created.
  void CleanupIpc();

  GuestFs& fs() { return fs_; }

 private:
  void JobLoop();
  void Handle(Call& c);
  void Respond(Call& c);
  void Dispatch(Call& c);

  // --- helpers (supervisor.cc) ---
  // Reads a path argument; 0, -EFAULT, -ENAMETOOLONG. An empty string stays empty.
  int ReadPath(Call& c, uint64_t addr, std::string* out);
  // The guest directory a relative path starts from: the cwd, or the dirfd's directory.
  int BaseOf(Call& c, int dirfd, std::string* base);
  // Reads the path at argument `path_arg` (relative to dirfd argument `dirfd_arg`, -1: cwd) and
  // walks it. *empty is set for "" (AT_EMPTY_PATH callers handle it); else 0 or -errno.
  int ResolveArg(Call& c, int dirfd_arg, int path_arg, bool follow, Resolved* out,
                 bool* empty = nullptr, WalkOptions* opts = nullptr);
  int Resolve(Call& c, int dirfd, const std::string& path, const WalkOptions& o, Resolved* out);
  // Follows a final symlink of `r` when `follow` and it is one (lstat says so); 0 or -errno.
  int FollowIfLink(Call& c, Resolved* r, const WalkOptions& o, int* links);
  // The guest cwd (re-derived when a directory was renamed since).
  std::string Cwd(Task& t);
  int ReadMem(Call& c, uint64_t addr, void* buf, size_t len);
  int WriteMem(Call& c, uint64_t addr, const void* buf, size_t len);
  // The host object behind guest descriptor `fd` of the calling thread, as a path this process
  // can use ("/proc/<tid>/fd/<fd>").
  std::string FdPath(const Call& c, int fd) const;
  // The guest path a descriptor stands for, when it is a file in a mount; else -errno.
  int FdGuestPath(const Call& c, int fd, std::string* guest, const Mount** mount);
  // The store and mount a host object belongs to, by device and inode (null: none).
  const Mount* MountOfStat(const struct stat& st) const;
  // A stat as the guest sees it: owners, modes and device numbers from the store.
  void Virtualize(Call& c, const Mount* m, struct stat* st) const;
  void VirtualizeStatx(Call& c, const Mount* m, struct statx* sx) const;
  uint32_t Umask(Task& t);
  // Copy-up: a shared file about to be changed in place gets a private copy first.
  // 0, or -errno when the file is shared and could not be copied (the write must fail).
  int CopyUp(const Resolved& r, bool keep_content);
  // A shared inode about to lose or gain a name (unlink, rename, link) changes its ctime: the
  // cache's guard must know the change was ours. Opened before the call (null when the file is
  // not shared), recorded after it.
  struct SharedNameChange {
    UniqueFd fd;
    ino_t ino = 0;
    int64_t ctime_before = 0;
  };
  SharedNameChange WatchShared(const DirRef& dir, const std::string& name, const struct stat& st);
  void NoteShared(SharedNameChange& w);
  void NoteLinked(ino_t ino);
  void NoteFileAttrs();
  bool Shared(const struct stat& st) const;
  // A host file's link count less its names outside the rootfs (SupervisorOptions): the count
  // the guest sees, and the one that says whether a name is its last.
  nlink_t TreeLinks(const struct stat& st) const;
  // An fd of ours for the object at (dir, name) or the mount root, O_PATH.
  int OpenObject(const Resolved& r, bool follow, int flags = 0);

  // --- files (fs_calls.cc) ---
  void Open(Call& c, int dirfd_arg, int path_arg, uint64_t flags, uint32_t mode,
            uint64_t resolve = 0);
  void OpenAt2(Call& c);
  void OpenProc(Call& c, const Resolved& r, int flags);
  void OpenMountRoot(Call& c, const Resolved& r, int flags, int host_flags, uint32_t perm,
                     bool odd);
  void OpenPty(Call& c, const Resolved& r, int host_flags);
  void Mkdir(Call& c, int dirfd_arg, int path_arg, uint32_t mode);
  void Mknod(Call& c, int dirfd_arg, int path_arg, uint32_t mode, uint64_t dev);
  void Symlink(Call& c, int target_arg, int dirfd_arg, int path_arg);
  void Link(Call& c, int olddir, int oldpath, int newdir, int newpath, int flags);
  void Unlink(Call& c, int dirfd_arg, int path_arg, bool dir);
  void Rename(Call& c, int olddir, int oldpath, int newdir, int newpath, unsigned flags);
  void Truncate(Call& c);
  void Chdir(Call& c, bool by_fd);
  void Getcwd(Call& c);
  void Chroot(Call& c);
  void Readlink(Call& c, int dirfd_arg, int path_arg, int buf_arg, int size_arg);
  void InotifyAddWatch(Call& c);
  void Umask(Call& c);
  void Access(Call& c, int dirfd_arg, int path_arg, int mode_arg, int flags_arg);
  void Statfs(Call& c);
  // Records a file just made by the guest (owner = fsuid/fsgid; modes the host cannot hold).
  void RecordNew(Call& c, const Mount& m, int fd_or_dir, const char* name, uint32_t virt_mode,
                 uint64_t rdev = 0);
  int MayCreate(Call& c, const Resolved& r);
  int MayDelete(Call& c, const Resolved& r, const struct stat& victim);

  // --- metadata (meta_calls.cc) ---
  void Stat(Call& c, int dirfd_arg, int path_arg, int flags_arg, bool follow, int buf_arg,
            bool statx);
  void Fstat(Call& c);
  void Chown(Call& c, int dirfd_arg, int path_arg, int fd_arg, uint32_t uid, uint32_t gid,
             bool follow);
  void Chmod(Call& c, int dirfd_arg, int path_arg, int fd_arg, uint32_t mode, bool follow);
  enum class XattrOp { kSet, kGet, kList, kRemove };
  void Xattr(Call& c, XattrOp op, bool by_fd, bool follow);
  enum class TimesArg { kUtimbuf, kTimeval, kTimespec };
  void Times(Call& c, int dirfd_arg, int path_arg, int times_arg, TimesArg kind, bool follow);
  void Getdents(Call& c, bool is64);
  // The object a metadata call is about: the path, or the fd (AT_EMPTY_PATH / f* calls). Opens
  // it O_PATH (*fd), stats it (*st); *m is its mount (null for objects outside the mounts).
  int Target(Call& c, int dirfd_arg, int path_arg, int fd_arg, bool follow, UniqueFd* fd,
             struct stat* st, const Mount** m, Resolved* r = nullptr);

  // --- processes (proc_calls.cc) ---
  void Kill(Call& c);
  void Tkill(Call& c, bool tg);
  void SigQueue(Call& c, bool tg);
  void PidfdOpen(Call& c);
  void ProcessVm(Call& c);
  // Calls naming a pid in argument `pid_arg` whose other arguments are registers or read-only
  // data: answered by the kernel once the pid is the caller or a member of the step.
  void PidChecked(Call& c, int pid_arg, bool zero_is_self = true);
  void Prlimit(Call& c);
  void Priority(Call& c, bool set);
  void Ioprio(Call& c, bool set);
  void Kcmp(Call& c);
  void SetOwner(Call& c, bool ioctl);
  void SysvGet(Call& c);
  void SysvOp(Call& c, int id_arg);
  void SysvCtl(Call& c);
  void Unshare(Call& c);
  void Affinity(Call& c, bool set);

  // --- identity (identity_calls.cc) ---
  void Identity(Call& c, long nr);
  void Prctl(Call& c);
  void Uname(Call& c);

  // --- sockets (socket_calls.cc) ---
  void Socket(Call& c);
  void BindConnect(Call& c, bool bind);
  void SockName(Call& c, bool peer);
  void MqOpen(Call& c);
  void MqUnlink(Call& c);
  int MqName(Call& c, uint64_t addr, std::string* out);
  void SendTo(Call& c);
  void SendMsg(Call& c, bool multi);
  // Guest sockaddr (copied) -> what the supervisor hands the kernel. A path to bind: the name,
  // relative to the directory (`unix_path`: the worker chdirs there); a path to reach: through
  // /proc/self/fd of our descriptor of it; an abstract name: the step's prefix added.
  struct SockTarget {
    std::vector<char> addr;
    DirRef dir;        // AF_UNIX path: the socket's directory (kept open for the call)
    std::string name;  // AF_UNIX path: the socket file's name in `dir` ("": `dir` is the socket)
    std::vector<char> guest;  // AF_UNIX: the address as the guest gave it (what peers are told)
    bool unix_path = false;
  };
  // Remembers what getsockname/getpeername of a socket must answer (the guest's own spelling,
  // not the name the kernel was given).
  void NoteSockName(int sock, const SockTarget& t, bool bind);
  int TranslateSockaddr(Call& c, const char* addr, size_t len, bool bind, SockTarget* out);
  int DupGuestFd(Call& c, int fd);

  GuestFs& fs_;
  ProcessTable& procs_;
  SupervisorOptions opts_;
  ProcView proc_view_;
  int listener_ = -1;
  // Traced calls (the tracer's hand-overs) have threads of their own, woken by jobs_cv_.
  std::mutex jobs_mu_;
  std::condition_variable jobs_cv_;
  std::vector<std::unique_ptr<Call>> jobs_;
  int jobs_idle_ = 0;            // job threads waiting (under jobs_mu_)
  std::atomic<int> running_{0};  // notification workers not yet returned
  std::mutex exit_mu_;           // a worker's return, for Stop()
  std::condition_variable exit_cv_;
  std::function<void(pid_t, int64_t)> on_traced_done_;
  // Notification workers. The kernel (6.6+) wakes every thread waiting in RECV for each
  // notification, and all but one go back to sleep: a context switch each, per call. So one
  // worker at a time waits in RECV (the receiver) and the others are parked on park_cv_; the
  // receiver handles the call itself and goes back to RECV, with nobody to wake. A call that may
  // block (opening a FIFO, or any call the watchdog sees running for a tick) makes it "slow":
  // one more receiver is let in (a parked worker, or a new one) until that call returns.
  // One receiver alone would serialise a step whose threads call faster than it answers (make
  // -j16 on 16 CPUs): a worker that receives a call while another one is already waiting lets
  // one more receiver in ("boost") before it handles its own, so calls are answered on as many
  // CPUs as have calls waiting, and the extra receivers park again once the backlog is gone.
  struct WorkerState {
    std::atomic<uint64_t> seq{0};  // odd while a call is being handled
    bool slow = false;             // counted in slow_ (under mu_)
  };
  void WorkerLoop(WorkerState* me);
  void Watchdog();
  // The calling worker's call may block for long: let another receiver in (under mu_ inside).
  void MarkSlow(WorkerState* w);
  // Another call waits behind the one just received: let one more receiver in.
  void MaybeBoost();
  void LetOneMoreInLocked();  // under mu_: wakes a parked worker or starts one
  void StartWorkerLocked();   // under mu_
  std::mutex mu_;
  std::condition_variable park_cv_;
  int receiving_ = 0;             // workers in (or entering) RECV, under mu_
  int parked_ = 0;                // workers waiting on park_cv_, under mu_
  int slow_ = 0;                  // workers handling a slow call, under mu_
  int boost_ = 0;                 // 1 while a worker woken for a backlog is on its way to RECV
  int max_handling_ = 1;          // CPUs the step may use: more at once would only queue
  std::atomic<int> handling_{0};  // workers between RECV and their answer
  std::atomic<int> peak_handling_{0};
  std::atomic<uint64_t> boosts_{0};
  std::vector<std::unique_ptr<WorkerState>> states_;  // under mu_
  std::vector<std::thread> threads_;                  // notification workers
  std::vector<std::thread> job_threads_;              // under jobs_mu_
  std::thread watchdog_;
  std::condition_variable watchdog_cv_;  // with mu_: wakes the watchdog to stop
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> handled_{0};
  std::atomic<uint64_t> per_nr_[512] = {};
  std::mutex report_mu_;
  std::unordered_set<long> reported_unknown_;
  // getsockname of a socket bound to a path: the guest path, by socket inode.
  std::mutex sock_mu_;
  // AF_UNIX names are bound relative to our descriptor of their directory: the process's cwd
  // (workers share it; unshare(CLONE_FS) is refused under container seccomp profiles).
  std::mutex cwd_mu_;
  std::unordered_map<ino_t, std::vector<char>> sock_names_;  // socket inode -> its own name
  std::unordered_map<ino_t, std::vector<char>> peer_names_;  // socket inode -> its peer's
  std::map<std::pair<dev_t, ino_t>, std::vector<char>> bound_files_;  // socket file -> name
  // SysV IPC objects the step made (ids), and its keys' translations.
  std::mutex ipc_mu_;
  std::set<std::pair<int, int>> ipc_ids_;  // (kind, id); kind: 0 shm, 1 sem, 2 msg
  std::set<std::string> mq_names_;         // POSIX message queues the step made (host names)
  // Replay (kernels before 5.19): the last performed-but-interrupted answer per thread.
  struct Replayed {
    uint64_t nr = 0, ip = 0;
    uint64_t args[6] = {};
    int64_t val = 0;
    int err = 0;
  };
  std::mutex replay_mu_;
  std::unordered_map<pid_t, Replayed> replay_;
  mutable std::mutex copy_ups_mu_;
  std::vector<CopiedUp> copy_ups_;
  TreeNotes tree_notes_;  // under copy_ups_mu_
  // Ptys the step opened through /dev/ptmx: the only /dev/pts entries it may open.
  std::mutex pts_mu_;
  std::set<int> ptys_;

  friend class ProcView;
};

}  // namespace ocibuild::sandbox
