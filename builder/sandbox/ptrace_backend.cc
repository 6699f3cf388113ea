// The default backend: a supervisor process (so that waitpid(-1) sees only tracees and the caller's
// other children are never reaped by mistake) that forks the step's first process, seizes it,
// installs nothing itself but lets the child install the seccomp filter, and runs the tracer.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "builder/sandbox/sandbox.h"
#include "builder/sandbox/seccomp_policy.h"
#include "builder/sandbox/tracer.h"
#include "oci/metastore.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/sys/ptrace.h"
#include "util/sys/seccomp.h"

namespace ocibuild::sandbox {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Finds argv[0] in the guest like execvp would: returns the guest path or an Error (ENOENT).
Result<std::string> FindProgram(const PathResolver& resolver, const RunSpec& spec) {
  const std::string& name = spec.argv[0];
  std::string host, guest;
  auto usable = [&](const std::string& candidate, const std::string& base) {
    if (!resolver.Resolve(candidate, base, true, &host, &guest).ok()) return false;
    struct stat st;
    return ::stat(host.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(host.c_str(), X_OK) == 0;
  };
  if (name.find('/') != std::string::npos) {
    if (usable(name, spec.cwd)) return guest;
    return Error{"exec " + name + ": no such executable in the rootfs", ENOENT};
  }
  std::string path = kDefaultPath;
  for (const std::string& e : spec.env)
    if (StartsWith(e, "PATH=")) path = e.substr(5);
  for (const std::string& dir : Split(path, ':')) {
    if (dir.empty()) continue;
    if (usable(dir + "/" + name, spec.cwd)) return guest;
  }
  return Error{"exec " + name + ": executable file not found in $PATH (" + path + ")", ENOENT};
}

// What a user can do when PTRACE_SEIZE of our own child is refused: it is always policy (a
// seccomp profile without ptrace, an LSM, or Yama scope 2/3), never a missing privilege.
constexpr char kPtraceFix[] =
    ". RUN steps need ptrace, which the default seccomp profiles of Docker, containerd and "
    "CRI-O allow (kernel >= 4.8): run ocibuild under that default (Docker: no --security-opt "
    "seccomp=...; Kubernetes: securityContext.seccompProfile.type: RuntimeDefault) or, where "
    "your policy allows it, Unconfined, and keep kernel.yama.ptrace_scope at 0 or 1. "
    "Dockerfiles without RUN build here as they are; `ocibuild doctor` checks this environment";

void WriteStr(int fd, const std::string& s) {
  (void)!::write(fd, s.data(), s.size());
}

// Closes every descriptor from 3 up except `keep`. The builder is multithreaded (stages build
// concurrently): a descriptor another thread had open at fork time (a file being unpacked,
// another step's output pipe) would otherwise stay open here for the whole step, failing execs
// of that file with ETXTBSY and keeping that pipe from reaching EOF.
void CloseOtherFds(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  unsigned from = 3;
  for (int k : keep) {
    if (k < static_cast<int>(from)) continue;
    if (static_cast<unsigned>(k) > from) ::syscall(SYS_close_range, from, k - 1, 0);
    from = static_cast<unsigned>(k) + 1;
  }
  ::syscall(SYS_close_range, from, ~0U, 0);
}

// Runs in the supervisor; never returns.
[[noreturn]] void Supervise(const RunSpec& spec, const PathResolver& resolver,
                            const std::string& exe, const std::vector<sock_filter>& filter,
                            const std::string& host_cwd, int stdin_fd, int result_fd) {
  CloseOtherFds({stdin_fd, spec.stdout_fd, spec.stderr_fd, result_fd});
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Orphans of the step are re-parented here, so they stay reapable (and traced).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  std::string store_path = spec.metastore_path.empty() ? oci::MetaStore::PathFor(resolver.rootfs())
                                                       : spec.metastore_path;
  auto store = oci::MetaStore::Load(store_path);
  if (!store.ok()) {
    WriteStr(result_fd, "err 0 " + store.error().message);
    ::_exit(1);
  }
  std::vector<std::string> argv_s = spec.argv;
  argv_s[0] = spec.argv[0];
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = spec.env;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) {
    WriteStr(result_fd, "err " + std::to_string(errno) + " pipe2: " + std::strerror(errno));
    ::_exit(1);
  }
  pid_t child = ::fork();
  if (child < 0) {
    WriteStr(result_fd, "err " + std::to_string(errno) + " fork: " + std::strerror(errno));
    ::_exit(1);
  }
  if (child == 0) {
    // The step's first process. Only async-signal-safe calls from here to execve.
    ::close(go[1]);
    char b;
    while (::read(go[0], &b, 1) < 0 && errno == EINTR) {
    }
    // A step starts as a container's process does: nothing blocked, nothing ignored. ocibuild
    // blocks SIGINT and SIGTERM for its own Ctrl-C handling, and libraries may ignore SIGPIPE;
    // inherited, either would break `timeout`, `kill $pid` of a helper daemon, `yes | head`.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl = {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
      if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
    if (::dup2(stdin_fd, 0) < 0 || ::dup2(spec.stdout_fd, 1) < 0 || ::dup2(spec.stderr_fd, 2) < 0)
      ::_exit(126);
    ::syscall(SYS_close_range, 3, ~0U, 0);
    if (::chdir(host_cwd.c_str()) != 0) ::_exit(126);
    ::umask(spec.umask);
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    if (sys::InstallSeccompFilter(filter) != 0) {
      static const char msg[] = "ocibuild sandbox: installing the seccomp filter failed\n";
      (void)!::write(2, msg, sizeof msg - 1);
      ::_exit(126);
    }
    ::execve(exe.c_str(), argv.data(), envp.data());
    static const char msg[] = "ocibuild sandbox: exec of the step's command failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(go[0]);
  Status seized = sys::Seize(child);
  if (!seized.ok()) {
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    // Its own tag: the parent adds what would fix it (nothing else can fail this way).
    WriteStr(result_fd,
             "noptrace " + std::to_string(seized.error().sys_errno) + " " + seized.error().message);
    ::_exit(1);
  }
  (void)!::write(go[1], "g", 1);
  ::close(go[1]);
  TracerOptions topts;
  topts.shared_inodes = spec.shared_inodes;
  topts.log_fd = spec.stderr_fd;
  topts.verbose = spec.verbose;
  topts.network = spec.network;
  topts.pack_cpus = spec.pack_cpus;
  topts.cpu_hint = spec.cpu_hint;
  Tracer tracer(resolver, &*store, topts);
  auto status = tracer.Run(child, FakeCreds::For(spec.uid, spec.gid, spec.groups), exe);
  if (spec.verbose) tracer.PrintHistogram();
  Status saved = store->Save(store_path);
  if (!status.ok()) {
    WriteStr(result_fd,
             "err " + std::to_string(status.error().sys_errno) + " " + status.error().message);
    ::_exit(1);
  }
  if (!saved.ok()) {
    WriteStr(result_fd,
             "err " + std::to_string(saved.error().sys_errno) + " " + saved.error().message);
    ::_exit(1);
  }
  WriteStr(result_fd,
           "ok " + std::to_string(*status) + " " + std::to_string(tracer.traced_syscalls()));
  ::_exit(0);
}

// Kills and reaps the supervisor if the caller gives up early (error paths, exceptions).
class SupervisorGuard {
 public:
  explicit SupervisorGuard(pid_t pid) : pid_(pid) {}
  SupervisorGuard(const SupervisorGuard&) = delete;
  SupervisorGuard& operator=(const SupervisorGuard&) = delete;
  ~SupervisorGuard() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
  }
  int Wait() {
    int st = 0;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return st;
  }

 private:
  pid_t pid_;
};

class PtraceBackend : public Backend {
 public:
  std::string name() const override { return "ptrace"; }

