#include "builder/trash.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "builder/rootfs_cache.h"
#include "util/fs.h"

extern char** environ;

namespace ocibuild::builder {
namespace {

constexpr char kTrashLock[] = ".lock";
// How many names the emptier unlinks between two looks at whether a build waits for the cache.
constexpr int kSlice = 64;

bool IsLockName(const std::string& n) {
  return n == kTrashLock || n == RootfsCache::kUnlinkingLock || n == RootfsCache::kWaitingLock;
}

void SleepMs(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

bool FlockNb(int fd, int op) {
  while (::flock(fd, op | LOCK_NB) != 0) {
    if (errno != EINTR) return false;
  }
  return true;
}

void FlockWait(int fd, int op) {
  while (::flock(fd, op) != 0 && errno == EINTR) {
  }
}

// The right to unlink names that may share inodes with the unpacked-tree cache: the cache's lock
// (no build restores or guards a tree meanwhile), announced by "unlinking" so that a starting
// build waits for it rather than building without the cache.
class CacheGate {
 public:
  CacheGate(const std::string& state_root, const EmptyTrashOptions& opts) : opts_(opts) {
    if (opts.holds_cache_lock) return;
    std::string cache = JoinPath(state_root, "rootfs-cache");
    struct stat st;
    // No cache directory: no tree shares an inode with it.
    if (::stat(cache.c_str(), &st) != 0) return;
    // The lock files exist before any entry does (PrepareTrash, RootfsCache::Open); one that is
    // gone means someone removes the state directory: stop rather than make files in it.
    std::string trash = TrashDir(state_root);
    auto open_lock = [](const std::string& p) {
      return UniqueFd(::open(p.c_str(), O_RDWR | O_CLOEXEC));
    };
    lock_ = open_lock(JoinPath(cache, RootfsCache::kLock));
    unlinking_ = open_lock(JoinPath(trash, RootfsCache::kUnlinkingLock));
    waiting_ = open_lock(JoinPath(trash, RootfsCache::kWaitingLock));
    active_ = true;
    broken_ = !lock_ || !unlinking_ || !waiting_;
  }
  ~CacheGate() { Leave(); }

  // False when the lock is busy and the options say not to wait.
  bool Enter() {
    if (broken_) return false;
    if (!active_ || held_) return true;
    for (;;) {
      // "unlinking" first: a build that finds the cache lock busy then knows whom it waits for.
      FlockWait(unlinking_.get(), LOCK_EX);
      if (!Wanted() && FlockNb(lock_.get(), LOCK_EX)) {
        held_ = true;
        return true;
      }
      ::flock(unlinking_.get(), LOCK_UN);
      if (opts_.cache_lock_nowait) return false;
      SleepMs(100);
    }
  }
  void Leave() {
    if (!held_) return;
    ::flock(lock_.get(), LOCK_UN);
    ::flock(unlinking_.get(), LOCK_UN);
    held_ = false;
  }
  // Called between slices: hands the cache over to a build that waits for it.
  bool Yield() {
    if (!held_ || !Wanted()) return true;
    Leave();
    SleepMs(50);
    return Enter();
  }

 private:
  // A build holds "waiting" (shared) while it waits for the cache lock.
  bool Wanted() {
    if (!FlockNb(waiting_.get(), LOCK_EX)) return true;
    ::flock(waiting_.get(), LOCK_UN);
    return false;
  }

  EmptyTrashOptions opts_;
  UniqueFd lock_, unlinking_, waiting_;
  bool active_ = false;
  bool broken_ = false;
  bool held_ = false;
};

// RemoveAll, with the gate held around every unlink and yielded every kSlice of them.
class SlicedRemover {
 public:
  explicit SlicedRemover(CacheGate& gate) : gate_(gate) {}

  // False when the gate could not be entered (cache_lock_nowait): the rest stays for later.
  Result<bool> Remove(int parent, const std::string& name, const std::string& shown) {
    return RemoveTreeAt(parent, name, shown, [this](const struct stat& st) -> Result<bool> {
      if (++count_ % kSlice == 0 && !gate_.Yield()) return false;
      // Only a name whose inode has other names can move a ctime someone compares.
      return st.st_nlink <= 1 || gate_.Enter();
    });
  }

 private:
  CacheGate& gate_;
  uint64_t count_ = 0;
};

}  // namespace

std::string TrashDir(const std::string& state_root) {
  return JoinPath(state_root, "trash");
}

Status MoveToTrash(const std::string& state_root, const std::string& path) {
  return MoveIntoTrash(TrashDir(state_root), path);
}

Status PrepareTrash(const std::string& trash) {
  OCIB_TRY(MakeDirs(trash, 0700));
  for (const char* name : {kTrashLock, RootfsCache::kUnlinkingLock, RootfsCache::kWaitingLock}) {
    std::string p = JoinPath(trash, name);
    UniqueFd fd(::open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) return SysError("open", p);
  }
  return Ok();
}

Status MoveIntoTrash(const std::string& trash, const std::string& path) {
  OCIB_TRY(PrepareTrash(trash));
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  static std::atomic<unsigned> seq{0};
  std::string base = path.substr(path.find_last_of('/') + 1);
  std::string dest =
      JoinPath(trash, base + "." + std::to_string(::getpid()) + "." + std::to_string(now.tv_sec) +
                          "." + std::to_string(now.tv_nsec) + "." + std::to_string(seq++));
  if (::rename(path.c_str(), dest.c_str()) != 0) return SysError("rename", path);
  return Ok();
}

bool TrashHasEntries(const std::string& state_root) {
  std::string trash = TrashDir(state_root);
  UniqueFd fd(::open(trash.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return false;
  auto names = ReadDirNames(fd.get(), trash);
  if (!names.ok()) return false;
  for (const auto& n : *names)
    if (!IsLockName(n)) return true;
  return false;
}

Result<size_t> EmptyTrash(const std::string& state_root, const EmptyTrashOptions& opts) {
  std::string trash = TrashDir(state_root);
  UniqueFd dir(::open(trash.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    if (errno == ENOENT) return size_t{0};
    return SysError("open", trash);
  }
  std::string lock_path = JoinPath(trash, kTrashLock);
  // Never made here: a trash without its lock is being removed by someone (rm -rf of the state
  // directory right after a build), and a file made now would fail their rmdir.
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CLOEXEC));
  if (!lock) {
    if (errno == ENOENT) return size_t{0};
    return SysError("open", lock_path);
  }
  // One emptier at a time: each entry is deleted by one process.
  if (opts.wait) {
    FlockWait(lock.get(), LOCK_EX);
  } else if (!FlockNb(lock.get(), LOCK_EX)) {
    return size_t{0};
  }
  CacheGate gate(state_root, opts);
  SlicedRemover remover(gate);
  size_t deleted = 0;
  for (;;) {
    OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(dir.get(), trash));
    size_t left = 0;
    for (const auto& n : names) {
      if (IsLockName(n)) continue;
      ++left;
      OCIB_ASSIGN_OR_RETURN(bool done, remover.Remove(dir.get(), n, JoinPath(trash, n)));
      if (!done) return deleted;
      ++deleted;
    }
    if (left == 0) break;
  }
  return deleted;
}

Result<pid_t> SpawnTrashEmptier(const std::string& state_root, const std::string& exe) {
  std::vector<std::string> args = {"ocibuild", kEmptyTrashCommand, state_root};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // Everything the child needs is made before fork: after it, in a process with threads, only
  // async-signal-safe calls.
  pid_t pid = ::fork();
  if (pid < 0) return SysError("fork", exe);
  if (pid == 0) {
    // Its own session: a Ctrl-C in the terminal or a kill of the build's process group does
    // not reach it. Low priority from the start, before exec.
    ::setsid();
    LowerOwnPriority();
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      for (int fd = 0; fd <= 2; ++fd) ::dup2(null, fd);
      if (null > 2) ::close(null);
    }
    // No pipe or lock of the build's stays open in it.
    ::syscall(SYS_close_range, 3U, ~0U, 0U);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) ::signal(sig, SIG_DFL);
    ::execve(exe.c_str(), argv.data(), environ);
    ::_exit(127);
  }
  return pid;
}

void LowerOwnPriority() {
  (void)::setpriority(PRIO_PROCESS, 0, 19);
  // IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0) for this process (IOPRIO_WHO_PROCESS, 0).
  constexpr int kIdleClass = 3, kClassShift = 13, kWhoProcess = 1;
  (void)::syscall(SYS_ioprio_set, kWhoProcess, 0, kIdleClass << kClassShift);
}

}  // namespace ocibuild::builder
