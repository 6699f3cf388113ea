#include "tests/security/security_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <functional>
#include <iostream>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/integration_testing.h"
#include "tests/security/security_programs.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"

extern char** environ;

namespace ocibuild::security {
namespace {

using Clock = std::chrono::steady_clock;

std::string ReadSmall(const std::string& path, size_t cap = 1 << 16) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string out;
  char buf[8192];
  while (out.size() < cap) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
}

void Walk(const std::string& path, const std::set<std::string>& skip,
          const std::function<void(const std::string&, const struct stat&)>& fn) {
  struct stat st;
  if (skip.count(path) || ::lstat(path.c_str(), &st) != 0) return;
  fn(path, st);
  if (!S_ISDIR(st.st_mode)) return;
  DIR* d = ::opendir(path.c_str());
  if (!d) return;
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    names.emplace_back(e->d_name);
  }
  ::closedir(d);
  for (const auto& n : names) Walk(JoinPath(path, n), skip, fn);
}

std::string HashFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return "unreadable";
  Sha256 h;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) h.Update(buf, static_cast<size_t>(n));
  ::close(fd);
  return h.FinishHex().substr(0, 16);
}

}  // namespace

std::string_view Program(const std::string& name) {
  for (const OcibSecurityProgram* p = ocib_security_programs; p->name; ++p)
    if (name == p->name) return {p->start, static_cast<size_t>(p->end - p->start)};
  return {};
}

bool WriteProgram(const std::string& name, const std::string& path) {
  std::string_view bin = Program(name);
  if (bin.empty()) return false;
  return WriteFile(path, bin, 0755).ok() && ::chmod(path.c_str(), 0755) == 0;
}

std::string RandomHex(size_t chars) {
  std::string out = ocibuild::RandomHex((chars + 1) / 2);
  out.resize(chars);
  return out;
}

BuildResult RunOcibuild(const BuildSpec& spec) {
  BuildResult r;
  std::vector<std::string> argv_s = {testing::Env("OCIBUILD_BINARY")};
  argv_s.insert(argv_s.end(), spec.args.begin(), spec.args.end());
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    const char* eq = strchr(*e, '=');
    if (eq) env[std::string(*e, static_cast<size_t>(eq - *e))] = eq + 1;
  }
  for (const auto& [k, v] : spec.env) env[k] = v;
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    r.log = "pipe2 failed";
    return r;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    if (!spec.tty.empty()) {
      ::setsid();
      int t = ::open(spec.tty.c_str(), O_RDWR);  // a session leader's first tty: its ctty
      if (t < 0) _exit(120);
      ::dup2(t, 0);
    } else {
      if (spec.join_pgrp > 0) ::setpgid(0, spec.join_pgrp);
      int dn = ::open("/dev/null", O_RDONLY);
      ::dup2(dn, 0);
    }
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    if (spec.inherit_fd >= 0) ::fcntl(spec.inherit_fd, F_SETFD, 0);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) _exit(121);
    ::execve(argv[0], argv.data(), envp.data());
    _exit(122);
  }
  ::close(out[1]);
  r.pid = pid;
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  auto deadline = Clock::now() + std::chrono::seconds(spec.timeout_s);
  std::optional<Clock::time_point> exited_at;
  int status = 0;
  bool eof = false;
  for (;;) {
    pollfd p = {out[0], POLLIN, 0};
    ::poll(&p, 1, 100);
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(out[0], buf, sizeof buf);
      if (n > 0) {
        r.log.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      break;
    }
    if (!exited_at) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) exited_at = Clock::now();
    }
    // Leftover processes of the step may hold the pipe open: stop reading soon after the exit.
    if (exited_at && (eof || Clock::now() - *exited_at > std::chrono::milliseconds(1500))) break;
    if (!exited_at && Clock::now() > deadline) {
      r.timed_out = true;
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      exited_at = Clock::now();
    }
  }
  ::close(out[0]);
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  return r;
}

