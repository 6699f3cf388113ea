// `ocibuild doctor` end to end: the real binary probes the real environment (as root, as an
// unprivileged user, and inside `docker run --user 1000 --cap-drop=ALL`), its verdict is held
// against what a build with RUN actually does here, and its registry checks run against a real
// docker-registry with and without credentials.
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/integration_testing.h"
#include "tests/registry/registry_fixture.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using registry::testing::AuthMode;
using registry::testing::HaveTool;
using registry::testing::TestRegistry;
using testing::Busybox;
using testing::Env;

class DoctorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = Env("OCIBUILD_BINARY");
    ASSERT_FALSE(bin_.empty()) << "OCIBUILD_BINARY not set";
    auto d = TempDir::Create("ocibuild-doctor-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    state_ = JoinPath(tmp_->path(), "state");
  }

  // A controlled environment: PATH, HOME and TMPDIR only, plus `extra`.
  ProcessResult Run(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& extra = {}) {
    std::map<std::string, std::string> env = {
        {"PATH", Env("PATH")},
        {"HOME", tmp_->path()},
        {"TMPDIR", tmp_->path()},
        {"OCIBUILD_ROOT", state_},
        // The container runner ships the libraries ocibuild needs next to it.
        {"LD_LIBRARY_PATH", Env("LD_LIBRARY_PATH")}};
    for (const auto& [k, v] : extra) env[k] = v;
    std::vector<std::string> e;
    for (const auto& [k, v] : env)
      if (!v.empty()) e.push_back(k + "=" + v);
    SpawnOptions o;
    o.env = e;
    std::vector<std::string> argv = {bin_};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunProcess(argv, o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : ProcessResult{};
  }

  std::string bin_;
  std::unique_ptr<TempDir> tmp_;
  std::string state_;
};

bool HasLine(const std::string& out, const std::string& prefix) {
  for (const auto& l : Split(out, '\n'))
    if (l.starts_with(prefix)) return true;
  return false;
}

TEST_F(DoctorTest, VerdictMatchesWhatABuildWithRunDoes) {
  auto r = Run({"doctor"});
  SCOPED_TRACE(r.out + r.err);
  // Stable format: every line is a check with a 4-letter status, the last one the verdict.
  auto lines = Split(r.out, '\n');
  ASSERT_GE(lines.size(), 8u);
  if (lines.back().empty()) lines.pop_back();
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    const std::string& l = lines[i];
    EXPECT_TRUE(l.starts_with("ok   ") || l.starts_with("warn ") || l.starts_with("FAIL ")) << l;
  }
  EXPECT_TRUE(lines.back().starts_with("RUN steps: ")) << lines.back();
  for (const char* check : {"ptrace", "kernel", "seccomp notify", "seccomp", "user namespaces",
                            "overlay", "state dir", "free disk", "tmp", "xattrs"})
    EXPECT_TRUE(HasLine(r.out, std::string("ok   ") + check + ": ") ||
                HasLine(r.out, std::string("warn ") + check + ": ") ||
                HasLine(r.out, std::string("FAIL ") + check + ": "))
        << "no line for " << check;
  EXPECT_TRUE(HasLine(r.out, "ok   state dir: " + state_ + " (from OCIBUILD_ROOT)"));

  bool sandbox = lines.back() == "RUN steps: supervised sandbox (fake root, no privileges)" ||
                 lines.back() ==
                     "RUN steps: supervised sandbox (fake root, no privileges, even though this "
                     "process is root)";
  EXPECT_EQ(r.exit_code, sandbox ? 0 : 1);
  if (Env("OCIBUILD_IN_CONTAINER") == "1") {
    // docker run --user 1000 --cap-drop=ALL, default seccomp, overlay root: what ocibuild is for.
    EXPECT_TRUE(sandbox);
    EXPECT_TRUE(HasLine(r.out, "ok   ptrace: allowed"));
    EXPECT_TRUE(HasLine(r.out, "ok   seccomp notify: "));
    // Docker's default profile refuses process_vm_* without CAP_SYS_PTRACE.
    EXPECT_TRUE(HasLine(r.out, "ok   process memory: process_vm_* refused"));
    EXPECT_TRUE(HasLine(r.out, "ok   user namespaces: refused"));
    EXPECT_TRUE(HasLine(r.out, "ok   overlay: the root filesystem is overlay"));
  }

  // The verdict is a prediction: a Dockerfile with RUN must build exactly when it says so.
  if (Busybox().empty()) GTEST_SKIP() << "no static busybox to check the verdict with";
  std::string ctx = JoinPath(tmp_->path(), "ctx");
  ASSERT_TRUE(MakeDirs(ctx).ok());
  auto cp = RunProcess({"cp", Busybox(), JoinPath(ctx, "busybox")});
  ASSERT_TRUE(cp.ok() && cp->success());
  ASSERT_TRUE(WriteFileAtomic(JoinPath(ctx, "Dockerfile"),
                              "FROM scratch\nCOPY busybox /bin/busybox\n"
                              "RUN [\"/bin/busybox\", \"touch\", \"/ran\"]\n")
                  .ok());
  auto b = Run({"--progress=plain", "-o", "type=oci,dest=" + JoinPath(tmp_->path(), "out"), ctx});
  EXPECT_EQ(b.exit_code == 0, sandbox) << b.err;
}

