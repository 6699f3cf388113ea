#include "util/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "util/fd.h"

extern char** environ;

namespace ocibuild {
namespace {

struct Pipe {
  UniqueFd r, w;
};

Result<Pipe> MakePipe() {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return SysError("pipe2", "");
  return Pipe{UniqueFd(p[0]), UniqueFd(p[1])};
}

std::vector<std::string> BuildEnv(const SpawnOptions& opts) {
  std::vector<std::string> env;
  if (opts.env) {
    env = *opts.env;
  } else {
    for (char** e = environ; *e; ++e) env.emplace_back(*e);
  }
  for (const auto& [k, v] : opts.extra_env) {
    std::string prefix = k + "=";
    std::erase_if(env, [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
    env.push_back(prefix + v);
  }
  return env;
}

// Forks and execs; in the child only async-signal-safe calls are made.
Result<pid_t> ForkExec(const std::vector<std::string>& argv, const SpawnOptions& opts, int in_fd,
                       int out_fd, int err_fd, bool new_pgrp) {
  if (argv.empty()) return Error{"spawn: empty argv"};
  std::vector<std::string> env = BuildEnv(opts);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  auto err_pipe = MakePipe();
  if (!err_pipe.ok()) return err_pipe.error();
  pid_t pid = ::fork();
  if (pid < 0) return SysError("fork", argv[0]);
  if (pid == 0) {
    if (new_pgrp) ::setpgid(0, 0);
    if (in_fd >= 0) ::dup2(in_fd, 0);
    if (out_fd >= 0) ::dup2(out_fd, 1);
    if (err_fd >= 0) ::dup2(err_fd, 2);
    if (!opts.cwd.empty() && ::chdir(opts.cwd.c_str()) != 0) {
      int e = errno;
      (void)!::write(err_pipe->w.get(), &e, sizeof e);
      ::_exit(127);
    }
    if (opts.search_path)
      ::execvpe(cargv[0], cargv.data(), cenv.data());
    else
      ::execve(cargv[0], cargv.data(), cenv.data());
    int e = errno;
    (void)!::write(err_pipe->w.get(), &e, sizeof e);
    ::_exit(127);
  }
  err_pipe->w.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_pipe->r.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n == sizeof child_errno) {
    ::waitpid(pid, nullptr, 0);
    return SysError("exec", argv[0] + (opts.cwd.empty() ? "" : " (in " + opts.cwd + ")"),
                    child_errno);
  }
  return pid;
}

}  // namespace

Result<ProcessResult> RunProcess(const std::vector<std::string>& argv, const SpawnOptions& opts) {
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  Pipe in, out, err;
  if (opts.stdin_data) {
    OCIB_ASSIGN_OR_RETURN(in, MakePipe());
  }
  if (opts.capture_stdout) {
    OCIB_ASSIGN_OR_RETURN(out, MakePipe());
  }
  if (opts.capture_stderr) {
    OCIB_ASSIGN_OR_RETURN(err, MakePipe());
  }
  OCIB_ASSIGN_OR_RETURN(
      pid_t pid, ForkExec(argv, opts, opts.stdin_data ? in.r.get() : devnull.get(),
                          opts.capture_stdout ? out.w.get() : -1,
                          opts.capture_stderr ? err.w.get() : -1, false));
  in.r.reset();
  out.w.reset();
  err.w.reset();

  ProcessResult res;
  std::string_view to_write = opts.stdin_data ? std::string_view(*opts.stdin_data) : "";
  if (!opts.stdin_data) in.w.reset();
  if (in.w) ::fcntl(in.w.get(), F_SETFL, O_NONBLOCK);
  if (in.w && to_write.empty()) in.w.reset();
  while (in.w || out.r || err.r) {
    pollfd fds[3];
    int nfds = 0;
    int idx_in = -1, idx_out = -1, idx_err = -1;
    if (in.w) fds[idx_in = nfds++] = {in.w.get(), POLLOUT, 0};
    if (out.r) fds[idx_out = nfds++] = {out.r.get(), POLLIN, 0};
    if (err.r) fds[idx_err = nfds++] = {err.r.get(), POLLIN, 0};
    if (::poll(fds, nfds, -1) < 0) {
      if (errno == EINTR) continue;
      return SysError("poll", argv[0]);
    }
    char buf[65536];
    if (idx_in >= 0 && fds[idx_in].revents) {
      ssize_t n = ::write(in.w.get(), to_write.data(), to_write.size());
      if (n > 0) to_write.remove_prefix(static_cast<size_t>(n));
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || to_write.empty()) in.w.reset();
    }
    auto drain = [&](int idx, UniqueFd& fd, std::string& dst) {
      if (idx < 0 || !fds[idx].revents) return;
      ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n > 0)
        dst.append(buf, static_cast<size_t>(n));
      else if (n == 0 || (errno != EINTR && errno != EAGAIN))
        fd.reset();
    };
    drain(idx_out, out.r, res.out);
    drain(idx_err, err.r, res.err);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return SysError("waitpid", argv[0]);
  }
  if (WIFEXITED(status)) {
    res.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    res.term_signal = WTERMSIG(status);
  }
  return res;
}

Result<Child> Child::Start(const std::vector<std::string>& argv, const SpawnOptions& opts,
                           const std::string& log_path) {
  UniqueFd devnull(::open("/dev/null", O_RDWR | O_CLOEXEC));
  UniqueFd log;
  if (!log_path.empty()) {
    log.reset(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log) return SysError("open", log_path);
  }
  int out = log ? log.get() : (opts.capture_stdout ? devnull.get() : -1);
  int err = log ? log.get() : (opts.capture_stderr ? devnull.get() : -1);
  OCIB_ASSIGN_OR_RETURN(pid_t pid, ForkExec(argv, opts, devnull.get(), out, err, true));
  Child c;
  c.pid_ = pid;
  c.reaped_ = false;
  return c;
}

Child::Child(Child&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), status_(o.status_), reaped_(std::exchange(o.reaped_, true)) {}

Child& Child::operator=(Child&& o) noexcept {
  if (this != &o) {
    Kill();
    pid_ = std::exchange(o.pid_, -1);
    status_ = o.status_;
    reaped_ = std::exchange(o.reaped_, true);
  }
  return *this;
}

Child::~Child() { Kill(); }

bool Child::Running() {
  if (reaped_) return false;
  pid_t r = ::waitpid(pid_, &status_, WNOHANG);
  if (r == pid_) reaped_ = true;
  return !reaped_;
}

int Child::Wait() {
  if (!reaped_) {
    while (::waitpid(pid_, &status_, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
  }
  if (WIFEXITED(status_)) return WEXITSTATUS(status_);
  if (WIFSIGNALED(status_)) return -WTERMSIG(status_);
  return -1;
}

void Child::Kill() {
  if (reaped_ || pid_ <= 0) return;
  ::kill(-pid_, SIGTERM);
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (!Running()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  Wait();
}

std::string ShellQuote(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                                                   "WXYZ0123456789_-./=:,+@%") == std::string::npos;
    if (plain) {
      out += a;
    } else {
      out += '\'';
      for (char c : a) {
        if (c == '\'')
          out += "'\\''";
        else
          out += c;
      }
      out += '\'';
    }
  }
  return out;
}

}  // namespace ocibuild
