#include "builder/precompressor.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "util/fs.h"

namespace ocibuild::builder {
namespace {

bool NotBefore(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec >= b.tv_nsec);
}

struct timespec Minus(struct timespec t, std::chrono::milliseconds d) {
  int64_t ns = int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec -
               std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return {static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

constexpr int kMaxDepth = 128;

// File times come from the kernel's coarse clock, up to a tick behind CLOCK_REALTIME: a file
// written just after `since` can carry a time just before it.
constexpr std::chrono::milliseconds kCoarseClockSlack{20};

}  // namespace

Precompressor::Precompressor(std::string rootfs, oci::PrecompressedFiles& out,
                             struct timespec since, Options opts)
    : rootfs_(std::move(rootfs)), out_(out), since_(Minus(since, kCoarseClockSlack)), opts_(opts) {
  thread_ = std::thread([this] { Loop(); });
}

Precompressor::~Precompressor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Precompressor::Loop() {
  // Only CPU time nobody else wants: the step itself always goes first. A thread may always
  // lower itself to SCHED_IDLE; where even that is refused it just runs at its normal weight.
  struct sched_param sp {};
  (void)::pthread_setschedparam(::pthread_self(), SCHED_IDLE, &sp);
  auto pause = opts_.interval;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, pause, [&] { return stop_.load(); });
      if (stop_) return;
    }
    UniqueFd root(::open(rootfs_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root.valid()) return;
    auto t0 = std::chrono::steady_clock::now();
    compressing_ = {};
    struct stat st;
    if (::fstat(root.get(), &st) != 0) return;
    Walk(root.get(), 0, NotBefore(st.st_ctim, since_));
    ++passes_;
    // A big tree is walked less often: the walks (stats, mostly) stay a small part of the work.
    auto walking = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - t0 - compressing_);
    pause = std::max(opts_.interval, 4 * walking);
  }
}

void Precompressor::Walk(int dir_fd, int depth, bool entries_changed) {
  if (depth > kMaxDepth || stop_) return;
  int fd = ::dup(dir_fd);
  if (fd < 0) return;
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return;
  }
  ::rewinddir(d);
  while (struct dirent* e = ::readdir(d)) {
    if (stop_) break;
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    if (e->d_type != DT_DIR && e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    // A directory whose entries the step has not touched (its ctime is older than the step)
    // gained no file: only a file of it written in place could be a candidate, and such
    // rewrites are rare enough to leave to the layer writer. Skipping their stats makes a pass
    // over a base image's tree cost a stat per directory instead of one per file.
    if (e->d_type == DT_REG && !entries_changed) continue;
    struct stat st;
    if (::fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dir_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid()) Walk(sub.get(), depth + 1, NotBefore(st.st_ctim, since_));
    } else if (S_ISREG(st.st_mode)) {
      Consider(dir_fd, e->d_name, st);
    }
  }
  ::closedir(d);
}

void Precompressor::Consider(int dir_fd, const char* name, const struct stat& st) {
  if (static_cast<uint64_t>(st.st_size) < oci::PrecompressedFiles::kMinSize) return;
  if (!NotBefore(st.st_ctim, since_)) return;  // not written by this step
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  if (NotBefore(st.st_ctim, Minus(now, opts_.settle))) return;  // may still be being written
  if (out_.Has(st)) return;
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return;
  struct stat again;
  if (::fstat(fd.get(), &again) != 0 || !S_ISREG(again.st_mode) || again.st_ino != st.st_ino)
    return;
  // A failure (a full disk for the spill file) only means the layer writer compresses it.
  auto t0 = std::chrono::steady_clock::now();
  (void)out_.Add(fd.get(), again, stop_);
  compressing_ += std::chrono::steady_clock::now() - t0;
}

}  // namespace ocibuild::builder
