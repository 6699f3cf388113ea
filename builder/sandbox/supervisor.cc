#include "builder/sandbox/supervisor.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>
#include <thread>

#include "builder/sandbox/copy_up.h"
#include "builder/sandbox/seccomp_policy.h"
#include "util/sys/pidfd.h"
#include "util/sys/process_mem.h"
#include "util/sys/seccomp.h"

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

namespace ocibuild::sandbox {
namespace {

constexpr size_t kMaxWorkers = 64;
// How long a call may run before the watchdog lets another worker receive.
constexpr auto kSlowCall = std::chrono::milliseconds(10);

void OnWorkerWake(int) {}

// The notification worker running on this thread (Supervisor::MayBlock).
thread_local Supervisor* t_supervisor = nullptr;
thread_local void* t_worker = nullptr;

bool NoFollow(uint64_t flags) {
  return (flags & AT_SYMLINK_NOFOLLOW) != 0;
}

uint32_t Id(uint64_t v) {
  return static_cast<uint32_t>(v);
}

// Calls whose effect we performed ourselves (so a restart after an interrupting signal must not
// perform it again); everything else is safe to run twice.
bool SideEffects(long nr) {
  switch (nr) {
    case SYS_mkdir:
    case SYS_mkdirat:
    case SYS_mknod:
    case SYS_mknodat:
    case SYS_symlink:
    case SYS_symlinkat:
    case SYS_link:
    case SYS_linkat:
    case SYS_unlink:
    case SYS_unlinkat:
    case SYS_rmdir:
    case SYS_rename:
    case SYS_renameat:
    case SYS_renameat2:
    case SYS_mq_open:
    case SYS_mq_unlink:
    case SYS_bind:
    case SYS_connect:
    case SYS_sendto:
    case SYS_sendmsg:
    case SYS_sendmmsg:
    case SYS_kill:
    case SYS_tkill:
    case SYS_tgkill:
      return true;
    default:
      return false;
  }
}

// Calls that only look: nothing changes but the answer written into the caller's memory.
bool Query(long nr) {
  switch (nr) {
    case SYS_readlink:
    case SYS_readlinkat:
    case SYS_stat:
    case SYS_lstat:
    case SYS_newfstatat:
    case SYS_statx:
    case SYS_access:
    case SYS_faccessat:
    case SYS_faccessat2:
      return true;
    default:
      return false;
  }
}

}  // namespace

Supervisor::Supervisor(GuestFs& fs, ProcessTable& procs, SupervisorOptions opts)
    : fs_(fs),
      procs_(procs),
      opts_(std::move(opts)),
      proc_view_(fs, procs, opts_.hostname, opts_.abstract_prefix) {
  fs_.set_proc(&proc_view_);
}

Supervisor::~Supervisor() {
  Stop();
}

bool Supervisor::Start(int listener, int threads) {
  listener_ = listener;
  // Stop() interrupts workers blocked in RECV with SIGUSR2: no SA_RESTART, so the ioctl returns.
  struct sigaction wake = {};
  wake.sa_handler = OnWorkerWake;
  ::sigaction(SIGUSR2, &wake, nullptr);
  // The CPUs this process may run on (a pod's cpuset, taskset), not the machine's.
  cpu_set_t set;
  max_handling_ = ::sched_getaffinity(0, sizeof set, &set) == 0
                      ? std::max(1, CPU_COUNT(&set))
                      : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::lock_guard<std::mutex> lock(mu_);
  for (int i = 0; i < std::max(1, threads); ++i) StartWorkerLocked();
  if (threads_.empty()) return false;
  watchdog_ = std::thread([this] { Watchdog(); });
  return true;
}

void Supervisor::StartWorkerLocked() {
  states_.push_back(std::make_unique<WorkerState>());
  WorkerState* w = states_.back().get();
  running_.fetch_add(1);
  try {
    threads_.emplace_back([this, w] { WorkerLoop(w); });
  } catch (const std::system_error&) {
    // No thread to be had (a pids limit the step shares): the workers there are carry on, and
    // the next watchdog tick or backlog asks again.
    states_.pop_back();
    running_.fetch_sub(1);
  }
}

void Supervisor::Stop() {
  std::vector<std::thread> joined, jobs;
  {
    // No worker is added once stopping_ is set (checked under mu_).
    std::lock_guard<std::mutex> lock(mu_);
    stopping_.store(true);
    joined.swap(threads_);
    park_cv_.notify_all();
    watchdog_cv_.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    jobs_cv_.notify_all();
  }
  if (watchdog_.joinable()) watchdog_.join();
  // A worker may be just about to block when the signal comes: signal until all have left (each
  // says so at once: a fixed 1 ms nap here was 1 ms of every step).
  {
    std::unique_lock<std::mutex> lock(exit_mu_);
    while (running_.load() > 0) {
      for (std::thread& t : joined) ::pthread_kill(t.native_handle(), SIGUSR2);
      exit_cv_.wait_for(lock, std::chrono::milliseconds(1), [&] { return running_.load() == 0; });
    }
  }
  {
    std::lock_guard<std::mutex> lock(jobs_mu_);
    jobs.swap(job_threads_);
  }
  for (std::thread& t : joined)
    if (t.joinable()) t.join();
  for (std::thread& t : jobs)
    if (t.joinable()) t.join();
}

void Supervisor::MarkSlow(WorkerState* w) {
  std::lock_guard<std::mutex> lock(mu_);
  if (w->slow || stopping_.load()) return;
  w->slow = true;
  ++slow_;
  if (receiving_ >= 1 + slow_) return;
  LetOneMoreInLocked();
}

void Supervisor::LetOneMoreInLocked() {
  if (parked_ > 0) {
    park_cv_.notify_one();
  } else if (threads_.size() < kMaxWorkers) {
    StartWorkerLocked();
  }
}

void Supervisor::MaybeBoost() {
  // A lone thread cannot have a call waiting behind its own; the poll is kept for steps that can.
  if (max_handling_ < 2 || procs_.live_tasks() < 2 ||
      handling_.load(std::memory_order_relaxed) >= max_handling_)
    return;
  if (!sys::NotifPending(listener_)) return;
  std::lock_guard<std::mutex> lock(mu_);
  // Somebody in RECV takes it anyway, or a worker is on its way there for an earlier backlog.
  if (stopping_.load() || receiving_ > 0 || boost_ > 0) return;
  ++boost_;
  boosts_.fetch_add(1, std::memory_order_relaxed);
  LetOneMoreInLocked();
}

void Supervisor::MayBlock() {
  if (t_supervisor && t_worker) t_supervisor->MarkSlow(static_cast<WorkerState*>(t_worker));
}

void Supervisor::Watchdog() {
  // Calls that block without saying so (a device, a file system that hangs, a lease being
  // broken): one still running a tick later lets another worker receive.
  std::vector<uint64_t> last;
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_.load()) {
    watchdog_cv_.wait_for(lock, kSlowCall);
    if (stopping_.load()) break;
    last.resize(states_.size(), 0);
    std::vector<WorkerState*> stuck;
    for (size_t i = 0; i < states_.size(); ++i) {
      uint64_t seq = states_[i]->seq.load(std::memory_order_relaxed);
      if ((seq & 1) && seq == last[i] && !states_[i]->slow) stuck.push_back(states_[i].get());
      last[i] = seq;
    }
    lock.unlock();
    for (WorkerState* w : stuck) MarkSlow(w);
    lock.lock();
  }
}