ProbeOutput ParseProbeOutput(const std::string& log, const std::string& probe) {
  ProbeOutput o;
  size_t pos = 0;
  while (pos < log.size()) {
    size_t nl = log.find('\n', pos);
    if (nl == std::string::npos) nl = log.size();
    std::string line = log.substr(pos, nl - pos);
    pos = nl + 1;
    size_t at = line.find("OCIB-");
    if (at == std::string::npos) continue;
    line = line.substr(at);
    size_t sp = line.find(' ');
    if (sp == std::string::npos) continue;
    std::string kind = line.substr(5, sp - 5);
    std::string rest = line.substr(sp + 1);
    if (rest.compare(0, probe.size() + 1, probe + " ") != 0) continue;
    std::string body = rest.substr(probe.size() + 1);
    o.lines.push_back(line);
    if (kind == "PROBE-START") o.started = true;
    if (kind == "PROBE-END") {
      o.ended = true;
      size_t a = body.find("attempts=");
      if (a != std::string::npos) o.declared_attempts = std::atoi(body.c_str() + a + 9);
    }
    if (kind == "ATTEMPT") ++o.attempts;
    if (kind == "CONTROL") {
      ++o.controls;
      if (body.find(" -> OK") == std::string::npos) o.failed_controls.push_back(body);
    }
    if (kind == "ESCAPE") o.escapes.push_back(body);
    if (kind == "SEEN-PID") o.seen_pids.push_back(std::atol(body.c_str()));
  }
  return o;
}

std::vector<std::string> ProbeFindings(const std::string& probe, const BuildResult& r,
                                       const std::string& leak_dir,
                                       const std::set<long>& hidden_pids) {
  std::vector<std::string> f;
  auto tail = [&] {
    std::string t = r.log.size() > 900 ? r.log.substr(r.log.size() - 900) : r.log;
    for (char& c : t)
      if (c == '\n') c = '|';
    return t;
  };
  if (r.timed_out)
    f.push_back("the build hung and was killed: " + tail());
  else if (r.exit_code != 0)
    f.push_back("the build failed (" +
                (r.term_signal ? "signal " + std::to_string(r.term_signal)
                               : "exit " + std::to_string(r.exit_code)) +
                "): " + tail());
  ProbeOutput o = ParseProbeOutput(r.log, probe);
  if (!o.started) f.push_back("the probe never started");
  if (o.started && !o.ended) f.push_back("the probe did not finish (no END line)");
  if (o.started && o.attempts == 0) f.push_back("the probe made no attempt");
  if (o.declared_attempts > o.attempts)
    f.push_back("probe lines are missing: " + std::to_string(o.declared_attempts) +
                " attempts declared, " + std::to_string(o.attempts) + " seen");
  for (const auto& c : o.failed_controls) f.push_back("positive control failed: " + c);
  for (const auto& e : o.escapes) f.push_back("the probe saw: " + e);
  if (!leak_dir.empty()) {
    for (const auto& l : o.lines)
      if (l.find(leak_dir) != std::string::npos) {
        f.push_back("the probe learned a host path: " + l.substr(0, 300));
      }
    for (long p : o.seen_pids)
      if (hidden_pids.count(p))
        f.push_back("the probe saw pid " + std::to_string(p) + " (not the step's)");
  }
  return f;
}

void Report(const std::string& probe, const std::vector<std::string>& findings,
            const BuildResult& r) {
  // At most 60 findings (a race can leave hundreds of files), each cut at 1000 characters.
  std::string text = "SECURITY-RESULT " + probe + (findings.empty() ? " PASS" : " FAIL");
  for (size_t i = 0; i < findings.size() && i < 60; ++i)
    text += "\n    - " + findings[i].substr(0, 1000);
  if (findings.size() > 60)
    text += "\n    - ... and " + std::to_string(findings.size() - 60) + " more";
  std::cout << text << std::endl;
  std::string lines;
  ProbeOutput o = ParseProbeOutput(r.log, probe);
  for (size_t i = 0; i < o.lines.size() && i < 150; ++i)
    lines += "    " + o.lines[i].substr(0, 300) + "\n";
  // OCIB_SECURITY_VERBOSE=1: the probe's lines for passing probes too.
  if (findings.empty() && std::getenv("OCIB_SECURITY_VERBOSE")) std::cout << lines;
  if (findings.empty()) return;
  ADD_FAILURE() << probe << ": " << findings.size()
                << " host-side finding(s), listed above (SECURITY-RESULT)\n--- probe output (first "
                   "150 lines) ---\n"
                << lines;
}

