// Host-side machinery of the adversarial sandbox suite: running the real ocibuild binary under
// controlled conditions (environment, process group, an inherited fd, a terminal, a timeout),
// reading what a probe printed, and the host-side checks that do not need the HostWorld (file
// tree snapshots, canary scans, blob digests, survivors).
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ocibuild::security {

// The embedded guest program `name` (a probe, "victim" or "tree_report"); empty when unknown.
std::string_view Program(const std::string& name);
// Writes the program to `path` with mode 0755.
bool WriteProgram(const std::string& name, const std::string& path);
// Lowercase hex from /dev/urandom.
std::string RandomHex(size_t chars);

struct BuildSpec {
  std::vector<std::string> args;           // after the binary
  std::map<std::string, std::string> env;  // on top of the harness's environment
  std::string cwd;
  pid_t join_pgrp = 0;  // setpgid(0, join_pgrp) in the child
  int inherit_fd = -1;  // stays open across exec
  std::string tty;      // set: a new session whose controlling terminal (and stdin) is this pty
  int timeout_s = 180;
};

struct BuildResult {
  int exit_code = -1;  // -1: killed by a signal
  int term_signal = 0;
  bool timed_out = false;
  pid_t pid = -1;
  std::string log;  // stdout and stderr, interleaved as read
};

// Runs the ocibuild binary ($OCIBUILD_BINARY) to completion or timeout (then SIGKILL).
BuildResult RunOcibuild(const BuildSpec& spec);

// What a probe reported.
struct ProbeOutput {
  bool started = false, ended = false;
  int declared_attempts = -1;  // from the END line
  int attempts = 0;            // ATTEMPT lines seen
  std::vector<std::string> failed_controls, escapes, lines;
  int controls = 0;
  std::vector<long> seen_pids;
};
ProbeOutput ParseProbeOutput(const std::string& log, const std::string& probe);

// Findings from the probe's own output: the build must have finished, the probe must have started,
// ended and attempted something, every positive control must hold, and the probe must not have
// seen a forbidden effect. With `leak_dir`, its lines must not name that host directory, and its
// SEEN-PID lines must not name any of `hidden_pids`.
std::vector<std::string> ProbeFindings(const std::string& probe, const BuildResult& r,
                                       const std::string& leak_dir,
                                       const std::set<long>& hidden_pids);
// Prints "SECURITY-RESULT <probe> PASS|FAIL" and the findings (the report greps for these) and
// adds one gtest failure listing them with the probe's lines.
void Report(const std::string& probe, const std::vector<std::string>& findings,
            const BuildResult& r);

// A file tree, path -> description (type, mode, owner, size, mtime, inode, content hash or link
// target). Directories named in `skip` (absolute) are not entered.
using Snapshot = std::map<std::string, std::string>;
Snapshot TakeSnapshot(const std::string& root, const std::set<std::string>& skip);
// One line per added, removed or changed path.
std::vector<std::string> DiffSnapshots(const Snapshot& before, const Snapshot& after);

// Every occurrence of a canary value under `root` (file contents, link targets and names),
// except in the files of `sources` (absolute paths). "name: path" per hit.
std::vector<std::string> FindCanariesInTree(const std::string& root,
                                            const std::map<std::string, std::string>& canaries,
                                            const std::set<std::string>& sources);
// "name: context" per canary found in `text`.
std::vector<std::string> FindCanariesInText(const std::string& text,
                                            const std::map<std::string, std::string>& canaries);

// Files of a content store (blobs/sha256/<hex>) whose content does not hash to their name.
std::vector<std::string> BadBlobs(const std::string& blobs_dir);

// Host state that fake root must never leave behind: set-uid/set-gid files, device nodes,
// security.capability xattrs, files owned by anyone but this process's euid.
std::vector<std::string> PrivilegeLeftovers(const std::string& root);

// Processes other than `exclude` whose environment or command line contains `marker`, or whose
// executable or cwd lies under `dir`.
std::vector<pid_t> FindSurvivors(const std::string& marker, const std::string& dir,
                                 const std::set<pid_t>& exclude);
// SIGKILLs them until none is left (bounded: 10 s).
void KillSurvivors(const std::string& marker, const std::string& dir,
                   const std::set<pid_t>& exclude);
// "pid comm: cmdline" for messages.
std::string DescribeProcess(pid_t pid);

// Names in `dir` (not recursive) containing `needle`.
std::vector<std::string> NamesContaining(const std::string& dir, const std::string& needle);

}  // namespace ocibuild::security