void Supervisor::Submit(std::unique_ptr<Call> c) {
  std::lock_guard<std::mutex> lock(jobs_mu_);
  jobs_.push_back(std::move(c));
  // Traced calls can block (connect, a full socket): one thread each when all are busy.
  if (jobs_idle_ == 0 && job_threads_.size() < kMaxWorkers && !stopping_.load())
    job_threads_.emplace_back([this] { JobLoop(); });
  jobs_cv_.notify_one();
}

void Supervisor::JobLoop() {
  for (;;) {
    std::unique_ptr<Call> job;
    {
      std::unique_lock<std::mutex> lock(jobs_mu_);
      ++jobs_idle_;
      jobs_cv_.wait(lock, [this] { return stopping_.load() || !jobs_.empty(); });
      --jobs_idle_;
      if (jobs_.empty()) return;  // stopping
      job = std::move(jobs_.front());
      jobs_.erase(jobs_.begin());
    }
    Handle(*job);
  }
}

void Supervisor::WorkerLoop(WorkerState* me) {
  t_supervisor = this;
  t_worker = me;
  sigset_t wake;
  sigemptyset(&wake);
  sigaddset(&wake, SIGUSR2);
  ::pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (me->slow) {
        me->slow = false;
        --slow_;
      }
      ++parked_;
      park_cv_.wait(lock, [&] { return stopping_.load() || receiving_ < 1 + slow_; });
      --parked_;
      if (stopping_.load()) break;
      // Whoever enters first answers the backlog's wake-up (the worker woken for it, or the
      // one that woke it, back from its call): the next backlog may wake another.
      if (boost_ > 0) --boost_;
      ++receiving_;
    }
    Call c;
    int rc = sys::NotifRecv(listener_, &c.req);
    {
      std::lock_guard<std::mutex> lock(mu_);
      --receiving_;
    }
    if (stopping_.load()) break;
    if (rc == -EINTR || rc == -ENOENT || rc == -EAGAIN) continue;
    if (rc != 0) break;
    me->seq.fetch_add(1, std::memory_order_relaxed);
    int now = handling_.fetch_add(1, std::memory_order_relaxed) + 1;
    for (int peak = peak_handling_.load(std::memory_order_relaxed);
         now > peak && !peak_handling_.compare_exchange_weak(peak, now);) {
    }
    MaybeBoost();
    Handle(c);
    handling_.fetch_sub(1, std::memory_order_relaxed);
    me->seq.fetch_add(1, std::memory_order_relaxed);
  }
  std::lock_guard<std::mutex> lock(exit_mu_);
  running_.fetch_sub(1);
  exit_cv_.notify_all();
}