Snapshot TakeSnapshot(const std::string& root, const std::set<std::string>& skip) {
  Snapshot s;
  Walk(root, skip, [&](const std::string& path, const struct stat& st) {
    std::string d = std::to_string(st.st_mode) + " " + std::to_string(st.st_uid) + ":" +
                    std::to_string(st.st_gid) + " ino=" + std::to_string(st.st_ino);
    if (!S_ISDIR(st.st_mode))
      d += " size=" + std::to_string(st.st_size) + " mtime=" + std::to_string(st.st_mtim.tv_sec) +
           "." + std::to_string(st.st_mtim.tv_nsec);
    else
      d += " mtime=" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
    if (S_ISREG(st.st_mode)) d += " sha=" + HashFile(path);
    if (S_ISLNK(st.st_mode)) d += " -> " + ReadLink(path);
    char names[4096];
    ssize_t n = ::llistxattr(path.c_str(), names, sizeof names);
    for (ssize_t i = 0; i < n; i += static_cast<ssize_t>(strlen(names + i)) + 1)
      d += std::string(" xattr:") + (names + i);
    s[path] = d;
  });
  return s;
}

std::vector<std::string> DiffSnapshots(const Snapshot& before, const Snapshot& after) {
  std::vector<std::string> out;
  for (const auto& [p, d] : after) {
    auto it = before.find(p);
    if (it == before.end())
      out.push_back("new on the host: " + p + " (" + d + ")");
    else if (it->second != d)
      out.push_back("changed on the host: " + p + " (" + it->second + " -> " + d + ")");
  }
  for (const auto& [p, d] : before)
    if (!after.count(p)) out.push_back("gone from the host: " + p);
  return out;
}

std::vector<std::string> FindCanariesInText(const std::string& text,
                                            const std::map<std::string, std::string>& canaries) {
  std::vector<std::string> out;
  for (const auto& [name, value] : canaries) {
    size_t at = text.find(value);
    if (at == std::string::npos) continue;
    size_t b = text.rfind('\n', at);
    b = b == std::string::npos ? 0 : b + 1;
    size_t e = text.find('\n', at);
    std::string ctx =
        text.substr(b, std::min<size_t>(e == std::string::npos ? text.size() - b : e - b, 200));
    out.push_back(name + ": " + ctx);
  }
  return out;
}

std::vector<std::string> FindCanariesInTree(const std::string& root,
                                            const std::map<std::string, std::string>& canaries,
                                            const std::set<std::string>& sources) {
  std::vector<std::string> out;
  Walk(root, {}, [&](const std::string& path, const struct stat& st) {
    if (sources.count(path)) return;
    for (const auto& [name, value] : canaries) {
      std::string base = path.substr(path.rfind('/') + 1);
      if (base.find(value) != std::string::npos) out.push_back(name + " in a file name: " + path);
      if (S_ISLNK(st.st_mode) && ReadLink(path).find(value) != std::string::npos)
        out.push_back(name + " in a link target: " + path);
    }
    if (!S_ISREG(st.st_mode)) return;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) return;
    std::string data;
    char buf[1 << 16];
    ssize_t n;
    std::set<std::string> seen;
    // Chunks with an overlap the length of a canary, so that none is cut in two.
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
      data.append(buf, static_cast<size_t>(n));
      for (const auto& [name, value] : canaries)
        if (data.find(value) != std::string::npos) seen.insert(name);
      if (data.size() > 128) data.erase(0, data.size() - 128);
    }
    ::close(fd);
    if (seen.empty()) return;
    std::string names;
    for (const auto& c : seen) names += (names.empty() ? "" : ",") + c;
    out.push_back(names + " in " + path);
  });
  return out;
}

