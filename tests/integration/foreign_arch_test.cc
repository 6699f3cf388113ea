// RUN steps of a foreign architecture: an arm64 image (Debian's arm64 busybox) whose RUN step
// runs on this amd64 machine under qemu-user, started by the sandbox at exec (RunSpec::emulator,
// set by builder/run_step.cc from the stage's architecture), with no binfmt_misc and no
// privileges: the sandbox wraps every foreign ELF it is asked to exec, so a binfmt_misc
// registration on the host changes nothing.
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

TEST(ForeignArch, Arm64RunStepRunsUnderQemuUser) {
  std::string arm = JoinPath(Env("OCIBUILD_BUILD_DIR"), "cache/arm64-busybox/busybox");
  if (::access(arm.c_str(), X_OK) != 0) {
    auto r = RunProcess({JoinPath(Env("OCIBUILD_SOURCE_DIR"), "scripts/arm64-busybox.sh")});
    ASSERT_TRUE(r.ok() && r->success()) << "scripts/arm64-busybox.sh failed";
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
                "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox uname -m > /arch\"]\n"
                "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox id -u > /uid\"]\n")
          .ok());
  SpawnOptions o;
  o.extra_env["OCIBUILD_ROOT"] = JoinPath(tmp->path(), "state");
  auto r = RunProcess({Env("OCIBUILD_BINARY"), "--progress=plain", "--platform", "linux/arm64",
                       "-o", "type=local,dest=" + JoinPath(tmp->path(), "out"), ctx},
                      o);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->exit_code, 0) << r->err;
  EXPECT_EQ(*ReadFile(JoinPath(tmp->path(), "out/arch")), "aarch64\n");
  // Still the sandbox's step: fake root.
  EXPECT_EQ(*ReadFile(JoinPath(tmp->path(), "out/uid")), "0\n");
  // Nothing of the emulator's is in the image.
  EXPECT_FALSE(PathExists(JoinPath(tmp->path(), "out/usr/bin/qemu-aarch64-static")));
}

}  // namespace
}  // namespace ocibuild
