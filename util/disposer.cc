#include "util/disposer.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <system_error>

namespace ocibuild {

Disposer::~Disposer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (worker_.joinable()) worker_.join();
  queue_.clear();  // anything pushed when no worker ran
}

void Disposer::Push(std::shared_ptr<void> obj) {
  std::unique_lock lock(mu_);
  if (!worker_.joinable()) {
    try {
      worker_ = std::thread([this] { Loop(); });
    } catch (const std::system_error&) {
      // No thread to be had (a pids limit): freed here and now, as without a disposer.
      lock.unlock();
      obj.reset();
      return;
    }
  }
  queue_.push_back(std::move(obj));
  cv_.notify_one();
}

void Disposer::Loop() {
  // Freeing is never urgent: it takes a CPU only when the build leaves one idle (this thread's
  // own nice value; the build's threads keep theirs).
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), 19);
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopped, and nothing left
    std::vector<std::shared_ptr<void>> batch;
    batch.swap(queue_);
    lock.unlock();
    batch.clear();  // the frees, outside the lock
    lock.lock();
  }
}

}  // namespace ocibuild
