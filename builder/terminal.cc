#include "builder/terminal.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace ocibuild::builder {
namespace {

std::atomic<int> g_resize_fd{-1};

void OnWinch(int) {
  int saved = errno;
  int fd = g_resize_fd.load(std::memory_order_relaxed);
  if (fd >= 0) (void)!::write(fd, "w", 1);
  errno = saved;
}

}  // namespace

std::optional<TermSize> QueryTermSize(int fd) {
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0 || ws.ws_row == 0) return std::nullopt;
  return TermSize{ws.ws_col, ws.ws_row};
}

Result<std::unique_ptr<ResizeWatcher>> ResizeWatcher::Start() {
  std::unique_ptr<ResizeWatcher> w(new ResizeWatcher);
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return SysError("pipe2", "SIGWINCH");
  w->read_ = UniqueFd(fds[0]);
  w->write_ = UniqueFd(fds[1]);
  int expected = -1;
  if (!g_resize_fd.compare_exchange_strong(expected, w->write_.get()))
    return Error{"a terminal resize watcher is already running"};
  sigset_t winch;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  ::pthread_sigmask(SIG_BLOCK, &winch, &w->old_mask_);
  struct sigaction sa {};
  sa.sa_handler = OnWinch;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGWINCH, &sa, &w->old_action_);
  return w;
}

ResizeWatcher::~ResizeWatcher() {
  ::sigaction(SIGWINCH, &old_action_, nullptr);
  g_resize_fd.store(-1);
  ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

bool ResizeWatcher::Drain() {
  char buf[64];
  bool any = false;
  while (::read(read_.get(), buf, sizeof buf) > 0) any = true;
  return any;
}

void ResizeWatcher::Unblock() {
  sigset_t winch;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  ::pthread_sigmask(SIG_UNBLOCK, &winch, nullptr);
}

}  // namespace ocibuild::builder
