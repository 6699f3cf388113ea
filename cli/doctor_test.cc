#include "cli/doctor.h"

#include <cerrno>
#include <cstring>
#include <set>

#include <gtest/gtest.h>

#include "util/strings.h"

namespace ocibuild::cli {
namespace {

sys::ProbeOutcome Allowed() {
  return sys::ProbeOutcome{true, 0, ""};
}
sys::ProbeOutcome Refused(int err, const std::string& what) {
  return sys::ProbeOutcome{false, err, what + ": " + std::strerror(err)};
}

// A machine described by its fields: a plain Docker container by default.
class FakeProbes : public DoctorProbes {
 public:
  sys::ProbeOutcome ptrace = Allowed();
  sys::ProbeOutcome ptrace_seccomp = Allowed();
  sys::ProbeOutcome seccomp = Allowed();
  sys::ProbeOutcome userns = Refused(EPERM, "unshare(CLONE_NEWUSER)");
  std::map<std::string, sys::FsInfo> fs = {
      {"/", {"overlay", 50ull << 30, 100ull << 30, 1000000, 2000000, 1}},
      {"/cache", {"ext4", 50ull << 30, 100ull << 30, 1000000, 2000000, 2}},
      {"/tmp", {"tmpfs", 1ull << 30, 1ull << 30, 1000, 2000, 3}}};
  sys::XattrSupport xattrs{Allowed(), Refused(EPERM, "setxattr security.ocibuild.probe")};
  std::string yama = "1\n";
  std::map<std::string, RegistryAccess> registries;
  int ptrace_calls = 0;

