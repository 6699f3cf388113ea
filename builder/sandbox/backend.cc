// The default backend: a supervisor process (so that waitpid(-1) sees only the step's tasks and
// the caller's other children are never reaped by mistake) that forks the step's first process,
// seizes it, takes its seccomp listener, and runs the notification workers and the tracer.
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "builder/sandbox/guest_fs.h"
#include "builder/sandbox/process_table.h"
#include "builder/sandbox/sandbox.h"
#include "builder/sandbox/seccomp_policy.h"
#include "builder/sandbox/supervisor.h"
#include "builder/sandbox/tracer.h"
#include "oci/metastore.h"
#include "util/bytes.h"
#include "util/fd.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/sys/pidfd.h"
#include "util/sys/ptrace.h"
#include "util/sys/seccomp.h"

namespace ocibuild::sandbox {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Finds argv[0] in the guest like execvp would: returns the guest path or an Error (ENOENT).
Result<std::string> FindProgram(GuestFs& fs, const RunSpec& spec) {
  const std::string& name = spec.argv[0];
  auto usable = [&](const std::string& candidate, std::string* guest) {
    WalkOptions o;
    Resolved r;
    int links = 0;
    if (fs.Walk(0, spec.cwd, candidate, o, &r, &links) != 0) return false;
    for (;;) {
      if (r.in_proc() || r.is_mount_root()) return false;
      struct stat st;
      if (::fstatat(r.dir.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
      if (S_ISLNK(st.st_mode)) {
        if (fs.FollowFinal(0, &r, o, &links) != 0) return false;
        continue;
      }
      if (!S_ISREG(st.st_mode) || !(fs.MetaOf(*r.mount, st).mode & 0111)) return false;
      *guest = r.guest;
      return true;
    }
  };
  std::string guest;
  if (name.find('/') != std::string::npos) {
    if (usable(name, &guest)) return guest;
    return Error{"exec " + name + ": no such executable in the rootfs", ENOENT};
  }
  std::string path = kDefaultPath;
  for (const std::string& e : spec.env)
    if (StartsWith(e, "PATH=")) path = e.substr(5);
  for (const std::string& dir : Split(path, ':')) {
    if (dir.empty()) continue;
    if (usable(dir + "/" + name, &guest)) return guest;
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

// As real root the supervisor (and so the step) keeps uid 0 but no capability: every file it
// works on is its own, and a capability would reach beyond the step (raw sockets, other users'
// processes, ptrace of anything). The step's root is faked; nothing of the host's is lent.
void DropCapabilities() {
  __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (::syscall(SYS_capget, &hdr, data) != 0) return;
  if (!data[0].permitted && !data[1].permitted) return;
  for (int cap = 0; cap <= 63; ++cap)
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno == EINVAL) break;
  std::memset(data, 0, sizeof data);
  ::syscall(SYS_capset, &hdr, data);
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

// The descriptor number of the step's end of the channel (see Supervise): the highest its
// RLIMIT_NOFILE allows, at most 65536.
int ChannelNumber(const struct rlimit& nofile) {
  rlim_t top = nofile.rlim_max == RLIM_INFINITY ? 65536 : std::min<rlim_t>(nofile.rlim_max, 65536);
  return static_cast<int>(top) - 1;
}

// What the supervisor needs that does not change from step to step, worked out in the builder
// before the fork: asked in each supervisor (a fresh process every step) the probe of the
// kernel's seccomp flags (a fork) and the compiling of the policy by libseccomp cost 6-8 ms of a
// step's ~25 ms start, for nothing.
struct Prepared {
  std::vector<sock_filter> filter;
  bool killable = false;
  int channel_fd = -1;  // the number the filter lets sendmsg through on
};

Result<Prepared> Prepare(const FilterOptions& fo) {
  // Each distinct policy is compiled once per process (a step's options: network on or off,
  // devices in the store or not, the channel's number).
  static std::mutex mu;
  static std::map<std::tuple<bool, bool, int>, std::vector<sock_filter>> compiled;
  // A field added to FilterOptions must be added to the key too.
  static_assert(sizeof(FilterOptions) == 2 * sizeof(bool) + 2 + sizeof(int));
  Prepared p;
  p.channel_fd = fo.channel_fd;
  p.killable = sys::SeccompFlagSupported(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_tuple(fo.network, fo.getdents, fo.channel_fd);
  auto it = compiled.find(key);
  if (it == compiled.end()) {
    OCIB_ASSIGN_OR_RETURN(std::vector<sock_filter> f, BuildFilter(fo));
    it = compiled.emplace(key, std::move(f)).first;
  }
  p.filter = it->second;
  return p;
}

// Runs in the supervisor; never returns.
[[noreturn]] void Supervise(const RunSpec& spec, const std::vector<PathMapping>& mappings,
                            const std::string& private_dir, const Prepared& prep, int stdin_fd,
                            int result_fd) {
  CloseOtherFds({stdin_fd, spec.stdout_fd, spec.stderr_fd, result_fd});
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  // Before any thread exists, so that every one inherits the mask: the tracer sleeps until these
  // are pending, and a thread that let one through would take it from the tracer (tracer.h).
  sigset_t wake = Tracer::WakeSignals();
  ::pthread_sigmask(SIG_BLOCK, &wake, nullptr);
  // Orphans of the step are re-parented here, so they stay reapable (and traced).
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  // No controlling terminal: nothing we open on the step's behalf can become one, and the
  // builder's terminal is never within reach.
  ::setsid();
  DropCapabilities();
  auto fail = [&](int err, const std::string& msg) {
    WriteStr(result_fd, "err " + std::to_string(err) + " " + msg);
    ::_exit(1);
  };
  // The step keeps the soft RLIMIT_NOFILE it was given; the supervisor itself holds a descriptor
  // per cached directory and per call in flight, which a soft limit of 1024 (systemd's, many CI
  // runners') does not fit under npm ci or dpkg: its own soft limit goes up to the hard one.
  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0) fail(errno, "getrlimit");
  if (nofile.rlim_cur < nofile.rlim_max) {
    struct rlimit raised = {nofile.rlim_max, nofile.rlim_max};
    ::setrlimit(RLIMIT_NOFILE, &raised);  // best effort: the cache bound follows what we got
  }
  std::string store_path =
      spec.metastore_path.empty() ? oci::MetaStore::PathFor(spec.rootfs) : spec.metastore_path;
  auto store = oci::MetaStore::Load(store_path);
  if (!store.ok()) fail(0, store.error().message);
  auto fs = GuestFs::Create(spec.rootfs, mappings, &*store);
  if (!fs.ok()) fail(fs.error().sys_errno, fs.error().message);
  std::string exec_dir = private_dir + "/exec", proc_dir = private_dir + "/procview",
              kernel_cwd = private_dir + "/cwd";
  for (const std::string& d : {exec_dir, proc_dir}) ::mkdir(d.c_str(), 0700);
  // The step's kernel-side working directory: an empty directory it can do nothing in (every
  // path it names is resolved by the supervisor against its guest cwd instead).
  ::mkdir(kernel_cwd.c_str(), 0100);
  auto exe = FindProgram(**fs, spec);
  if (!exe.ok()) {
    WriteStr(spec.stderr_fd, "ocibuild: " + exe.error().message + "\n");
    WriteStr(result_fd, "ok " + std::to_string(127 << 8) + " 0 0");
    ::_exit(0);
  }
  // The descriptor channel (tracer.h): a SOCK_SEQPACKET pair; the step's end sits at the highest
  // descriptor number its RLIMIT_NOFILE allows, and the limit then ends just below it, so no
  // step process can ever put another file at that number.
  int chan[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) != 0) fail(errno, "socketpair");
  UniqueFd channel(chan[0]), guest_channel(chan[1]);
  // The number the filter was compiled for (from the builder's limit, which this process
  // inherited): one a prlimit from outside has moved since would leave the channel unprotected.
  int channel_num = prep.channel_fd;
  if (channel_num != ChannelNumber(nofile))
    fail(EAGAIN, "RLIMIT_NOFILE changed while the step was starting");
  rlim_t top = static_cast<rlim_t>(channel_num) + 1;
  if (top < 64) fail(EMFILE, "RLIMIT_NOFILE is too low to run a step");
  bool killable = prep.killable;
  unsigned long extra = killable ? SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV : 0;
  std::vector<std::string> argv_s = spec.argv;
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = spec.env;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string guest_exe = *exe;
  int go[2];
  if (::pipe2(go, O_CLOEXEC) != 0) fail(errno, "pipe2");
  pid_t child = ::fork();
  if (child < 0) fail(errno, std::string("fork: ") + std::strerror(errno));
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
    struct rlimit room = {top, top};
    if (::setrlimit(RLIMIT_NOFILE, &room) != 0 ||
        ::dup2(guest_channel.get(), channel_num) != channel_num)
      ::_exit(126);
    struct rlimit below = {std::min<rlim_t>(nofile.rlim_cur, top - 1), top - 1};
    if (::setrlimit(RLIMIT_NOFILE, &below) != 0) ::_exit(126);
    // Nothing of ours reaches the step: 0-2, the channel, and (until exec) the go pipe at 3.
    const int go_fd = 3;
    if (go[0] == go_fd ? ::fcntl(go_fd, F_SETFD, FD_CLOEXEC) != 0
                       : ::dup3(go[0], go_fd, O_CLOEXEC) != go_fd)
      ::_exit(126);
    ::syscall(SYS_close_range, go_fd + 1, channel_num - 1, 0);
    ::syscall(SYS_close_range, channel_num + 1, ~0U, 0);
    if (::chdir(kernel_cwd.c_str()) != 0) ::_exit(126);
    ::umask(spec.umask);
    // Its own session and process group: kill(0, ...) and kill(-pgid, ...) reach only the step.
    ::setsid();
    ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    int listener = sys::InstallSeccompFilterWithListener(
        prep.filter.data(), static_cast<unsigned short>(prep.filter.size()), extra);
    if (listener < 0) {
      static const char msg[] = "ocibuild sandbox: installing the seccomp filter failed\n";
      (void)!::write(2, msg, sizeof msg - 1);
      ::_exit(126);
    }
    // From here on only calls the filter lets through without the supervisor (sendmsg on the
    // channel, read): the supervisor is not listening yet.
    char cbuf[CMSG_SPACE(sizeof(int))] = {};
    char one = 'l';
    struct iovec iov = {&one, 1};
    struct msghdr m = {};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    struct cmsghdr* cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cm), &listener, sizeof listener);
    if (::sendmsg(channel_num, &m, 0) != 1) ::_exit(126);
    while (::read(go_fd, &b, 1) < 0 && errno == EINTR) {
    }
    // The go pipe and the listener are close-on-exec: the step keeps 0-2 and the channel.
    ::execve(guest_exe.c_str(), argv.data(), envp.data());
    static const char msg[] = "ocibuild sandbox: exec of the step's command failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::close(go[0]);
  guest_channel.reset();
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
  int listener = -1;
  {
    // The listener, as the step's first process sent it over the channel.
    char byte;
    struct iovec iov = {&byte, 1};
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct msghdr m = {};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = cbuf;
    m.msg_controllen = sizeof cbuf;
    ssize_t n;
    do {
      n = ::recvmsg(channel.get(), &m, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    struct cmsghdr* cm = n == 1 ? CMSG_FIRSTHDR(&m) : nullptr;
    if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
      std::memcpy(&listener, CMSG_DATA(cm), sizeof listener);
  }
  if (listener < 0) {
    ::kill(child, SIGKILL);
    fail(EIO, "the step's first process did not hand over its seccomp listener");
  }
  int pidfd = sys::PidfdOpen(child);
  UniqueFd listener_fd(listener);
  (void)sys::NotifSetSyncWakeUp(listener);  // Linux 6.6+; one CPU hand-off per notification
  ProcessTable procs;
  auto first = std::make_shared<Task>();
  first->tid = child;
  first->proc = std::make_shared<Process>(child);
  if (pidfd >= 0) first->proc->pidfd.reset(pidfd);
  first->proc->exe = guest_exe;
  first->fs = std::make_shared<FsState>();
  first->fs->cwd = spec.cwd.empty() ? "/" : spec.cwd;
  first->fs->umask = spec.umask;
  (void)(*fs)->Dir(first->fs->cwd, &first->fs->cwd_dir);
  first->fs->cwd_gen = (*fs)->generation();
  first->creds = FakeCreds::For(spec.uid, spec.gid, spec.groups);
  procs.Add(first);
  TracerOptions topts;
  topts.log_fd = spec.stderr_fd;
  topts.verbose = spec.verbose;
  topts.exec_dir = exec_dir;
  topts.emulator = spec.emulator;
  topts.channel = channel.get();
  topts.guest_channel = channel_num;
  topts.filter = prep.filter;
  topts.restart_untaken = killable;
  Tracer tracer(**fs, procs, topts);
  SupervisorOptions so;
  so.log_fd = spec.stderr_fd;
  so.verbose = spec.verbose;
  so.network = spec.network;
  so.shared_inodes = spec.shared_inodes;
  so.foreign_links = spec.foreign_links;
  so.abstract_prefix = "ocibuild-" + RandomHex(8) + "/";
  so.hostname = spec.hostname;
  so.scratch_dir = proc_dir;
  so.replay_interrupted = !killable;
  Supervisor sv(**fs, procs, so);
  sv.set_on_traced_done([&tracer](pid_t tid, int64_t v) { tracer.Done(tid, v); });
  tracer.set_submit([&sv](std::unique_ptr<Call> c) { sv.Submit(std::move(c)); });
  // One receiver to start with: more are started when a call blocks or a backlog builds
  // (Supervisor::LetOneMoreInLocked), so a short step does not pay for threads it never uses.
  if (!sv.Start(listener, 1)) {
    ::kill(child, SIGKILL);
    fail(EAGAIN, "no thread could be started to answer the step's calls");
  }
  (void)!::write(go[1], "g", 1);
  ::close(go[1]);
  auto status = tracer.Run(child);
  sv.Stop();
  sv.CleanupIpc();
  if (spec.verbose) sv.PrintHistogram();
  Status saved = store->Save(store_path);
  if (saved.ok()) saved = (*fs)->SaveMountStores();
  if (!spec.copy_up_log.empty()) {
    ByteWriter w;
    for (const CopiedUp& cu : sv.copy_ups()) {
      w.U64(cu.from);
      w.U64(static_cast<uint64_t>(cu.ctime_before));
      w.U64(static_cast<uint64_t>(cu.ctime_after));
    }
    Status logged = WriteFile(spec.copy_up_log, w.data(), 0600);
    if (!logged.ok()) fail(logged.error().sys_errno, logged.error().message);
  }
  if (!spec.tree_notes.empty()) {
    Supervisor::TreeNotes notes = sv.tree_notes();
    std::string text = notes.file_attrs ? "fileattr\n" : "";
    for (uint64_t ino : notes.linked) text += "link " + std::to_string(ino) + "\n";
    Status logged = WriteFile(spec.tree_notes, text, 0600);
    if (!logged.ok()) fail(logged.error().sys_errno, logged.error().message);
  }
  if (!status.ok()) fail(status.error().sys_errno, status.error().message);
  if (!saved.ok()) fail(saved.error().sys_errno, saved.error().message);
  WriteStr(result_fd,
           "ok " + std::to_string(*status) + " " + std::to_string(tracer.stops() + sv.handled()) +
               " " + std::to_string(tracer.survivors()) + " " + std::to_string(sv.peak_handling()) +
               " " + std::to_string(tracer.restarted()));
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

class SupervisorBackend : public Backend {
 public:
  std::string name() const override { return "supervisor"; }

  Result<RunResult> Run(const RunSpec& spec) override {
    if (spec.argv.empty()) return Error{"RUN step with an empty command", EINVAL};
    std::string problem = SandboxKernelProblem();
    if (!problem.empty()) return Error{"sandbox: " + problem, ENOSYS};
    OCIB_ASSIGN_OR_RETURN(TempDir private_dir, TempDir::Create("ocibuild-run-"));
    std::vector<PathMapping> mappings =
        spec.mappings.empty() ? DefaultMappings(private_dir.path()) : spec.mappings;
    // The guest's kernel filesystems and mount points exist in the rootfs as directories, as a
    // container runtime makes them (BuildKit leaves them in the layer too).
    for (const char* d : {"/proc", "/sys", "/dev"}) {
      std::string host = spec.rootfs + d;
      struct stat st;
      if (::lstat(host.c_str(), &st) != 0) ::mkdir(host.c_str(), 0755);
    }
    FilterOptions fo;
    fo.network = spec.network;
    {
      // The working directory is made when missing, as Docker does for WORKDIR: in the guest
      // namespace (a symlink in the image never leads the builder to make a host directory).
      auto store = oci::MetaStore::Load(
          spec.metastore_path.empty() ? oci::MetaStore::PathFor(spec.rootfs) : spec.metastore_path);
      oci::MetaStore empty;
      auto fs = GuestFs::Create(spec.rootfs, mappings, store.ok() ? &*store : &empty);
      if (!fs.ok()) return std::move(fs).error();
      if (int rc = (*fs)->MakeDirs(spec.cwd.empty() ? "/" : spec.cwd); rc != 0)
        return Error{"sandbox: making the working directory " + spec.cwd, -rc};
      fo.getdents = (*fs)->HasDevices();
    }
    // The supervisor raises its soft limit to the hard one, which it shares with this process.
    struct rlimit nofile;
    if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0) return SysError("getrlimit", "RLIMIT_NOFILE");
    fo.channel_fd = ChannelNumber(nofile);
    OCIB_ASSIGN_OR_RETURN(Prepared prep, Prepare(fo));
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
      Supervise(spec, mappings, private_dir.path(), prep, stdin_fd, result_w.get());
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
    if (parts.size() > 2) rr.survivors = std::strtoull(parts[2].c_str(), nullptr, 10);
    if (parts.size() > 3) rr.peak_handling = std::atoi(parts[3].c_str());
    if (parts.size() > 4) rr.restarted_calls = std::strtoull(parts[4].c_str(), nullptr, 10);
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

std::string SandboxKernelProblem() {
  struct utsname u;
  int major = 0, minor = 0;
  if (::uname(&u) == 0) std::sscanf(u.release, "%d.%d", &major, &minor);
  // SECCOMP_IOCTL_NOTIF_ADDFD (5.9) hands the step the descriptors the supervisor opens.
  if (major < 5 || (major == 5 && minor < 9))
    return "RUN steps need Linux >= 5.9 (seccomp user notification with ADDFD); "
           "this kernel is " +
           std::string(u.release);
  return "";
}

std::unique_ptr<Backend> MakeSupervisorBackend() {
  return std::make_unique<SupervisorBackend>();
}

Result<RunResult> RunStep(const RunSpec& spec) {
  return MakeSupervisorBackend()->Run(spec);
}

}  // namespace ocibuild::sandbox