std::vector<std::string> BadBlobs(const std::string& blobs_dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(blobs_dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::string path = JoinPath(blobs_dir, e->d_name);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    Sha256 h;
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) h.Update(buf, static_cast<size_t>(n));
    ::close(fd);
    std::string got = h.FinishHex();
    if (got != e->d_name) out.push_back(path + " hashes to " + got);
  }
  ::closedir(d);
  return out;
}

std::vector<std::string> PrivilegeLeftovers(const std::string& root) {
  std::vector<std::string> out;
  uid_t me = ::geteuid();
  Walk(root, {}, [&](const std::string& path, const struct stat& st) {
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
      out.push_back("device node on the host: " + path);
    if (S_ISREG(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)))
      out.push_back("set-id file on the host (mode " + std::to_string(st.st_mode & 07777) +
                    "): " + path);
    if (st.st_uid != me)
      out.push_back("file owned by uid " + std::to_string(st.st_uid) + ": " + path);
    if (::lgetxattr(path.c_str(), "security.capability", nullptr, 0) >= 0)
      out.push_back("file capability on the host: " + path);
  });
  return out;
}

std::vector<pid_t> FindSurvivors(const std::string& marker, const std::string& dir,
                                 const std::set<pid_t>& exclude) {
  std::vector<pid_t> out;
  DIR* d = ::opendir("/proc");
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    if (!isdigit(static_cast<unsigned char>(e->d_name[0]))) continue;
    pid_t pid = std::atoi(e->d_name);
    if (pid == ::getpid() || exclude.count(pid)) continue;
    std::string base = std::string("/proc/") + e->d_name;
    bool hit = false;
    // Threads too: a thread group whose leader exited shows its live threads under task/.
    DIR* t = ::opendir((base + "/task").c_str());
    std::vector<std::string> tasks = {base};
    if (t) {
      while (dirent* te = ::readdir(t))
        if (isdigit(static_cast<unsigned char>(te->d_name[0])))
          tasks.push_back(base + "/task/" + te->d_name);
      ::closedir(t);
    }
    for (const auto& tb : tasks) {
      std::string env = ReadSmall(tb + "/environ", 1 << 20);
      std::string cmd = ReadSmall(tb + "/cmdline", 1 << 16);
      std::string exe = ReadLink(tb + "/exe"), cwd = ReadLink(tb + "/cwd");
      if ((!marker.empty() &&
           (env.find(marker) != std::string::npos || cmd.find(marker) != std::string::npos)) ||
          (!dir.empty() && (exe.rfind(dir, 0) == 0 || cwd.rfind(dir, 0) == 0))) {
        hit = true;
        break;
      }
    }
    // Zombies are gone as far as the host is concerned.
    std::string stat = ReadSmall(base + "/stat", 4096);
    size_t rp = stat.rfind(')');
    if (hit && rp != std::string::npos && rp + 2 < stat.size() && stat[rp + 2] == 'Z') hit = false;
    if (hit) out.push_back(pid);
  }
  ::closedir(d);
  return out;
}

void KillSurvivors(const std::string& marker, const std::string& dir,
                   const std::set<pid_t>& exclude) {
  auto end = Clock::now() + std::chrono::seconds(10);
  int quiet = 0;
  while (Clock::now() < end && quiet < 5) {
    auto s = FindSurvivors(marker, dir, exclude);
    quiet = s.empty() ? quiet + 1 : 0;
    for (pid_t p : s) {
      ::kill(p, SIGKILL);
      ::kill(p, SIGCONT);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::string DescribeProcess(pid_t pid) {
  std::string base = "/proc/" + std::to_string(pid);
  std::string comm = ReadSmall(base + "/comm", 256);
  if (!comm.empty() && comm.back() == '\n') comm.pop_back();
  std::string cmd = ReadSmall(base + "/cmdline", 512);
  for (char& c : cmd)
    if (!c) c = ' ';
  return std::to_string(pid) + " (" + comm + "): " + cmd;
}

std::vector<std::string> NamesContaining(const std::string& dir, const std::string& needle) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d))
    if (strstr(e->d_name, needle.c_str())) out.push_back(JoinPath(dir, e->d_name));
  ::closedir(d);
  return out;
}

}  // namespace ocibuild::security