  sys::ProbeOutcome Ptrace(bool seccomp_trace) override {
    ++ptrace_calls;
    return seccomp_trace ? ptrace_seccomp : ptrace;
  }
  sys::ProbeOutcome Seccomp() override { return seccomp; }
  sys::NotifyProbe notify{Allowed(), Allowed(), true, false};
  sys::NotifyProbe SeccompNotify() override { return notify; }
  std::string osrelease = "6.8.0-1017-azure\n";
  sys::ProbeOutcome UserNamespace() override { return userns; }
  Result<sys::FsInfo> Filesystem(const std::string& path) override {
    auto it = fs.find(path);
    if (it == fs.end()) return Error{"statfs " + path + ": No such file or directory", ENOENT};
    return it->second;
  }
  Result<sys::XattrSupport> Xattrs(const std::string&) override { return xattrs; }
  std::set<std::string> read_only;
  Status Writable(const std::string& dir) override {
    if (read_only.count(dir)) return Error{"access " + dir + ": Read-only file system", EROFS};
    return Ok();
  }
  std::string ReadSmallFile(const std::string& path) override {
    if (path == "/proc/sys/kernel/osrelease") return osrelease;
    return path == "/proc/sys/kernel/yama/ptrace_scope" ? yama : "";
  }
  RegistryAccess Registry(const std::string& ref) override { return registries.at(ref); }
};

DoctorInputs Inputs() {
  DoctorInputs in;
  in.state_root = std::string("/cache");
  in.state_root_source = "OCIBUILD_ROOT";
  in.tmp_dir = "/tmp";
  return in;
}

std::string LineFor(const DoctorReport& r, const std::string& check) {
  for (const auto& l : Split(FormatReport(r), '\n'))
    if (l.find(" " + check + ": ") == 4) return l;
  return "";
}

TEST(Doctor, ContainerWithDefaultSeccompRunsTheSandbox) {
  FakeProbes p;
  DoctorReport r = RunDoctor(p, Inputs());
  std::string out = FormatReport(r);
  EXPECT_TRUE(r.run_steps_ok);
  EXPECT_FALSE(r.any_failed()) << out;
  EXPECT_EQ(LineFor(r, "ptrace").substr(0, 13), "ok   ptrace: ") << out;
  EXPECT_NE(LineFor(r, "user namespaces").find("refused"), std::string::npos) << out;
  EXPECT_EQ(LineFor(r, "user namespaces").substr(0, 4), "ok  ") << out;
  EXPECT_NE(LineFor(r, "overlay").find("root filesystem is overlay"), std::string::npos) << out;
  EXPECT_NE(LineFor(r, "state dir").find("/cache (from OCIBUILD_ROOT), ext4"), std::string::npos)
      << out;
  EXPECT_NE(LineFor(r, "tmp").find("/tmp (tmpfs, another filesystem) holds only small per-RUN"),
            std::string::npos)
      << out;
  EXPECT_NE(LineFor(r, "xattrs").find("user.* can be stored in /cache, security.* cannot"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.substr(out.rfind('\n', out.size() - 2) + 1),
            "RUN steps: supervised sandbox (fake root, no privileges)\n");
  EXPECT_EQ(LineFor(r, "kernel"), "ok   kernel: 6.8.0-1017-azure (RUN steps need >= 5.9)") << out;
  EXPECT_NE(LineFor(r, "process memory").find("/proc/<pid>/mem is used"), std::string::npos)
      << out;
}

TEST(Doctor, PtraceForbiddenBySeccompProfileSaysHowToFixIt) {
  FakeProbes p;
  p.ptrace = Refused(EPERM, "ptrace(PTRACE_SEIZE)");
  DoctorReport r = RunDoctor(p, Inputs());
  std::string out = FormatReport(r);
  EXPECT_FALSE(r.run_steps_ok);
  EXPECT_TRUE(r.any_failed());
  EXPECT_EQ(LineFor(r, "ptrace").substr(0, 4), "FAIL") << out;
  EXPECT_NE(out.find("seccompProfile: RuntimeDefault"), std::string::npos) << out;
  EXPECT_NE(r.verdict.find("RUN steps: cannot run here: ptrace is refused"), std::string::npos);
  EXPECT_NE(r.verdict.find("Dockerfiles without RUN still build"), std::string::npos);
  EXPECT_EQ(p.ptrace_calls, 1);  // no seccomp-trace probe without ptrace
}

TEST(Doctor, YamaScopeIsNamedWhenItIsTheCause) {
  FakeProbes p;
  p.ptrace = Refused(EPERM, "ptrace(PTRACE_SEIZE)");
  p.yama = "3\n";
  DoctorReport r = RunDoctor(p, Inputs());
  EXPECT_NE(LineFor(r, "ptrace").find("Yama ptrace_scope is 3"), std::string::npos)
      << FormatReport(r);
}

TEST(Doctor, OldKernelWithoutSeccompTraceStops) {
  FakeProbes p;
  p.ptrace_seccomp = sys::ProbeOutcome{false, 0, "the tracer never saw the seccomp trace stop"};
  DoctorReport r = RunDoctor(p, Inputs());
  EXPECT_FALSE(r.run_steps_ok);
  EXPECT_NE(LineFor(r, "seccomp").find("fix: use a kernel >= 4.8"), std::string::npos)
      << FormatReport(r);
}

TEST(Doctor, KernelTooOldForTheSupervisor) {
  FakeProbes p;
  p.osrelease = "5.4.0-150-generic\n";
  p.notify.addfd = Refused(EINVAL, "SECCOMP_IOCTL_NOTIF_ADDFD");
  p.notify.killable = false;
  DoctorReport r = RunDoctor(p, Inputs());
  EXPECT_FALSE(r.run_steps_ok);
  EXPECT_EQ(LineFor(r, "kernel").substr(0, 4), "FAIL") << FormatReport(r);
  EXPECT_NE(r.verdict.find("older than 5.9"), std::string::npos) << r.verdict;
  EXPECT_NE(LineFor(r, "seccomp notify").find("fix: run on Linux >= 5.9"), std::string::npos)
      << FormatReport(r);
}

TEST(Doctor, KernelWithoutKillableWaitsWarns) {
  FakeProbes p;
  p.osrelease = "5.15.0-1057-aws\n";
  p.notify.killable = false;
  DoctorReport r = RunDoctor(p, Inputs());
  EXPECT_TRUE(r.run_steps_ok);
  EXPECT_EQ(LineFor(r, "killable waits").substr(0, 4), "warn") << FormatReport(r);
}

TEST(Doctor, LowDiskWarnsAndUnwritableStateRootFails) {
  FakeProbes p;
  p.fs["/cache"].free_bytes = 100ull << 20;
  DoctorReport r = RunDoctor(p, Inputs());
  EXPECT_EQ(LineFor(r, "free disk").substr(0, 4), "warn") << FormatReport(r);
  EXPECT_FALSE(r.any_failed());

  DoctorInputs in = Inputs();
  in.state_root = Error{"mkdir /ro/ocibuild: Read-only file system"};
  r = RunDoctor(p, in);
  EXPECT_TRUE(r.any_failed());
  EXPECT_NE(LineFor(r, "state dir").find("fix: set OCIBUILD_ROOT"), std::string::npos)
      << FormatReport(r);
  EXPECT_TRUE(r.run_steps_ok);  // the sandbox itself would work
}

TEST(Doctor, ReadOnlyTmpFailsWithTheFix) {
  FakeProbes p;
  p.read_only.insert("/tmp");
  DoctorReport r = RunDoctor(p, Inputs());
  EXPECT_TRUE(r.any_failed());
  EXPECT_NE(LineFor(r, "tmp").find("FAIL tmp: "), std::string::npos) << FormatReport(r);
  EXPECT_NE(LineFor(r, "tmp").find("fix: set TMPDIR"), std::string::npos) << FormatReport(r);
}

TEST(Doctor, RegistryChecksReportReachabilityCredentialsPullAndPush) {
  FakeProbes p;
  RegistryAccess ok;
  ok.registry = "ghcr.io";
  ok.name = "ghcr.io/org/app";
  ok.endpoint = std::string("https://ghcr.io/v2/");
  ok.credential_source = "GITHUB_TOKEN";
  ok.asks_for_auth = true;
  p.registries["ghcr.io/org/app:1"] = ok;
  RegistryAccess denied = ok;
  denied.name = "ghcr.io/other/app";
  denied.push = Error{"starting an upload to ghcr.io/other/app: 403 Forbidden: DENIED"};
  p.registries["ghcr.io/other/app"] = denied;
  RegistryAccess down;
  down.registry = "127.0.0.1:1";
  down.name = "127.0.0.1:1/x";
  down.endpoint = Error{"GET https://127.0.0.1:1/v2/: Connection refused"};
  p.registries["127.0.0.1:1/x"] = down;
  DoctorInputs in = Inputs();
  in.refs = {"ghcr.io/org/app:1", "ghcr.io/other/app", "127.0.0.1:1/x"};
  DoctorReport r = RunDoctor(p, in);
  std::string out = FormatReport(r);
  EXPECT_NE(
      out.find(
          "ok   registry ghcr.io: reachable at https://ghcr.io/v2/ (asks for authentication)\n"),
      std::string::npos)
      << out;
  EXPECT_NE(out.find("ok   credentials for ghcr.io: found in GITHUB_TOKEN\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("ok   pull ghcr.io/org/app: allowed (no such tag yet)\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("ok   push ghcr.io/org/app: allowed"), std::string::npos) << out;
  EXPECT_NE(out.find("FAIL push ghcr.io/other/app: refused (starting an upload"), std::string::npos)
      << out;
  EXPECT_NE(out.find("packages: write"), std::string::npos) << out;
  EXPECT_NE(out.find("FAIL registry 127.0.0.1:1: unreachable"), std::string::npos) << out;
  EXPECT_TRUE(r.any_failed());
  EXPECT_TRUE(r.run_steps_ok);
}

}  // namespace
}  // namespace ocibuild::cli
