// Destroys large objects on a thread of its own. Freeing a snapshot of a 40,000-entry tree (a
// node base) takes tens of milliseconds of free() calls, which a build step would otherwise wait
// for between its commit and the next step. The thread starts with the first object handed
// over; the destructor frees whatever is still queued and joins it.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace ocibuild {

class Disposer {
 public:
  Disposer() = default;
  ~Disposer();
  Disposer(const Disposer&) = delete;
  Disposer& operator=(const Disposer&) = delete;

  // Takes `obj` (moved, so O(1) for containers) and destroys it later, on the worker.
  template <class T>
  void Dispose(T&& obj) {
    Push(std::make_shared<std::decay_t<T>>(std::forward<T>(obj)));
  }

 private:
  void Push(std::shared_ptr<void> obj);
  void Loop();

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<void>> queue_;
  bool stop_ = false;
  std::thread worker_;
};

}  // namespace ocibuild
