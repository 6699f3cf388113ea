// Everything on the host side that a RUN step must not reach, set up fresh for one probe and
// checked after its build:
//   - canary secrets: a ~/.docker/config.json, ~/.ssh key and ~/.git-credentials under a test
//     HOME; GITHUB_TOKEN and friends in ocibuild's own environment; host files outside the
//     context (and a .dockerignored file inside it); a key in the user keyring; SysV shm/sem/msg
//     objects, a POSIX message queue and a /dev/shm file; an fd ocibuild inherits;
//   - victims: processes of the same user holding a secret in memory, an open file and counting
//     signals (one in its own session, one in ocibuild's process group), whose priority, limits,
//     affinity, scheduling, io priority and /proc settings are compared before and after;
//   - listeners: TCP and UDP on 127.0.0.1, abstract unix stream and datagram sockets, a unix
//     socket file standing for ssh-agent/docker.sock; each counts what reaches it;
//   - the test directory itself, hashed before and after (context, HOME, TMPDIR, host files).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/security/security_harness.h"
#include "util/fs.h"

namespace ocibuild::security {

class HostWorld {
 public:
  struct Options {
    std::string probe;  // put into the context as /probe (empty: none)
    bool tty = false;   // give ocibuild a terminal (and hint its path)
    bool victims = true;
  };
  // Empty pointer and `error` set when the world cannot be built.
  static std::unique_ptr<HostWorld> Create(const Options& o, std::string* error);
  ~HostWorld();

  // The test directory and its parts.
  std::string t, home, ctx, host, tmp, state, out, bin;
  std::string nonce;
  std::map<std::string, std::string> canaries;  // name -> value; all start with OCIBCANARY
  pid_t victim1 = -1, victim2 = -1;             // victim2 leads ocibuild's process group
  std::string keyring_note;                     // why the keyring canary is missing, if it is

  // The hints a probe gets (OCIB_HINTS): what an attacker on the runner would know or guess.
  std::string Hints() const;
  // The environment ocibuild runs with (HOME, TMPDIR, OCIBUILD_ROOT, CI tokens...).
  std::map<std::string, std::string> BuildEnv() const;
  // A build of the context with this world's controls (process group, inherited fd, terminal).
  BuildSpec Spec(std::vector<std::string> args) const;

  // Records the baselines; call right before the build.
  void Before();
  // Every host-side finding after the build, one line each (empty: all held). `log` is the build
  // log; canaries are looked for there too.
  std::vector<std::string> After(const BuildResult& r);

  // Snapshot exclusions: what ocibuild itself writes (its state, its output, its TMPDIR's
  // contents are checked, the directory's own mtime is not).
  std::set<std::string> SnapshotSkips() const { return {state, out}; }

 private:
  HostWorld() = default;
  bool Setup(const Options& o, std::string* error);
  Snapshot Snap() const;
  bool StartVictim(int which, std::string* error);
  bool StartListeners(std::string* error);
  void ListenLoop();
  bool PlantIpc(std::string* error);
  void CheckVictims(std::vector<std::string>& f);
  void CheckIpc(std::vector<std::string>& f);
  void Cleanup();

  struct Victim {
    pid_t pid = -1;
    int in = -1, out = -1;  // its stdin (commands) and stdout (answers)
    std::string secret;
    std::map<std::string, std::string> props;
  };
  Victim victims_[2];
  std::map<std::string, std::string> self_props_;

  std::unique_ptr<TempDir> dir_;
  int inherited_fd_ = -1;
  int pty_master_ = -1, pty_slave_ = -1;
  std::string pty_path_;
  bool tty_ = false;

  // Listeners: fd -> name; counts by name.
  std::map<int, std::string> listen_fds_;
  std::map<std::string, std::atomic<int>> hits_;
  int tcp_port_ = 0, udp_port_ = 0;
  std::string abstract_;
  int stop_fd_ = -1;
  std::thread listener_;
  std::atomic<bool> squat_seen_{false};

  // IPC objects.
  int shm_id_ = -1, sem_id_ = -1, msg_id_ = -1;
  long shm_key_ = 0, sem_key_ = 0, msg_key_ = 0;
  std::string mq_name_, devshm_path_, devshm_name_path_;
  long key_id_ = -1;

  Snapshot before_;
  std::vector<std::string> strays_;  // probe files found on the host, removed at the end
  std::map<std::string, std::vector<std::string>> names_before_;
};

// The process properties a probe could change: nice, limits, affinity, scheduling policy and
// priority, io priority, oom_score_adj, coredump_filter, comm, tracer, state.
std::map<std::string, std::string> ProcessProps(pid_t pid);

}  // namespace ocibuild::security
