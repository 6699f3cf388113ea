// `ocibuild doctor [REF...]`: what this environment allows, in plain words, and which isolation
// RUN steps will get. One line per check:
//
//   ok   ptrace: allowed (RUN steps run in the ptrace sandbox)
//   warn free disk: 812.0 MB free in /home/u/.cache/ocibuild (ext4) ...
//   FAIL push 127.0.0.1:5000/app: ... fix: ...
//
// then a verdict line, "RUN steps: ptrace sandbox" or "RUN steps: cannot run here: <why>".
// The format is stable (tests and users grep it): a 4-letter status (`ok  `, `warn`, `FAIL`)
// and a space, then `<check>: <result>`; a fix follows on the same line after "; fix: ".
// Exit status 0 when nothing FAILed, else 1.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cli/options.h"
#include "util/result.h"
#include "util/sys/probe.h"

namespace ocibuild::cli {

enum class CheckStatus { kOk, kWarn, kFail };

struct CheckLine {
  CheckStatus status = CheckStatus::kOk;
  std::string check;  // "ptrace"
  std::string text;   // "allowed (...)"
  std::string fix;    // "" when nothing to do
};

// What the registry said about one reference.
struct RegistryAccess {
  std::string registry;                               // "ghcr.io"
  std::string name;                                   // "ghcr.io/org/app"
  Status parse;                                       // the reference itself
  Result<std::string> endpoint = Error{"not tried"};  // "https://ghcr.io/v2/" after the ping
  bool asks_for_auth = false;                         // the ping got an auth challenge
  Status credential_lookup;
  std::optional<std::string> credential_source;  // where credentials were found, nullopt: none
  Status pull;
  bool manifest_exists = false;
  Status push;
};

// Everything doctor asks the machine; the real implementation probes, unit tests fake it.
class DoctorProbes {
 public:
  virtual ~DoctorProbes() = default;
  virtual sys::ProbeOutcome Ptrace(bool seccomp_trace) = 0;
  virtual sys::ProbeOutcome Seccomp() = 0;
  virtual sys::NotifyProbe SeccompNotify() = 0;
  virtual sys::ProbeOutcome UserNamespace() = 0;
  virtual Result<sys::FsInfo> Filesystem(const std::string& path) = 0;
  virtual Result<sys::XattrSupport> Xattrs(const std::string& dir) = 0;
  // Whether this process may create files in `dir`.
  virtual Status Writable(const std::string& dir) = 0;
  // A small /proc or /sys file ("" when unreadable).
  virtual std::string ReadSmallFile(const std::string& path) = 0;
  virtual RegistryAccess Registry(const std::string& ref) = 0;
};

struct DoctorInputs {
  Result<std::string> state_root = Error{"unset"};  // chosen as for a build, created
  std::string state_root_source;                    // "OCIBUILD_ROOT", "HOME", ...
  std::string tmp_dir;                              // $TMPDIR or /tmp
  std::vector<std::string> refs;
  bool root = false;  // euid 0
};

struct DoctorReport {
  std::vector<CheckLine> lines;
  bool run_steps_ok = false;
  std::string verdict;  // the last line
  bool any_failed() const;
};

DoctorReport RunDoctor(DoctorProbes& probes, const DoctorInputs& in);
std::string FormatReport(const DoctorReport& report);

// The real thing: probes this process's environment and prints to stdout.
int Doctor(const Options& opts, const std::map<std::string, std::string>& env);

}  // namespace ocibuild::cli
