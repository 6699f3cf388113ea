#include "builder/tree_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/fs.h"
#include "util/two_threads.h"

namespace ocibuild::builder {
namespace {

// Everything that changes an entry or the set of names; not reads, opens or closes without
// write access.
constexpr uint32_t kMask = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE |
                           IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
                           IN_ONLYDIR | IN_DONT_FOLLOW;
constexpr uint32_t kNames = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO;

}  // namespace

Result<std::unique_ptr<TreeWatch>> TreeWatch::Start(const std::string& root_path,
                                                    const oci::Snapshot& before) {
  std::unique_ptr<TreeWatch> w(new TreeWatch);
  w->fd_ = UniqueFd(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!w->fd_) return SysError("inotify_init1", root_path);
  w->stop_ = UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!w->stop_) return SysError("eventfd", root_path);
  // The snapshot is exact for the tree as it is now (nothing runs in it yet): each of its
  // directory paths runs through directories only, so the path reaches that directory.
  std::vector<const std::string*> dirs;
  for (const auto& [path, node] : before.nodes())
    if (S_ISDIR(node.mode)) dirs.push_back(&path);
  // The watches count against a per-user limit the step's own tools share (a file watcher, a
  // test runner), as do other stages' steps: a tree that would take more than a quarter of it
  // is walked instead.
  if (auto limit = ReadFile("/proc/sys/fs/inotify/max_user_watches"); limit.ok()) {
    uint64_t max = std::strtoull(limit->c_str(), nullptr, 10);
    if (max > 0 && dirs.size() > max / 4)
      return Error{root_path + ": " + std::to_string(dirs.size()) +
                   " directories, more than a quarter of fs.inotify.max_user_watches (" +
                   std::to_string(max) + "): the tree is walked instead"};
  }
  std::vector<int> wds(dirs.size(), -1);
  FirstFailure failed;
  // Adding a watch is ~6 us of kernel work (4,700 directories in a Node base): two threads.
  OnTwoThreads(dirs.size(), [&](size_t from, size_t to) {
    std::string host;
    for (size_t i = from; i < to && !failed.failed(); ++i) {
      host = JoinPath(root_path, *dirs[i]);
      wds[i] = ::inotify_add_watch(w->fd_.get(), host.c_str(), kMask);
      if (wds[i] < 0) failed.Set(i, "inotify_add_watch");
    }
  });
  if (failed.failed()) {
    Error e = failed.ToError(JoinPath(root_path, *dirs[failed.at.load()]));
    if (e.sys_errno == ENOSPC)
      e.message += " (the per-user limit of watches, fs.inotify.max_user_watches, is reached)";
    return e;
  }
  w->dirs_.reserve(dirs.size());
  for (size_t i = 0; i < dirs.size(); ++i) w->dirs_.emplace(wds[i], *dirs[i]);
  w->reader_ = std::thread([p = w.get()] { p->Read(); });
  return w;
}

TreeWatch::~TreeWatch() {
  StopReader();
}

void TreeWatch::StopReader() {
  if (!reader_.joinable()) return;
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof one);
  reader_.join();
}

void TreeWatch::Read() {
  for (;;) {
    struct pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      std::lock_guard lock(mu_);
      incomplete_ = true;
      why_ = std::string("poll: ") + std::strerror(errno);
      return;
    }
    if (fds[1].revents) return;
    Drain();
  }
}

void TreeWatch::Drain() {
  alignas(struct inotify_event) char buf[64 << 10];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN) {
        std::lock_guard lock(mu_);
        incomplete_ = true;
        why_ = std::string("read: ") + std::strerror(errno);
      }
      return;
    }
    std::lock_guard lock(mu_);
    for (ssize_t at = 0; at < n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + at);
      at += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        incomplete_ = true;
        why_ = "the kernel's event queue overflowed";
        continue;
      }
      auto dir = dirs_.find(ev->wd);
      if (dir == dirs_.end()) continue;  // IN_IGNORED of a watch already gone
      if (ev->mask & IN_UNMOUNT) {
        incomplete_ = true;
        why_ = "a watched directory's filesystem was unmounted";
        continue;
      }
      if (ev->len > 0 && ev->name[0] != 0) {
        // The directory's own mtime moves with its names.
        restat_.insert(dir->second);
        std::string path = JoinPath(dir->second, ev->name);
        if (ev->mask & kNames)
          rewalk_.insert(std::move(path));
        else
          restat_.insert(std::move(path));
        continue;
      }
      // An event on the watched directory itself. Moved or removed: its parent's watch reported
      // the name; only the root has none, and the root cannot go.
      if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) && dir->second.empty()) {
        incomplete_ = true;
        why_ = "the root directory was moved or removed";
        continue;
      }
      if (ev->mask & (IN_ATTRIB | IN_MODIFY)) restat_.insert(dir->second);
    }
  }
}

Result<TreeChanges> TreeWatch::Finish() {
  StopReader();
  Drain();
  // The instance stays open until the object goes: closing it frees every watch (10 ms for a
  // Node base), which the caller may leave to another thread.
  if (incomplete_) return Error{"watching the tree for changes: " + why_};
  TreeChanges c;
  c.restat.assign(restat_.begin(), restat_.end());
  c.rewalk.assign(rewalk_.begin(), rewalk_.end());
  return c;
}

}  // namespace ocibuild::builder
