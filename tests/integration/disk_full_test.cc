// A full disk in the middle of a build: OCIBUILD_ROOT on a small tmpfs that the test mounts (so
// it needs root; it skips loudly otherwise). Each failure must name the path and "No space left
// on device", point at OCIBUILD_ROOT, leave no partial blob, temp file or scratch directory, and
// move no tag.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "tests/integration/integration_testing.h"
#include "tests/registry/registry_fixture.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using registry::testing::AuthMode;
using registry::testing::HaveTool;
using registry::testing::RunSkopeo;
using registry::testing::TestRegistry;
using testing::Busybox;
using testing::Env;

// Incompressible bytes, so the layer is as big as the file.
void WriteRandomFile(const std::string& path, size_t bytes) {
  std::mt19937_64 rng(42 + bytes);
  std::string data(bytes, '\0');
  for (size_t i = 0; i + 8 <= bytes; i += 8) {
    uint64_t v = rng();
    std::memcpy(&data[i], &v, 8);
  }
  ASSERT_TRUE(WriteFileAtomic(path, data).ok()) << path;
}

class DiskFullTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = Env("OCIBUILD_BINARY");
    ASSERT_FALSE(bin_.empty()) << "OCIBUILD_BINARY not set";
    auto d = TempDir::Create("ocibuild-diskfull-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    mnt_ = JoinPath(tmp_->path(), "small");
    ASSERT_TRUE(MakeDirs(mnt_).ok());
    if (::mount("tmpfs", mnt_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755") != 0) {
      int err = errno;
      GTEST_SKIP() << "*** disk-full test SKIPPED: cannot mount a small tmpfs ("
                   << std::strerror(err) << "); it runs as root only ***";
    }
    mounted_ = true;
    root_ = JoinPath(mnt_, "ocibuild");
  }
  void TearDown() override {
    if (mounted_) ::umount2(mnt_.c_str(), MNT_DETACH);
  }

  std::string Context(const std::string& name, const std::string& dockerfile) {
    std::string dir = JoinPath(tmp_->path(), name);
    EXPECT_TRUE(MakeDirs(dir).ok());
    EXPECT_TRUE(WriteFileAtomic(JoinPath(dir, "Dockerfile"), dockerfile).ok());
    return dir;
  }

  ProcessResult Build(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {bin_, "--progress=plain"};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions o;
    o.extra_env["OCIBUILD_ROOT"] = root_;
    auto r = RunProcess(argv, o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : ProcessResult{};
  }

  // The failure says what filled up and what to do.
  void ExpectDiskFullError(const ProcessResult& r) {
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("no space left on device: ocibuild's state directory " + root_),
              std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("OCIBUILD_ROOT"), std::string::npos) << r.err;
  }

  // Only whole, verified blobs; no temp files; no scratch directories of the failed build.
  void ExpectNothingPartial() {
    auto list = RunProcess({"find", root_, "-type", "f"});
    ASSERT_TRUE(list.ok() && list->success());
    for (const auto& f : Split(list->out, '\n')) {
      if (f.empty()) continue;
      SCOPED_TRACE(f);
      EXPECT_EQ(f.find(root_ + "/work/"), std::string::npos) << "scratch left behind";
      EXPECT_EQ(f.find(root_ + "/tmp/"), std::string::npos) << "temp file left behind";
      size_t b = f.find("/blobs/sha256/");
      if (b != std::string::npos) {
        auto data = ReadFile(f);
        ASSERT_TRUE(data.ok());
        EXPECT_EQ(Sha256::HexOf(*data), f.substr(b + 14)) << "partial blob";
      }
    }
    auto dirs = RunProcess({"find", JoinPath(root_, "work"), "-mindepth", "1", "-maxdepth", "1"});
    if (dirs.ok() && dirs->success()) {
      EXPECT_EQ(dirs->out, "") << "scratch directories left behind";
    }
  }

  std::string bin_;
  std::unique_ptr<TempDir> tmp_;
  std::string mnt_;
  std::string root_;
  bool mounted_ = false;
};

