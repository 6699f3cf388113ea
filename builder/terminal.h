// The terminal behind a file descriptor: its size (TIOCGWINSZ), and SIGWINCH as a readable file
// descriptor, so the live progress view follows the window's width.
#pragma once

#include <memory>
#include <optional>

#include <signal.h>

#include "util/fd.h"
#include "util/result.h"

namespace ocibuild::builder {

struct TermSize {
  int cols = 80;
  int rows = 24;
};

// The size of the terminal `fd` refers to; nullopt when it is not a terminal (or says 0x0).
std::optional<TermSize> QueryTermSize(int fd);

// While it lives, SIGWINCH makes fd() readable (a self-pipe written by the handler; one
// watcher at a time). The signal is blocked in the thread that creates the watcher, so threads
// it starts later never see it (their poll and sleep calls are not interrupted); Unblock() lets
// the calling thread, the one that redraws, receive it.
class ResizeWatcher {
 public:
  static Result<std::unique_ptr<ResizeWatcher>> Start();
  ~ResizeWatcher();
  ResizeWatcher(const ResizeWatcher&) = delete;
  ResizeWatcher& operator=(const ResizeWatcher&) = delete;

  int fd() const { return read_.get(); }
  // Empties the pipe; true when a resize was signalled since the last call.
  bool Drain();
  static void Unblock();

 private:
  ResizeWatcher() = default;
  UniqueFd read_, write_;
  struct sigaction old_action_ {};
  sigset_t old_mask_{};
};

}  // namespace ocibuild::builder
