// Syscall-bound work over many independent items (linking a restored tree, adding a watch per
// directory) split over two threads: the kernel side of such calls runs in parallel, and a
// second core nearly halves them.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>
#include <thread>

#include "util/result.h"

namespace ocibuild {

// Runs work(from, to) over [0, n), half on a second thread when there is enough to split and a
// thread to be had (a pids limit may refuse it: then all on this one).
inline void OnTwoThreads(size_t n, const std::function<void(size_t, size_t)>& work) {
  constexpr size_t kSplitFrom = 64;
  std::thread helper;
  if (n >= kSplitFrom) {
    try {
      helper = std::thread(work, n / 2, n);
    } catch (const std::system_error&) {
    }
  }
  work(0, helper.joinable() ? n / 2 : n);
  if (helper.joinable()) helper.join();
}

// The first failure of workers running in parallel: which item, which call, its errno.
struct FirstFailure {
  std::atomic<size_t> at{SIZE_MAX};
  std::atomic<int> err{0};
  std::atomic<const char*> op{nullptr};
  bool failed() const { return at.load() != SIZE_MAX; }
  void Set(size_t i, const char* what) {
    size_t none = SIZE_MAX;
    int e = errno;
    if (at.compare_exchange_strong(none, i)) {
      err.store(e);
      op.store(what);
    }
  }
  Error ToError(const std::string& path) const {
    errno = err.load();
    return SysError(op.load(), path);
  }
};

}  // namespace ocibuild