  Result<RunResult> Run(const RunSpec& spec) override {
    if (spec.argv.empty()) return Error{"RUN step with an empty command", EINVAL};
    OCIB_ASSIGN_OR_RETURN(TempDir private_dir, TempDir::Create("ocibuild-run-"));
    std::vector<PathMapping> mappings =
        spec.mappings.empty() ? DefaultMappings(private_dir.path()) : spec.mappings;
    OCIB_ASSIGN_OR_RETURN(PathResolver resolver, PathResolver::Create(spec.rootfs, mappings));
    std::string host_cwd;
    OCIB_TRY(resolver.Resolve(spec.cwd.empty() ? "/" : spec.cwd, "/", true, &host_cwd));
    if (!PathExists(host_cwd)) OCIB_TRY(MakeDirs(host_cwd));
    auto exe = FindProgram(resolver, spec);
    if (!exe.ok()) {
      WriteStr(spec.stderr_fd, "ocibuild: " + exe.error().message + "\n");
      RunResult rr;
      rr.exit_code = 127;
      return rr;
    }
    OCIB_ASSIGN_OR_RETURN(std::vector<sock_filter> filter, BuildFilter(spec.network));
    UniqueFd devnull;
    int stdin_fd = spec.stdin_fd;
    if (stdin_fd < 0) {
      OCIB_ASSIGN_OR_RETURN(devnull, OpenFile("/dev/null", O_RDONLY));
      stdin_fd = devnull.get();
    }
    int rp[2];
    if (::pipe2(rp, O_CLOEXEC) != 0) return SysError("pipe2", "sandbox result");
    UniqueFd result_r(rp[0]), result_w(rp[1]);
    pid_t sup = ::fork();
    if (sup < 0) return SysError("fork", "sandbox supervisor");
    if (sup == 0) {
      result_r.reset();
      Supervise(spec, resolver, *exe, filter, host_cwd, stdin_fd, result_w.get());
    }
    SupervisorGuard guard(sup);
    result_w.reset();
    // The supervisor's exit, not EOF, ends the result: supervisors of steps running at the same
    // time (stages build concurrently) inherit this pipe's write end. The result is a short line
    // that fits the pipe's buffer, so the supervisor never blocks writing it.
    int sup_status = guard.Wait();
    ::fcntl(result_r.get(), F_SETFL, O_NONBLOCK);
    std::string msg;
    char buf[512];
    for (;;) {
      ssize_t n = ::read(result_r.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      msg.append(buf, static_cast<size_t>(n));
    }
    if (StartsWith(msg, "noptrace ")) {
      auto [code, text] = SplitOnce(msg.substr(9), ' ');
      int err = std::atoi(code.c_str());
      if (err == EPERM || err == ENOSYS || err == EACCES) text += std::string(kPtraceFix);
      return Error{"sandbox: " + text, err};
    }
    if (StartsWith(msg, "err ")) {
      auto [code, text] = SplitOnce(msg.substr(4), ' ');
      return Error{"sandbox: " + text, std::atoi(code.c_str())};
    }
    if (!StartsWith(msg, "ok ")) {
      return Error{"sandbox supervisor died without a result (wait status " +
                       std::to_string(sup_status) + ")",
                   0};
    }
    auto parts = Split(msg.substr(3), ' ');
    int status = std::atoi(parts[0].c_str());
    RunResult rr;
    if (parts.size() > 1) rr.traced_syscalls = std::strtoull(parts[1].c_str(), nullptr, 10);
    if (WIFEXITED(status)) {
      rr.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      rr.term_signal = WTERMSIG(status);
      rr.exit_code = 128 + rr.term_signal;
    }
    return rr;
  }
};

}  // namespace

std::unique_ptr<Backend> MakePtraceBackend() {
  return std::make_unique<PtraceBackend>();
}

Result<RunResult> RunStep(const RunSpec& spec) {
  return MakePtraceBackend()->Run(spec);
}

}  // namespace ocibuild::sandbox
