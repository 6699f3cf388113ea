#include "tests/security/host_world.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/keyctl.h>
#include <mqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstring>
#include <iostream>

#include "tests/integration/integration_testing.h"

namespace ocibuild::security {
namespace {

using Clock = std::chrono::steady_clock;

std::string Slurp(const std::string& path) {
  auto r = ReadFile(path);
  return r.ok() ? *r : "";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// A line from fd within `ms` (the victim's answer); "" on timeout.
std::string ReadLine(int fd, int ms) {
  std::string line;
  auto end = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < end) {
    pollfd p = {fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    char c;
    ssize_t n = ::read(fd, &c, 1);
    if (n <= 0) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

socklen_t AbstractAddr(sockaddr_un* a, const std::string& name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  memcpy(a->sun_path + 1, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

// "'a' -> 'b'"; for multi-line values (/proc/<pid>/limits) only the lines that differ.
std::string Change(const std::string& a, const std::string& b) {
  if (a.find('\n') == std::string::npos) return "'" + a + "' -> '" + b + "'";
  auto lines = [](const std::string& s) {
    std::vector<std::string> out;
    size_t p = 0;
    while (p < s.size()) {
      size_t n = s.find('\n', p);
      if (n == std::string::npos) n = s.size();
      out.push_back(s.substr(p, n - p));
      p = n + 1;
    }
    return out;
  };
  auto la = lines(a), lb = lines(b);
  std::string d;
  for (size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    std::string x = i < la.size() ? la[i] : "", y = i < lb.size() ? lb[i] : "";
    if (x == y) continue;
    while (!x.empty() && x.back() == ' ') x.pop_back();
    while (!y.empty() && y.back() == ' ') y.pop_back();
    d += (d.empty() ? "" : "; ") + ("'" + x + "' -> '" + y + "'");
  }
  return d;
}

long Keyctl(int op, unsigned long a, unsigned long b = 0, unsigned long c = 0,
            unsigned long d = 0) {
  return ::syscall(SYS_keyctl, op, a, b, c, d);
}

}  // namespace

std::map<std::string, std::string> ProcessProps(pid_t pid) {
  std::map<std::string, std::string> p;
  std::string base = "/proc/" + std::to_string(pid);
  errno = 0;
  int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(pid));
  p["nice"] = errno ? "?" : std::to_string(nice);
  p["limits"] = Slurp(base + "/limits");
  cpu_set_t set;
  CPU_ZERO(&set);
  std::string cpus;
  if (::sched_getaffinity(pid, sizeof set, &set) == 0)
    for (int i = 0; i < CPU_SETSIZE; ++i)
      if (CPU_ISSET(i, &set)) cpus += std::to_string(i) + ",";
  p["affinity"] = cpus;
  p["policy"] = std::to_string(::sched_getscheduler(pid));
  sched_param sp{};
  ::sched_getparam(pid, &sp);
  p["rtprio"] = std::to_string(sp.sched_priority);
  p["ioprio"] = std::to_string(::syscall(SYS_ioprio_get, 1 /*IOPRIO_WHO_PROCESS*/, pid));
  for (const char* f : {"oom_score_adj", "coredump_filter", "comm", "timerslack_ns", "autogroup"})
    p[f] = Trim(Slurp(base + "/" + f));
  std::string status = Slurp(base + "/status");
  size_t tp = status.find("TracerPid:");
  p["tracer"] =
      tp == std::string::npos ? "?" : Trim(status.substr(tp + 10, status.find('\n', tp) - tp - 10));
  return p;
}

std::unique_ptr<HostWorld> HostWorld::Create(const Options& o, std::string* error) {
  std::unique_ptr<HostWorld> w(new HostWorld());
  if (!w->Setup(o, error)) return nullptr;
  return w;
}

bool HostWorld::Setup(const Options& o, std::string* error) {
  auto d = TempDir::Create("osec.");
  if (!d.ok()) {
    *error = d.error().message;
    return false;
  }
  dir_ = std::make_unique<TempDir>(std::move(*d));
  t = dir_->path();
  home = t + "/home";
  ctx = t + "/ws";
  host = t + "/host";
  tmp = t + "/tmp";
  state = t + "/state";
  out = t + "/out";
  bin = t + "/bin";
  nonce = RandomHex(12);
  for (const char* n : {"docker",    "ssh",   "gitcred",  "ws",         "file",    "exec", "link",
                        "name",      "xattr", "ghtoken",  "aws",        "actions", "key",  "shm",
                        "msg",       "mq",    "devshm",   "devshmname", "vmem",    "venv", "vfd",
                        "inherited", "tcp",   "abstract", "agent"})
    canaries[n] = std::string("OCIBCANARY") + n + "x" + RandomHex(16);

  for (const std::string& p :
       {home + "/.docker", home + "/.ssh", ctx + "/rootfs/bin", ctx + "/rootfs/tmp",
        ctx + "/rootfs/dev", ctx + "/rootfs/proc", ctx + "/rootfs/sys", host + "/emptydir",
        host + "/mnt", tmp, bin, state, out})
    if (!MakeDirs(p, 0755).ok()) {
      *error = "mkdir " + p;
      return false;
    }
  ::chmod((ctx + "/rootfs/tmp").c_str(), 01777);
  auto put = [&](const std::string& p, const std::string& text, int mode = 0644) {
    return WriteFile(p, text, mode).ok() && ::chmod(p.c_str(), static_cast<mode_t>(mode)) == 0;
  };
  bool ok = put(home + "/.docker/config.json",
                "{\"auths\":{\"ghcr.io\":{\"auth\":\"" + canaries["docker"] + "\"}}}\n") &&
            put(home + "/.ssh/id_ed25519", canaries["ssh"] + "\n", 0600) &&
            put(home + "/.git-credentials", "https://x:" + canaries["gitcred"] + "@github.com\n") &&
            put(ctx + "/.env", "TOKEN=" + canaries["ws"] + "\n") &&
            put(ctx + "/.dockerignore", ".env\n") &&
            put(host + "/secret.txt", canaries["file"] + "\n") &&
            put(host + "/deleteme.txt", "delete me not\n") &&
            put(host + "/moveme.txt", "move me not\n") &&
            put(host + "/truncme.txt", "truncate me not\n") &&
            put(host + "/mnt/inside.txt", "under the mount point\n") &&
            put(host + "/" + canaries["name"], "the name is the secret\n") &&
            put(host + "/hostbin", "#!/bin/sh\necho " + canaries["exec"] + "\n", 0755) &&
            put(host + "/victim-fd.txt", canaries["vfd"] + "\n") &&
            ::symlink(("target-" + canaries["link"]).c_str(), (host + "/canary.lnk").c_str()) == 0;
  if (!ok) {
    *error = "writing the host files under " + t;
    return false;
  }
  ::setxattr((host + "/secret.txt").c_str(), "user.ocib", canaries["xattr"].data(),
             canaries["xattr"].size(), 0);

  // The context: busybox (static) with a few applet links, /tmp, the empty /dev, /proc and /sys
  // every image has, and the probe as /probe.
  std::string bb = testing::Busybox();
  if (bb.empty() || !put(ctx + "/rootfs/bin/busybox", Slurp(bb), 0755)) {
    *error = "no static busybox";
    return false;
  }
  for (const char* a : {"sh", "true", "cat", "ls", "sleep", "echo"})
    ::symlink("busybox", (ctx + "/rootfs/bin/" + a).c_str());
  if (!o.probe.empty() && !WriteProgram(o.probe, ctx + "/rootfs/probe")) {
    *error = "no embedded program " + o.probe;
    return false;
  }
  if (!WriteProgram("victim", bin + "/victim")) {
    *error = "no embedded victim";
    return false;
  }

  // An fd ocibuild inherits, on a file nobody else can reach any more.
  inherited_fd_ = ::open((host + "/inherited.txt").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (inherited_fd_ < 0 ||
      ::write(inherited_fd_, canaries["inherited"].data(), canaries["inherited"].size()) < 0) {
    *error = "inherited fd";
    return false;
  }
  ::unlink((host + "/inherited.txt").c_str());

  tty_ = o.tty;
  if (tty_) {
    pty_master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (pty_master_ < 0 || ::grantpt(pty_master_) != 0 || ::unlockpt(pty_master_) != 0) {
      *error = std::string("no pty: ") + strerror(errno);
      return false;
    }
    pty_path_ = ::ptsname(pty_master_);
    pty_slave_ = ::open(pty_path_.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
    termios tio;
    if (pty_slave_ < 0 || ::tcgetattr(pty_slave_, &tio) != 0) {
      *error = "pty slave";
      return false;
    }
    ::cfmakeraw(&tio);
    ::tcsetattr(pty_slave_, TCSANOW, &tio);
    ::fcntl(pty_master_, F_SETFL, O_NONBLOCK);
  }

  if (o.victims && (!StartVictim(0, error) || !StartVictim(1, error))) return false;
  ::unlink((host + "/victim-fd.txt").c_str());
  if (!StartListeners(error)) return false;
  return PlantIpc(error);
}

bool HostWorld::StartVictim(int which, std::string* error) {
  Victim& v = victims_[which];
  v.secret = "VICTIM-SECRET:" + canaries["vmem"];
  int in[2], outp[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(outp, O_CLOEXEC) != 0) {
    *error = "pipe";
    return false;
  }
  std::string exe = bin + "/victim", marker = "ocib-victim-" + nonce;
  std::string fdfile = host + "/victim-fd.txt";
  std::string envv = "OCIB_VICTIM_ENV=" + canaries["venv"];
  pid_t pid = ::fork();
  if (pid == 0) {
    if (which == 0)
      ::setsid();
    else
      ::setpgid(0, 0);
    ::dup2(in[0], 0);
    ::dup2(outp[1], 1);
    char* argv[] = {exe.data(), marker.data(), fdfile.data(), nullptr};
    char* envp[] = {envv.data(), const_cast<char*>("PATH=/usr/bin:/bin"), nullptr};
    ::execve(argv[0], argv, envp);
    _exit(127);
  }
  ::close(in[0]);
  ::close(outp[1]);
  v.pid = pid;
  v.in = in[1];
  v.out = outp[0];
  std::string line = canaries["vmem"] + "\n";
  if (::write(v.in, line.data(), line.size()) < 0) return false;
  std::string ready = ReadLine(v.out, 5000);
  if (ready.rfind("READY", 0) != 0) {
    *error = "victim did not start: '" + ready + "'";
    return false;
  }
  (which == 0 ? victim1 : victim2) = pid;
  return true;
}

bool HostWorld::StartListeners(std::string* error) {
  auto add = [&](int fd, const std::string& name) {
    listen_fds_[fd] = name;
    hits_[name] = 0;
  };
  int tcp = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (tcp < 0 || ::bind(tcp, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(tcp, 64) != 0 || ::getsockname(tcp, reinterpret_cast<sockaddr*>(&a), &al) != 0) {
    *error = "tcp listener";
    return false;
  }
  tcp_port_ = ntohs(a.sin_port);
  add(tcp, "TCP 127.0.0.1");
  int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  a.sin_port = 0;
  al = sizeof a;
  if (udp < 0 || ::bind(udp, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(udp, reinterpret_cast<sockaddr*>(&a), &al) != 0) {
    *error = "udp listener";
    return false;
  }
  udp_port_ = ntohs(a.sin_port);
  add(udp, "UDP 127.0.0.1");
  abstract_ = "ocib-abs-" + nonce;
  for (int dgram = 0; dgram < 2; ++dgram) {
    int s = ::socket(AF_UNIX, (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un u;
    socklen_t l = AbstractAddr(&u, abstract_ + (dgram ? "-dgram" : ""));
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&u), l) != 0 ||
        (!dgram && ::listen(s, 64) != 0)) {
      *error = "abstract listener";
      return false;
    }
    add(s, dgram ? "abstract datagram socket" : "abstract stream socket");
  }
  for (int dgram = 0; dgram < 2; ++dgram) {
    int s = ::socket(AF_UNIX, (dgram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_un u{};
    u.sun_family = AF_UNIX;
    std::string p = host + (dgram ? "/agent-dgram.sock" : "/agent.sock");
    if (p.size() >= sizeof u.sun_path) {
      *error = "socket path too long: " + p;
      return false;
    }
    strcpy(u.sun_path, p.c_str());
    if (s < 0 || ::bind(s, reinterpret_cast<sockaddr*>(&u), sizeof u) != 0 ||
        (!dgram && ::listen(s, 64) != 0)) {
      *error = "unix listener " + p;
      return false;
    }
    add(s, dgram ? "host unix datagram socket" : "host unix socket (agent.sock)");
  }
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
  listener_ = std::thread([this] { ListenLoop(); });
  return true;
}

void HostWorld::ListenLoop() {
  std::string squat = "@ocib-squat-" + nonce;
  for (;;) {
    std::vector<pollfd> pf;
    for (const auto& [fd, name] : listen_fds_) pf.push_back({fd, POLLIN, 0});
    pf.push_back({stop_fd_, POLLIN, 0});
    ::poll(pf.data(), pf.size(), 100);
    if (pf.back().revents) return;
    for (size_t i = 0; i + 1 < pf.size(); ++i) {
      if (!pf[i].revents) continue;
      int fd = pf[i].fd;
      const std::string& name = listen_fds_[fd];
      int type = 0;
      socklen_t tl = sizeof type;
      ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
      if (type == SOCK_STREAM) {
        int c;
        while ((c = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC)) >= 0) {
          ++hits_[name];
          std::string greet = name.find("TCP") != std::string::npos        ? canaries["tcp"]
                              : name.find("abstract") != std::string::npos ? canaries["abstract"]
                                                                           : canaries["agent"];
          greet += "\n";
          ssize_t w = ::write(c, greet.data(), greet.size());
          (void)w;
          ::close(c);
        }
      } else {
        char buf[2048];
        while (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0) ++hits_[name];
      }
    }
    if (!squat_seen_ && Slurp("/proc/net/unix").find(squat) != std::string::npos)
      squat_seen_ = true;
  }
}

bool HostWorld::PlantIpc(std::string* error) {
  long base = 0x0c1b0000 | static_cast<long>(std::stoul(nonce.substr(0, 4), nullptr, 16));
  shm_key_ = base;
  sem_key_ = base + 0x10000000;
  msg_key_ = base + 0x20000000;
  shm_id_ = ::shmget(static_cast<key_t>(shm_key_), 4096, IPC_CREAT | IPC_EXCL | 0600);
  if (shm_id_ < 0) {
    *error = std::string("shmget: ") + strerror(errno);
    return false;
  }
  void* p = ::shmat(shm_id_, nullptr, 0);
  if (p == reinterpret_cast<void*>(-1)) return false;
  strcpy(static_cast<char*>(p), canaries["shm"].c_str());
  ::shmdt(p);
  sem_id_ = ::semget(static_cast<key_t>(sem_key_), 1, IPC_CREAT | IPC_EXCL | 0600);
  if (sem_id_ < 0 || ::semctl(sem_id_, 0, SETVAL, 42) != 0) {
    *error = std::string("semget: ") + strerror(errno);
    return false;
  }
  msg_id_ = ::msgget(static_cast<key_t>(msg_key_), IPC_CREAT | IPC_EXCL | 0600);
  struct {
    long type;
    char text[128];
  } m{1, {}};
  strcpy(m.text, canaries["msg"].c_str());
  if (msg_id_ < 0 || ::msgsnd(msg_id_, &m, strlen(m.text) + 1, 0) != 0) {
    *error = std::string("msgget: ") + strerror(errno);
    return false;
  }
  mq_name_ = "/ocib-mq-" + nonce;
  mq_attr at{};
  at.mq_maxmsg = 4;
  at.mq_msgsize = 128;
  mqd_t q = ::mq_open(mq_name_.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600, &at);
  if (q == static_cast<mqd_t>(-1) ||
      ::mq_send(q, canaries["mq"].data(), canaries["mq"].size(), 0) != 0) {
    *error = std::string("mq_open: ") + strerror(errno);
    return false;
  }
  ::mq_close(q);
  devshm_path_ = "/dev/shm/ocib-devshm-" + nonce;
  devshm_name_path_ = "/dev/shm/" + canaries["devshmname"];
  if (!WriteFile(devshm_path_, canaries["devshm"], 0600).ok() ||
      !WriteFile(devshm_name_path_, "name\n", 0600).ok()) {
    *error = "/dev/shm files";
    return false;
  }
  key_id_ = ::syscall(SYS_add_key, "user", ("ocib-key-" + nonce).c_str(), canaries["key"].data(),
                      canaries["key"].size(), KEY_SPEC_USER_KEYRING);
  if (key_id_ < 0) {
    keyring_note = std::string("add_key refused here (") + strerror(errno) +
                   "): the keyring canary is NOT planted and the keyring checks do not run";
    static bool said = false;
    if (!said) std::cerr << "*** security_test: " << keyring_note << " ***\n";
    said = true;
  }
  return true;
}

std::string HostWorld::Hints() const {
  std::string h = "T=" + t + ";HOME=" + home + ";CTX=" + ctx + ";STATE=" + state +
                  ";NONCE=" + nonce + ";HARNESS=" + std::to_string(::getpid()) +
                  ";VICTIM=" + std::to_string(victim1) + ";VICTIM2=" + std::to_string(victim2) +
                  ";TCP=" + std::to_string(tcp_port_) + ";UDP=" + std::to_string(udp_port_) +
                  ";ABSTRACT=" + abstract_ + ";SHMKEY=" + std::to_string(shm_key_) +
                  ";SHMID=" + std::to_string(shm_id_) + ";SEMKEY=" + std::to_string(sem_key_) +
                  ";SEMID=" + std::to_string(sem_id_) + ";MSGKEY=" + std::to_string(msg_key_) +
                  ";MSGID=" + std::to_string(msg_id_) + ";MQ=" + mq_name_ + ";DEVSHM=ocib-devshm-" +
                  nonce + ";KEYDESC=ocib-key-" + nonce +
                  ";HOSTROOT=" + (::geteuid() == 0 ? "1" : "0");
  if (tty_) h += ";PTY=" + pty_path_;
  return h;
}

std::map<std::string, std::string> HostWorld::BuildEnv() const {
  return {{"HOME", home},
          {"TMPDIR", tmp},
          {"OCIBUILD_ROOT", state},
          {"GITHUB_TOKEN", canaries.at("ghtoken")},
          {"AWS_SECRET_ACCESS_KEY", canaries.at("aws")},
          {"ACTIONS_RUNTIME_TOKEN", canaries.at("actions")},
          {"SSH_AUTH_SOCK", host + "/agent.sock"}};
}

BuildSpec HostWorld::Spec(std::vector<std::string> args) const {
  BuildSpec s;
  s.args = std::move(args);
  s.env = BuildEnv();
  s.cwd = ctx;
  s.join_pgrp = tty_ ? 0 : victim2;
  s.inherit_fd = inherited_fd_;
  s.tty = tty_ ? pty_path_ : "";
  return s;
}

Snapshot HostWorld::Snap() const {
  Snapshot s = TakeSnapshot(t, SnapshotSkips());
  // ocibuild's TMPDIR: its entries are compared, its own mtime (ocibuild's temp files) is not.
  if (s.count(tmp)) s[tmp] = "directory";
  return s;
}

// Places a probe's in-root paths ("/ocib-loot", "/ocib-stolen-1"...) land in when a call reaches
// the host untranslated.
static const char* const kHostDirs[] = {"/", "/tmp", "/var/tmp", "/dev/shm"};

void HostWorld::Before() {
  before_ = Snap();
  for (const char* d : kHostDirs) names_before_[d] = NamesContaining(d, "ocib-");
  for (auto& v : victims_)
    if (v.pid > 0) v.props = ProcessProps(v.pid);
  self_props_ = ProcessProps(::getpid());
}

void HostWorld::CheckVictims(std::vector<std::string>& f) {
  for (int i = 0; i < 2; ++i) {
    Victim& v = victims_[i];
    if (v.pid <= 0) continue;
    std::string who = "victim " + std::to_string(i + 1) + " (pid " + std::to_string(v.pid) + ")";
    int st = 0;
    if (::waitpid(v.pid, &st, WNOHANG) == v.pid) {
      f.push_back(who + " is dead: " +
                  (WIFSIGNALED(st) ? "signal " + std::to_string(WTERMSIG(st))
                                   : "exit " + std::to_string(WEXITSTATUS(st))));
      v.pid = -1;
      continue;
    }
    std::string stat = Slurp("/proc/" + std::to_string(v.pid) + "/stat");
    size_t rp = stat.rfind(')');
    if (rp != std::string::npos && rp + 2 < stat.size() &&
        (stat[rp + 2] == 'T' || stat[rp + 2] == 't')) {
      f.push_back(who + " is stopped (state " + stat[rp + 2] + ")");
      ::kill(v.pid, SIGCONT);
    }
    auto now = ProcessProps(v.pid);
    for (const auto& [k, val] : v.props)
      if (now[k] != val) f.push_back(who + ": " + k + " changed: " + Change(val, now[k]));
    if (::write(v.in, "s\n", 2) != 2) {
      f.push_back(who + " does not answer");
      continue;
    }
    std::string ans = ReadLine(v.out, 3000);
    std::string want = "STATE " + v.secret + " " + v.secret + " sigs=[] fd=ok";
    if (ans != want) f.push_back(who + " changed: '" + ans + "' (expected '" + want + "')");
  }
  auto me = ProcessProps(::getpid());
  for (const auto& [k, val] : self_props_)
    if (me[k] != val && k != "comm")
      f.push_back("the harness itself: " + k + " changed: " + Change(val, me[k]));
}

void HostWorld::CheckIpc(std::vector<std::string>& f) {
  shmid_ds ds;
  if (::shmctl(shm_id_, IPC_STAT, &ds) != 0) {
    f.push_back("the harness's SysV shm segment is gone (" + std::string(strerror(errno)) + ")");
  } else {
    void* p = ::shmat(shm_id_, nullptr, SHM_RDONLY);
    if (p != reinterpret_cast<void*>(-1)) {
      if (canaries["shm"] != static_cast<char*>(p))
        f.push_back(std::string("the harness's SysV shm segment was written: ") +
                    std::string(static_cast<char*>(p), 40));
      ::shmdt(p);
    }
  }
  int v = ::semctl(sem_id_, 0, GETVAL);
  if (v != 42) f.push_back("the harness's SysV semaphore is " + std::to_string(v) + " (was 42)");
  msqid_ds mq;
  if (::msgctl(msg_id_, IPC_STAT, &mq) != 0 || mq.msg_qnum != 1)
    f.push_back("the harness's SysV message queue changed (messages: " +
                std::to_string(::msgctl(msg_id_, IPC_STAT, &mq) == 0 ? long(mq.msg_qnum) : -1) +
                ")");
  mqd_t q = ::mq_open(mq_name_.c_str(), O_RDONLY | O_NONBLOCK);
  mq_attr at{};
  if (q == static_cast<mqd_t>(-1) || ::mq_getattr(q, &at) != 0 || at.mq_curmsgs != 1)
    f.push_back("the harness's POSIX message queue " + mq_name_ + " changed (messages: " +
                std::to_string(q == static_cast<mqd_t>(-1) ? -1L : long(at.mq_curmsgs)) + ")");
  if (q != static_cast<mqd_t>(-1)) ::mq_close(q);
  if (Slurp(devshm_path_) != canaries["devshm"]) f.push_back(devshm_path_ + " changed or gone");
  if (!PathExists(devshm_name_path_)) f.push_back(devshm_name_path_ + " is gone");
  if (key_id_ >= 0) {
    char buf[256];
    long n = Keyctl(KEYCTL_READ, static_cast<unsigned long>(key_id_),
                    reinterpret_cast<unsigned long>(buf), sizeof buf);
    if (n < 0 || std::string(buf, static_cast<size_t>(n)) != canaries["key"])
      f.push_back("the harness's key in the user keyring changed or is gone");
    for (const char* type : {"user", "keyring"}) {
      std::string desc =
          std::string(type) == "user" ? "ocib-probe-key-" + nonce : "ocib-ring-" + nonce;
      long found = Keyctl(KEYCTL_SEARCH, static_cast<unsigned long>(KEY_SPEC_USER_KEYRING),
                          reinterpret_cast<unsigned long>(type),
                          reinterpret_cast<unsigned long>(desc.c_str()));
      if (found >= 0) {
        f.push_back("the step planted a key in the user keyring: " + desc);
        Keyctl(KEYCTL_UNLINK, static_cast<unsigned long>(found),
               static_cast<unsigned long>(KEY_SPEC_USER_KEYRING));
      }
    }
  }
}

std::vector<std::string> HostWorld::After(const BuildResult& r) {
  std::vector<std::string> f;
  for (const auto& s : FindCanariesInText(r.log, canaries))
    f.push_back("canary in the build log: " + s);

  // Survivors: every process of the step carries the nonce (hints) or runs from the state dir.
  std::set<pid_t> exclude = {victims_[0].pid, victims_[1].pid};
  std::vector<pid_t> surv;
  auto end = Clock::now() + std::chrono::seconds(3);
  do {
    surv = FindSurvivors(nonce, state, exclude);
    if (surv.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (Clock::now() < end);
  for (pid_t p : surv) f.push_back("survived the build by 3 s: " + DescribeProcess(p));
  if (!surv.empty()) KillSurvivors(nonce, state, exclude);

  CheckVictims(f);
  for (auto& [name, n] : hits_)
    if (n > 0)
      f.push_back("the " + name + " listener was reached " + std::to_string(n) + " time(s)");
  if (squat_seen_)
    f.push_back("the step bound the abstract name @ocib-squat-" + nonce + " (visible to the host)");
  CheckIpc(f);

  if (tty_) {
    char buf[4096];
    std::string outp, inq;
    ssize_t n;
    while ((n = ::read(pty_master_, buf, sizeof buf)) > 0) outp.append(buf, static_cast<size_t>(n));
    while ((n = ::read(pty_slave_, buf, sizeof buf)) > 0) inq.append(buf, static_cast<size_t>(n));
    if (!inq.empty())
      f.push_back("input was injected into the terminal: '" + inq.substr(0, 80) + "'");
    if (outp.find("OCIB-TTY-WRITE") != std::string::npos)
      f.push_back("the step wrote to the controlling terminal");
  }

  for (const auto& d : DiffSnapshots(before_, Snap())) f.push_back(d);
  for (const char* dir : {"/", "/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", home.c_str()})
    for (const auto& p : NamesContaining(dir, nonce))
      if (p != devshm_path_ && p != "/dev/mqueue" + mq_name_ && p.rfind(t, 0) != 0)
        f.push_back("new on the host: " + p);
  for (const char* d : kHostDirs) {
    const auto& was = names_before_[d];
    for (const auto& p : NamesContaining(d, "ocib-"))
      if (std::find(was.begin(), was.end(), p) == was.end() && p.find(nonce) == std::string::npos &&
          p != devshm_path_) {
        f.push_back("new on the host (a probe's in-root path, untranslated): " + p);
        strays_.push_back(p);
      }
  }

  std::set<std::string> sources = {home + "/.docker/config.json", home + "/.ssh/id_ed25519",
                                   home + "/.git-credentials",    ctx + "/.env",
                                   host + "/secret.txt",          host + "/hostbin",
                                   host + "/canary.lnk",          host + "/" + canaries["name"]};
  for (const auto& s : FindCanariesInTree(t, canaries, sources)) f.push_back("canary " + s);
  for (const auto& p : NamesContaining("/dev/shm", nonce))
    if (p != devshm_path_)
      for (const auto& s : FindCanariesInText(Slurp(p), canaries))
        f.push_back("canary in " + p + ": " + s);
  for (const std::string& b : {state + "/blobs/sha256", out + "/blobs/sha256"})
    for (const auto& s : BadBlobs(b)) f.push_back("blob does not match its digest: " + s);
  for (const auto& s : PrivilegeLeftovers(t)) f.push_back(s);
  std::string mounts = Slurp("/proc/self/mountinfo");
  if (mounts.find(" " + t) != std::string::npos) {
    f.push_back("a mount appeared under the test directory");
    ::umount2((host + "/mnt").c_str(), MNT_DETACH);
  }
  return f;
}

void HostWorld::Cleanup() {
  if (stop_fd_ >= 0) {
    uint64_t one = 1;
    ssize_t w = ::write(stop_fd_, &one, sizeof one);
    (void)w;
    if (listener_.joinable()) listener_.join();
    ::close(stop_fd_);
  }
  for (const auto& [fd, name] : listen_fds_) ::close(fd);
  for (auto& v : victims_) {
    if (v.in >= 0) ::close(v.in);
    if (v.out >= 0) ::close(v.out);
    if (v.pid > 0) {
      ::kill(v.pid, SIGKILL);
      ::kill(v.pid, SIGCONT);
      ::waitpid(v.pid, nullptr, 0);
    }
  }
  std::set<pid_t> none;
  KillSurvivors(nonce, state, none);
  if (shm_id_ >= 0) ::shmctl(shm_id_, IPC_RMID, nullptr);
  if (sem_id_ >= 0) ::semctl(sem_id_, 0, IPC_RMID);
  if (msg_id_ >= 0) ::msgctl(msg_id_, IPC_RMID, nullptr);
  if (!mq_name_.empty()) ::mq_unlink(mq_name_.c_str());
  for (const auto& p : NamesContaining("/dev/shm", nonce)) ::unlink(p.c_str());
  for (const char* d : {"/", "/tmp", "/var/tmp"})
    for (const auto& p : NamesContaining(d, nonce)) (void)RemoveAll(p);
  for (const auto& p : strays_) (void)RemoveAll(p);
  if (!devshm_name_path_.empty()) ::unlink(devshm_name_path_.c_str());
  if (key_id_ >= 0)
    Keyctl(KEYCTL_UNLINK, static_cast<unsigned long>(key_id_),
           static_cast<unsigned long>(KEY_SPEC_USER_KEYRING));
  if (inherited_fd_ >= 0) ::close(inherited_fd_);
  if (pty_master_ >= 0) ::close(pty_master_);
  if (pty_slave_ >= 0) ::close(pty_slave_);
  if (::geteuid() == 0 && !t.empty()) ::umount2((host + "/mnt").c_str(), MNT_DETACH);
}

HostWorld::~HostWorld() {
  Cleanup();
  if (!dir_) return;
  if (::getenv("OCIB_SECURITY_KEEP")) {
    std::cerr << "security_test: keeping " << dir_->Release() << "\n";
    return;
  }
  Status st = RemoveAll(dir_->Release());
  if (!st.ok())
    std::cerr << "security_test: cannot remove the test directory: " << st.error().message << "\n";
}

}  // namespace ocibuild::security