void Supervisor::Handle(Call& c) {
  handled_.fetch_add(1, std::memory_order_relaxed);
  per_nr_[c.req.data.nr & 511].fetch_add(1, std::memory_order_relaxed);
  c.task = procs_.Find(c.tid());
  if (!c.task) {
    // Every task is in the table before it runs (the tracer adds it at its clone event).
    c.Fail(-EPERM);
    Respond(c);
    return;
  }
  if (opts_.replay_interrupted) {
    std::lock_guard<std::mutex> lock(replay_mu_);
    auto it = replay_.find(c.tid());
    if (it != replay_.end()) {
      const Replayed& r = it->second;
      bool same = r.nr == static_cast<uint64_t>(c.req.data.nr) &&
                  r.ip == c.req.data.instruction_pointer &&
                  std::memcmp(r.args, c.req.data.args, sizeof r.args) == 0;
      if (same) {
        c.val = r.val;
        c.err = r.err;
        replay_.erase(it);
        Respond(c);
        return;
      }
      // Another call first (the interrupting signal's handler): the restart is still to come.
    }
  }
  {
    std::lock_guard<std::mutex> lock(c.task->creds_mu);
    c.SetWho(Who::Fs(c.task->creds));
  }
  Dispatch(c);
  Respond(c);
}

void Supervisor::Respond(Call& c) {
  if (c.traced) {
    // The tracer holds the thread stopped and sets the syscall's return value itself.
    int64_t v = c.err != 0 ? c.err : c.val;
    if (on_traced_done_) on_traced_done_(c.tid(), v);
    return;
  }
  if (c.addfd.valid() && c.err == 0) {
    int rc = sys::NotifAddFd(listener_, c.req.id, c.addfd.get(), c.addfd_flags, true);
    if (rc >= 0 || rc == -ENOENT) return;
    c.Fail(rc);  // EMFILE and the like: the guest gets the error instead
  }
  seccomp_notif_resp resp = {};
  resp.id = c.req.id;
  resp.val = c.val;
  resp.error = c.err;
  resp.flags = c.cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0;
  if (c.cont) {
    resp.val = 0;
    resp.error = 0;
  }
  int rc = sys::NotifSend(listener_, resp);
  if (rc == -ENOENT && opts_.replay_interrupted && !c.cont &&
      SideEffects(static_cast<long>(c.req.data.nr))) {
    Replayed r;
    r.nr = static_cast<uint64_t>(c.req.data.nr);
    r.ip = c.req.data.instruction_pointer;
    std::memcpy(r.args, c.req.data.args, sizeof r.args);
    r.val = c.val;
    r.err = c.err;
    std::lock_guard<std::mutex> lock(replay_mu_);
    replay_[c.tid()] = r;
  }
}

int Supervisor::ReadMem(Call& c, uint64_t addr, void* buf, size_t len) {
  return sys::ReadProcessMem(c.tid(), addr, buf, len);
}

