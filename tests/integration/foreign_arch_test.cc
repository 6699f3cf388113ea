// RUN steps of a foreign architecture: an arm64 image (Debian's arm64 busybox) whose RUN step
// runs on this amd64 machine under qemu-user, started by the sandbox at exec (RunSpec::emulator,
// set by builder/run_step.cc from the stage's architecture), with no binfmt_misc and no
// privileges. EXPECTED TO FAIL until the sandbox starts executables under `emulator`: ctest
// runs this binary with WILL_FAIL (tests/integration/CMakeLists.txt); remove that when it
// passes. Where qemu is registered with binfmt_misc the kernel would run the step itself, which
// is not what this tests: it skips there.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

#include "tests/integration/integration_testing.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using testing::Env;

// Skips with ctest's skip status (77): a gtest skip exits 0, which WILL_FAIL would count as a
// failure.
[[noreturn]] void SkipLoudly(const std::string& why) {
  std::fprintf(stderr, "*** SKIPPED: %s ***\n", why.c_str());
  std::exit(77);
}

TEST(ForeignArch, Arm64RunStepRunsUnderQemuUser) {
  if (PathExists("/proc/sys/fs/binfmt_misc/qemu-aarch64"))
    SkipLoudly(
        "qemu-aarch64 is registered with binfmt_misc: the kernel, not the sandbox, "
        "would run the step");
  std::string arm = JoinPath(Env("OCIBUILD_BUILD_DIR"), "cache/arm64-busybox/busybox");
  if (::access(arm.c_str(), X_OK) != 0) {
    auto r = RunProcess({JoinPath(Env("OCIBUILD_SOURCE_DIR"), "scripts/arm64-busybox.sh")});
    if (!r.ok() || !r->success()) SkipLoudly("no arm64 busybox (scripts/arm64-busybox.sh)");
    arm = std::string(TrimSpace(r->out));
  }
  auto tmp = TempDir::Create("ocibuild-foreign-");
  ASSERT_TRUE(tmp.ok());
  std::string ctx = JoinPath(tmp->path(), "ctx");
  ASSERT_TRUE(MakeDirs(ctx).ok());
  ASSERT_TRUE(RunProcess({"cp", arm, JoinPath(ctx, "busybox")})->success());
  ASSERT_TRUE(
      WriteFile(JoinPath(ctx, "Dockerfile"),
                "FROM scratch\nCOPY busybox /bin/busybox\n"
                "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox uname -m > /arch\"]\n")
          .ok());
  SpawnOptions o;
  o.extra_env["OCIBUILD_ROOT"] = JoinPath(tmp->path(), "state");
  auto r = RunProcess({Env("OCIBUILD_BINARY"), "--progress=plain", "--platform", "linux/arm64",
                       "-o", "type=local,dest=" + JoinPath(tmp->path(), "out"), ctx},
                      o);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->err;
  EXPECT_EQ(*ReadFile(JoinPath(tmp->path(), "out/arch")), "aarch64\n");
}

}  // namespace
}  // namespace ocibuild