TEST_F(DiskFullTest, ContextCopyLargerThanTheDisk) {
  std::string ctx = Context("copy", "FROM scratch\nCOPY big /big\n");
  WriteRandomFile(JoinPath(ctx, "big"), 24 << 20);
  std::string out = JoinPath(tmp_->path(), "layout");
  auto r = Build({"-o", "type=oci,dest=" + out, ctx});
  ExpectDiskFullError(r);
  EXPECT_NE(r.err.find("COPY"), std::string::npos) << r.err;
  ExpectNothingPartial();
  EXPECT_FALSE(PathExists(out));
}

TEST_F(DiskFullTest, LayerThatDoesNotFitAfterTheCopy) {
  // 9 MiB fits in the rootfs, but not twice (rootfs + layer blob) in 16 MiB.
  std::string ctx = Context("layer", "FROM scratch\nCOPY big /big\n");
  WriteRandomFile(JoinPath(ctx, "big"), 9 << 20);
  auto r = Build({"-o", "type=oci,dest=" + JoinPath(tmp_->path(), "layout"), ctx});
  ExpectDiskFullError(r);
  ExpectNothingPartial();
}

TEST_F(DiskFullTest, RunStepThatFillsTheDisk) {
  if (Busybox().empty()) GTEST_SKIP() << "no static busybox on this machine";
  std::string ctx =
      Context("run",
              "FROM scratch\nCOPY busybox /bin/busybox\n"
              // No /dev in FROM scratch: append busybox to itself until the disk is full.
              "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"while /bin/busybox cat "
              "/bin/busybox >> /fill; do :; done; exit 1\"]\n");
  auto cp = RunProcess({"cp", Busybox(), JoinPath(ctx, "busybox")});
  ASSERT_TRUE(cp.ok() && cp->success());
  auto r = Build({"-o", "type=oci,dest=" + JoinPath(tmp_->path(), "layout"), ctx});
  ExpectDiskFullError(r);
  ExpectNothingPartial();
}

TEST_F(DiskFullTest, OutputOnAFullFilesystemNamesThatPathNotTheStateDir) {
  // The state directory has room; the -o destination (the small tmpfs) does not.
  root_ = JoinPath(tmp_->path(), "roomy-state");
  std::string ctx = Context("out", "FROM scratch\nCOPY big /big\n");
  WriteRandomFile(JoinPath(ctx, "big"), 24 << 20);
  std::string dest = JoinPath(mnt_, "layout");
  auto r = Build({"-o", "type=oci,dest=" + dest, ctx});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(mnt_), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("No space left on device"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("no space left on device where the path above lives"), std::string::npos)
      << r.err;
  auto left = RunProcess({"find", mnt_, "-mindepth", "1"});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->out, "") << "partial output left behind";
}

TEST_F(DiskFullTest, FailedBuildMovesNoTag) {
  if (!HaveTool("docker-registry") || !HaveTool("skopeo"))
    GTEST_SKIP() << "needs docker-registry and skopeo";
  auto reg = TestRegistry::Start(AuthMode::kNone);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  std::string tag = (*reg)->host() + "/full/app:1";
  std::string small = Context("small", "FROM scratch\nCOPY small /small\n");
  WriteRandomFile(JoinPath(small, "small"), 64 << 10);
  auto ok = Build({"-t", tag, small});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  auto before = RunSkopeo({"inspect", "--tls-verify=false", "--raw", "docker://" + tag});
  ASSERT_TRUE(before.ok()) << before.error().message;

  std::string big = Context("big", "FROM scratch\nCOPY big /big\n");
  WriteRandomFile(JoinPath(big, "big"), 24 << 20);
  auto r = Build({"-t", tag, big});
  ExpectDiskFullError(r);
  auto after = RunSkopeo({"inspect", "--tls-verify=false", "--raw", "docker://" + tag});
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(*after, *before) << "the tag moved";
  ExpectNothingPartial();
}

}  // namespace
}  // namespace ocibuild