int Supervisor::WriteMem(Call& c, uint64_t addr, const void* buf, size_t len) {
  if (c.unchecked_read) {
    // A query read its path without checking (ReadPath): the thread must still be waiting for
    // this call before anything is written into its memory.
    if (sys::NotifIdValid(listener_, c.req.id) != 0) return -ESRCH;
    c.unchecked_read = false;
  }
  return sys::WriteProcessMem(c.tid(), addr, buf, len);
}

int Supervisor::ReadPath(Call& c, uint64_t addr, std::string* out) {
  int rc = sys::ReadProcessString(c.tid(), addr, out, PATH_MAX - 1);
  if (rc != 0) return rc;
  // What we read belongs to the thread that is still waiting for this very call (a traced call's
  // thread is stopped by the tracer). A query (stat, readlink, access) changes nothing with what
  // it read: it is checked before it writes its answer (WriteMem), and an answer without one
  // (an error, most readlinks) reaches only the waiting call, if any — one ioctl less.
  if (c.traced) return 0;
  if (Query(c.req.data.nr)) {
    c.unchecked_read = true;
    return 0;
  }
  if (sys::NotifIdValid(listener_, c.req.id) != 0) return -ESRCH;
  return 0;
}

std::string Supervisor::Cwd(Task& t) {
  FsState& fs = *t.fs;
  std::lock_guard<std::mutex> lock(fs.mu);
  uint64_t gen = fs_.generation();
  if (fs.cwd_gen != gen && fs.cwd_dir.fd) {
    // A directory was renamed since: the cwd follows its inode, as the kernel's does.
    char proc[64], buf[PATH_MAX];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fs.cwd_dir.get());
    ssize_t n = ::readlink(proc, buf, sizeof buf - 1);
    std::string guest;
    if (n > 0 && fs_.ToGuest(std::string_view(buf, static_cast<size_t>(n)), &guest)) fs.cwd = guest;
  }
  fs.cwd_gen = gen;
  return fs.cwd;
}

std::string Supervisor::FdPath(const Call& c, int fd) const {
  return "/proc/" + std::to_string(c.tid()) + "/fd/" + std::to_string(fd);
}

int Supervisor::FdGuestPath(const Call& c, int fd, std::string* guest, const Mount** mount) {
  if (fd < 0) return -EBADF;
  char buf[PATH_MAX];
  ssize_t n = ::readlink(FdPath(c, fd).c_str(), buf, sizeof buf - 1);
  if (n < 0) return -EBADF;
  std::string_view text(buf, static_cast<size_t>(n));
  if (text.empty() || text[0] != '/') return -ENOTDIR;  // pipe:[..], socket:[..], anon_inode:..
  if (!fs_.ToGuest(text, guest, mount)) return -EBADF;
  return 0;
}

int Supervisor::BaseOf(Call& c, int dirfd, std::string* base) {
  if (dirfd == AT_FDCWD) {
    *base = Cwd(*c.task);
    return 0;
  }
  return FdGuestPath(c, dirfd, base, nullptr);
}

int Supervisor::Resolve(Call& c, int dirfd, const std::string& path, const WalkOptions& o,
                        Resolved* out) {
  std::string base = "/";
  if (path.empty()) return -ENOENT;
  if (path[0] != '/' || o.in_root || o.beneath) {
    if (int rc = BaseOf(c, dirfd, &base); rc != 0) return rc;
  }
  return fs_.Walk(c.tid(), base, path, o, out);
}

int Supervisor::ResolveArg(Call& c, int dirfd_arg, int path_arg, bool follow, Resolved* out,
                           bool* empty, WalkOptions* opts) {
  if (empty) *empty = false;
  std::string path;
  if (c.arg(path_arg) == 0 && empty) {
    *empty = true;
    return 0;
  }
  if (int rc = ReadPath(c, c.arg(path_arg), &path); rc != 0) return rc;
  if (path.empty()) {
    if (empty) {
      *empty = true;
      return 0;
    }
    return -ENOENT;
  }
  WalkOptions o = opts ? *opts : WalkOptions{};
  o.follow_final = follow;
  o.search = c.Search();
  int dirfd = dirfd_arg >= 0 ? c.iarg(dirfd_arg) : AT_FDCWD;
  return Resolve(c, dirfd, path, o, out);
}