TEST_F(DoctorTest, StateDirFallsBackToTmpWhenHomeIsNotWritable) {
  // HOME under /proc: nothing can be created there, whoever we are.
  auto r = Run({"doctor"}, {{"OCIBUILD_ROOT", ""}, {"HOME", "/proc/1/ocibuild-no-home"}});
  std::string expect =
      "warn state dir: " + JoinPath(tmp_->path(), "ocibuild-" + std::to_string(::getuid()));
  EXPECT_TRUE(HasLine(r.out, expect)) << r.out;
  EXPECT_NE(r.out.find("set OCIBUILD_ROOT to a volume"), std::string::npos) << r.out;
}

TEST_F(DoctorTest, RegistryWithoutAuth) {
  if (!HaveTool("docker-registry"))
    GTEST_SKIP() << "needs docker-registry (not in this environment)";
  auto reg = TestRegistry::Start(AuthMode::kNone);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  std::string host = (*reg)->host();
  auto r = Run({"doctor", host + "/doctor/app:1"});
  SCOPED_TRACE(r.out);
  EXPECT_TRUE(HasLine(r.out, "ok   registry " + host + ": reachable at http://" + host +
                                 "/v2/ (open: no authentication asked)"));
  EXPECT_TRUE(HasLine(r.out, "ok   credentials for " + host + ": none found"));
  EXPECT_TRUE(HasLine(r.out, "ok   pull " + host + "/doctor/app: allowed (no such tag yet)"));
  EXPECT_TRUE(HasLine(r.out, "ok   push " + host + "/doctor/app: allowed"));
  // Nothing was pushed by the push check.
  auto tags = RunProcess({"curl", "-s", "http://" + host + "/v2/_catalog"});
  if (tags.ok() && tags->success()) {
    EXPECT_EQ(tags->out.find("doctor/app"), std::string::npos);
  }
}

TEST_F(DoctorTest, RegistryWithBasicAuthOverTls) {
  if (!HaveTool("docker-registry") || !HaveTool("htpasswd") || !HaveTool("openssl"))
    GTEST_SKIP() << "needs docker-registry, htpasswd and openssl (not in this environment)";
  auto reg = TestRegistry::Start(AuthMode::kHtpasswdTls);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  std::string host = (*reg)->host();
  std::string ref = host + "/doctor/private:1";
  std::string ca = (*reg)->ClientOptions().ca_file;

  // Without credentials: reachable, but neither pull nor push.
  auto anon = Run({"doctor", "--registry-ca", ca, ref});
  SCOPED_TRACE(anon.out);
  EXPECT_EQ(anon.exit_code, 1);
  EXPECT_TRUE(HasLine(anon.out, "ok   registry " + host + ": reachable at https://" + host));
  EXPECT_TRUE(HasLine(anon.out, "ok   credentials for " + host + ": none found"));
  EXPECT_TRUE(HasLine(anon.out, "FAIL pull " + host + "/doctor/private: refused"));
  EXPECT_TRUE(HasLine(anon.out, "FAIL push " + host + "/doctor/private: refused"));
  EXPECT_NE(anon.out.find("fix: provide credentials"), std::string::npos);

  // With the docker config the fixture writes: found, accepted for pull and push.
  auto cenv = (*reg)->ClientEnv(host);
  auto authed =
      Run({"doctor", "--registry-ca", ca, ref}, {{"DOCKER_CONFIG", cenv.vars["DOCKER_CONFIG"]}});
  SCOPED_TRACE(authed.out);
  EXPECT_EQ(authed.exit_code, 0) << authed.err;
  EXPECT_TRUE(HasLine(authed.out,
                      "ok   credentials for " + host + ": found in " + cenv.vars["DOCKER_CONFIG"]));
  EXPECT_TRUE(HasLine(authed.out, "ok   pull " + host + "/doctor/private: allowed"));
  EXPECT_TRUE(HasLine(authed.out, "ok   push " + host + "/doctor/private: allowed"));
  // The password is never printed.
  EXPECT_EQ(authed.out.find((*reg)->password), std::string::npos);
}

TEST_F(DoctorTest, RegistryWithTokenAuthFetchesTokensForPullAndPush) {
  if (!HaveTool("docker-registry") || !HaveTool("python3") || !HaveTool("openssl"))
    GTEST_SKIP() << "needs docker-registry, python3 and openssl (not in this environment)";
  auto reg = TestRegistry::Start(AuthMode::kToken);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  std::string host = (*reg)->host();
  std::vector<std::string> args = {"doctor"};
  if (std::string ca = (*reg)->ClientOptions().ca_file; !ca.empty()) {
    args.push_back("--registry-ca");
    args.push_back(ca);
  }
  args.push_back(host + "/doctor/tok:1");
  auto cenv = (*reg)->ClientEnv(host);
  auto r = Run(args, {{"DOCKER_CONFIG", cenv.vars["DOCKER_CONFIG"]}});
  SCOPED_TRACE(r.out);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(HasLine(r.out, "ok   registry " + host + ": reachable at ")) << r.out;
  EXPECT_NE(r.out.find("(asks for authentication)"), std::string::npos);
  EXPECT_TRUE(HasLine(r.out, "ok   pull " + host + "/doctor/tok: allowed"));
  EXPECT_TRUE(HasLine(r.out, "ok   push " + host + "/doctor/tok: allowed"));
  // The push check asked the token server for push scope.
  auto log = (*reg)->TokenLog();
  ASSERT_TRUE(log.ok());
  bool push_scope = false;
  for (const auto& entry : *log)
    if (entry.dump().find("repository:doctor/tok:push") != std::string::npos) push_scope = true;
  EXPECT_TRUE(push_scope) << "no token with push scope was requested";
}

}  // namespace
}  // namespace ocibuild