int Supervisor::FollowIfLink(Call& c, Resolved* r, const WalkOptions& o, int* links) {
  for (;;) {
    if (r->in_proc() || r->is_mount_root()) return 0;
    struct stat st;
    if (::fstatat(r->dir.get(), r->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return 0;
    if (!S_ISLNK(st.st_mode)) return 0;
    if (int rc = fs_.FollowFinal(c.tid(), r, o, links); rc != 0) return rc;
  }
}

int Supervisor::OpenObject(const Resolved& r, bool follow, int flags) {
  if (r.is_mount_root()) return ::fcntl(r.dir.get(), F_DUPFD_CLOEXEC, 3);
  (void)follow;
  return ::openat(r.dir.get(), r.name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC | flags);
}

int Supervisor::DupGuestFd(Call& c, int fd) {
  // Only the descriptors the step itself handed over for this call (pidfd_getfd would need
  // CAP_SYS_PTRACE under the container runtimes' default seccomp profiles).
  for (const auto& [num, ours] : c.grabbed) {
    if (num != fd) continue;
    int dup = ::fcntl(ours.get(), F_DUPFD_CLOEXEC, 3);
    return dup < 0 ? -errno : dup;
  }
  return -EBADF;
}

const Mount* Supervisor::MountOfStat(const struct stat& st) const {
  const Mount* dev_match = nullptr;
  for (const auto& m : fs_.mounts()) {
    if (m->dev != st.st_dev) continue;
    if (m->kind == PathMapping::Kind::kDevice) {
      if (m->ino == st.st_ino) return m.get();
      continue;
    }
    if (!dev_match || m->rootfs()) dev_match = m.get();
  }
  return dev_match;
}

void Supervisor::Virtualize(Call& c, const Mount* m, struct stat* st) const {
  (void)c;
  st->st_nlink = TreeLinks(*st);
  if (m && m->store) {
    oci::FileMeta meta = fs_.MetaOf(*m, *st);
    st->st_uid = meta.uid;
    st->st_gid = meta.gid;
    st->st_mode = meta.mode;
    st->st_rdev = meta.rdev;
    return;
  }
  // Outside the image (devices, /proc, pipes): the builder's own ids are the step's root.
  if (st->st_uid == ::getuid()) st->st_uid = 0;
  if (st->st_gid == ::getgid()) st->st_gid = 0;
}

void Supervisor::VirtualizeStatx(Call& c, const Mount* m, struct statx* sx) const {
  struct stat st = {};
  st.st_dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
  st.st_ino = sx->stx_ino;
  st.st_mode = sx->stx_mode;
  st.st_uid = sx->stx_uid;
  st.st_gid = sx->stx_gid;
  st.st_rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
  st.st_nlink = sx->stx_nlink;
  Virtualize(c, m, &st);
  sx->stx_nlink = static_cast<uint32_t>(st.st_nlink);
  sx->stx_uid = st.st_uid;
  sx->stx_gid = st.st_gid;
  sx->stx_mode = static_cast<uint16_t>(st.st_mode);
  sx->stx_rdev_major = major(st.st_rdev);
  sx->stx_rdev_minor = minor(st.st_rdev);
}

uint32_t Supervisor::Umask(Task& t) {
  std::lock_guard<std::mutex> lock(t.fs->mu);
  return t.fs->umask;
}

nlink_t Supervisor::TreeLinks(const struct stat& st) const {
  // Every non-directory of a cached tree is linked into the entry: symlinks too.
  if (!opts_.foreign_links || opts_.foreign_links->empty() || S_ISDIR(st.st_mode) ||
      st.st_dev != fs_.rootfs().dev)
    return st.st_nlink;
  auto it = opts_.foreign_links->find(st.st_ino);
  if (it == opts_.foreign_links->end()) return st.st_nlink;
  return st.st_nlink - std::min<nlink_t>(st.st_nlink, it->second);
}

bool Supervisor::Shared(const struct stat& st) const {
  return opts_.shared_inodes && !opts_.shared_inodes->empty() && S_ISREG(st.st_mode) &&
         st.st_dev == fs_.rootfs().dev && opts_.shared_inodes->count(st.st_ino) != 0;
}

int Supervisor::CopyUp(const Resolved& r, bool keep_content) {
  if (!opts_.shared_inodes || opts_.shared_inodes->empty() || r.is_mount_root() ||
      r.mount != &fs_.rootfs() || r.in_proc())
    return 0;
  CopiedUp cu;
  if (int rc = BreakSharedLink(r.dir.get(), r.name, keep_content, opts_.shared_inodes, &cu);
      rc != 0)
    return rc;
  if (cu.to != 0) {
    fs_.WithStore(*r.mount, [&](oci::MetaStore& store) {
      if (const oci::FileMeta* m = store.Find(cu.from)) store.Set(cu.to, *m);
    });
    std::lock_guard<std::mutex> lock(copy_ups_mu_);
    copy_ups_.push_back(cu);
  }
  return 0;
}

Supervisor::SharedNameChange Supervisor::WatchShared(const DirRef& dir, const std::string& name,
                                                     const struct stat& st) {
  SharedNameChange w;
  if (!Shared(st)) return w;
  UniqueFd fd(::openat(dir.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
  struct stat now;
  if (!fd || ::fstat(fd.get(), &now) != 0 || now.st_ino != st.st_ino) return w;
  w.fd = std::move(fd);
  w.ino = now.st_ino;
  w.ctime_before = static_cast<int64_t>(now.st_ctim.tv_sec) * 1'000'000'000 + now.st_ctim.tv_nsec;
  return w;
}

void Supervisor::NoteShared(SharedNameChange& w) {
  struct stat after;
  if (!w.fd || ::fstat(w.fd.get(), &after) != 0) return;
  CopiedUp rec;
  rec.from = w.ino;
  rec.ctime_before = w.ctime_before;
  rec.ctime_after =
      static_cast<int64_t>(after.st_ctim.tv_sec) * 1'000'000'000 + after.st_ctim.tv_nsec;
  std::lock_guard<std::mutex> lock(copy_ups_mu_);
  copy_ups_.push_back(rec);
}

void Supervisor::NoteLinked(ino_t ino) {
  std::lock_guard<std::mutex> lock(copy_ups_mu_);
  tree_notes_.linked.push_back(ino);
}

void Supervisor::NoteFileAttrs() {
  std::lock_guard<std::mutex> lock(copy_ups_mu_);
  tree_notes_.file_attrs = true;
}

Supervisor::TreeNotes Supervisor::tree_notes() const {
  std::lock_guard<std::mutex> lock(copy_ups_mu_);
  return tree_notes_;
}

std::vector<CopiedUp> Supervisor::copy_ups() const {
  std::lock_guard<std::mutex> lock(copy_ups_mu_);
  return copy_ups_;
}

void Supervisor::Dispatch(Call& c) {
  long nr = c.req.data.nr;
  switch (nr) {
    // --- open & create ---
    case SYS_open:
      return Open(c, -1, 0, c.arg(1), Id(c.arg(2)));
    case SYS_creat:
      return Open(c, -1, 0, O_CREAT | O_WRONLY | O_TRUNC, Id(c.arg(1)));
    case SYS_openat:
      return Open(c, 0, 1, c.arg(2), Id(c.arg(3)));
    case SYS_openat2:
      return OpenAt2(c);
    case SYS_mkdir:
      return Mkdir(c, -1, 0, Id(c.arg(1)));
    case SYS_mkdirat:
      return Mkdir(c, 0, 1, Id(c.arg(2)));
    case SYS_mknod:
      return Mknod(c, -1, 0, Id(c.arg(1)), c.arg(2));
    case SYS_mknodat:
      return Mknod(c, 0, 1, Id(c.arg(2)), c.arg(3));
    case SYS_symlink:
      return Symlink(c, 0, -1, 1);
    case SYS_symlinkat:
      return Symlink(c, 0, 1, 2);
    case SYS_link:
      return Link(c, -1, 0, -1, 1, 0);
    case SYS_linkat:
      return Link(c, 0, 1, 2, 3, c.iarg(4));
    // --- removal & rename ---
    case SYS_unlink:
      return Unlink(c, -1, 0, false);
    case SYS_rmdir:
      return Unlink(c, -1, 0, true);
    case SYS_unlinkat:
      if (c.arg(2) & ~static_cast<uint64_t>(AT_REMOVEDIR)) return c.Fail(-EINVAL);
      return Unlink(c, 0, 1, (c.arg(2) & AT_REMOVEDIR) != 0);
    case SYS_rename:
      return Rename(c, -1, 0, -1, 1, 0);
    case SYS_renameat:
      return Rename(c, 0, 1, 2, 3, 0);
    case SYS_renameat2:
      return Rename(c, 0, 1, 2, 3, static_cast<unsigned>(c.arg(4)));
    // --- stat family ---
    case SYS_stat:
      return Stat(c, -1, 0, -1, true, 1, false);
    case SYS_lstat:
      return Stat(c, -1, 0, -1, false, 1, false);
    case SYS_fstat:
      return Fstat(c);
    case SYS_newfstatat:
      return Stat(c, 0, 1, 3, true, 2, false);
    case SYS_statx:
      return Stat(c, 0, 1, 2, true, 4, true);
    case SYS_statfs:
      return Statfs(c);
    // --- plain path calls ---
    case SYS_access:
      return Access(c, -1, 0, 1, -1);
    case SYS_faccessat:
      return Access(c, 0, 1, 2, -1);
    case SYS_faccessat2:
      return Access(c, 0, 1, 2, 3);
    case SYS_chdir:
      return Chdir(c, false);
    case SYS_fchdir:
      return Chdir(c, true);
    case SYS_getcwd:
      return Getcwd(c);
    case SYS_chroot:
      return Chroot(c);
    case SYS_truncate:
      return Truncate(c);
    case SYS_utime:
      return Times(c, -1, 0, 1, TimesArg::kUtimbuf, true);
    case SYS_utimes:
      return Times(c, -1, 0, 1, TimesArg::kTimeval, true);
    case SYS_futimesat:
      return Times(c, 0, 1, 2, TimesArg::kTimeval, true);
    case SYS_utimensat:
      return Times(c, 0, 1, 2, TimesArg::kTimespec, !NoFollow(c.arg(3)));
    case SYS_readlink:
      return Readlink(c, -1, 0, 1, 2);
    case SYS_readlinkat:
      return Readlink(c, 0, 1, 2, 3);
    case SYS_inotify_add_watch:
      return InotifyAddWatch(c);
    case SYS_umask:
      return Umask(c);
    // --- owners & modes: recorded in the store ---
    case SYS_chown:
      return Chown(c, -1, 0, -1, Id(c.arg(1)), Id(c.arg(2)), true);
    case SYS_lchown:
      return Chown(c, -1, 0, -1, Id(c.arg(1)), Id(c.arg(2)), false);
    case SYS_fchown:
      return Chown(c, -1, -1, 0, Id(c.arg(1)), Id(c.arg(2)), true);
    case SYS_fchownat:
      return Chown(c, 0, 1, -1, Id(c.arg(2)), Id(c.arg(3)), !NoFollow(c.arg(4)));
    case SYS_chmod:
      return Chmod(c, -1, 0, -1, Id(c.arg(1)), true);
    case SYS_fchmod:
      return Chmod(c, -1, -1, 0, Id(c.arg(1)), true);
    case SYS_fchmodat:
      return Chmod(c, 0, 1, -1, Id(c.arg(2)), true);
    case SYS_fchmodat2:
      return Chmod(c, 0, 1, -1, Id(c.arg(2)), !NoFollow(c.arg(3)));
    case SYS_setxattr:
      return Xattr(c, XattrOp::kSet, false, true);
    case SYS_lsetxattr:
      return Xattr(c, XattrOp::kSet, false, false);
    case SYS_fsetxattr:
      return Xattr(c, XattrOp::kSet, true, true);
    case SYS_getxattr:
      return Xattr(c, XattrOp::kGet, false, true);
    case SYS_lgetxattr:
      return Xattr(c, XattrOp::kGet, false, false);
    case SYS_fgetxattr:
      return Xattr(c, XattrOp::kGet, true, true);
    case SYS_listxattr:
      return Xattr(c, XattrOp::kList, false, true);
    case SYS_llistxattr:
      return Xattr(c, XattrOp::kList, false, false);
    case SYS_flistxattr:
      return Xattr(c, XattrOp::kList, true, true);
    case SYS_removexattr:
      return Xattr(c, XattrOp::kRemove, false, true);
    case SYS_lremovexattr:
      return Xattr(c, XattrOp::kRemove, false, false);
    case SYS_fremovexattr:
      return Xattr(c, XattrOp::kRemove, true, true);
    case SYS_getdents:
      return Getdents(c, false);
    case SYS_getdents64:
      return Getdents(c, true);
    // --- sockets ---
    case SYS_getsockname:
      return SockName(c, false);
    case SYS_getpeername:
      return SockName(c, true);
    case SYS_mq_open:
      return MqOpen(c);
    case SYS_mq_unlink:
      return MqUnlink(c);
    case SYS_bind:
      return BindConnect(c, true);
    case SYS_connect:
      return BindConnect(c, false);
    case SYS_sendto:
      return SendTo(c);
    case SYS_sendmsg:
      return SendMsg(c, false);
    case SYS_sendmmsg:
      return SendMsg(c, true);
    // --- other processes ---
    case SYS_kill:
      return Kill(c);
    case SYS_tkill:
      return Tkill(c, false);
    case SYS_tgkill:
      return Tkill(c, true);
    case SYS_rt_sigqueueinfo:
      return SigQueue(c, false);
    case SYS_rt_tgsigqueueinfo:
      return SigQueue(c, true);
    case SYS_pidfd_open:
      return PidfdOpen(c);
    case SYS_process_vm_readv:
    case SYS_process_vm_writev:
      return ProcessVm(c);
    case SYS_prlimit64:
      return Prlimit(c);
    case SYS_getpriority:
      return Priority(c, false);
    case SYS_setpriority:
      return Priority(c, true);
    case SYS_ioprio_get:
      return Ioprio(c, false);
    case SYS_ioprio_set:
      return Ioprio(c, true);
    case SYS_kcmp:
      return Kcmp(c);
    case SYS_sched_setparam:
    case SYS_sched_getparam:
    case SYS_sched_setscheduler:
    case SYS_sched_getscheduler:
    case SYS_sched_rr_get_interval:
    case SYS_sched_setattr:
    case SYS_sched_getattr:
    case SYS_getpgid:
    case SYS_getsid:
    case SYS_migrate_pages:
    case SYS_move_pages:
    case SYS_get_robust_list:
      return PidChecked(c, 0);
    case SYS_sched_setaffinity:
      return Affinity(c, true);
    case SYS_sched_getaffinity:
      return Affinity(c, false);
    case SYS_fcntl:
      return SetOwner(c, false);
    case SYS_ioctl:
      // chattr and friends (the filter sends only these and the SIGIO owners): the kernel
      // performs them; the executor must know they ran.
      if (IsFileAttrIoctl(static_cast<uint32_t>(c.arg(1)))) {
        NoteFileAttrs();
        c.cont = true;  // all registers
        return;
      }
      return SetOwner(c, true);
    case SYS_shmget:
    case SYS_semget:
    case SYS_msgget:
      return SysvGet(c);
    case SYS_shmat:
    case SYS_semop:
    case SYS_semtimedop:
    case SYS_msgsnd:
    case SYS_msgrcv:
      return SysvOp(c, 0);
    case SYS_shmctl:
    case SYS_semctl:
    case SYS_msgctl:
      return SysvCtl(c);
    case SYS_unshare:
      return Unshare(c);
    case SYS_socket:
      // Only reached without network (the filter lets local families through).
      return c.Fail(-EAFNOSUPPORT);
    case SYS_clone:
      // Only reached with CLONE_UNTRACED or a new namespace: a child outside the tracer's sight
      // or in namespaces of its own.
      return c.Fail(-EPERM);
    case SYS_seccomp:
      // Only reached for SECCOMP_FILTER_FLAG_NEW_LISTENER: the step's filter has the listener.
      return c.Fail(-EBUSY);
    // --- identity ---
    case SYS_prctl:
      return Prctl(c);
    case SYS_uname:
      return Uname(c);
    default:
      return Identity(c, nr);
  }
}

void Supervisor::PrintHistogram() const {
  std::string out = "ocibuild sandbox: " + std::to_string(handled_.load()) +
                    " notifications (at most " + std::to_string(peak_handling_.load()) +
                    " at once, " + std::to_string(boosts_.load()) +
                    " receivers let in for a backlog); by syscall:";
  for (int nr = 0; nr < 512; ++nr) {
    uint64_t n = per_nr_[nr].load();
    if (n) out += " " + std::to_string(nr) + ":" + std::to_string(n);
  }
  out += "\n";
  (void)!::write(opts_.log_fd, out.data(), out.size());
}

}  // namespace ocibuild::sandbox
