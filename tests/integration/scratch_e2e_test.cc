// The scratch trees of a build are deleted after it exits, by a detached low-priority emptier
// (builder/trash.h), and the unpacked-tree cache is kept across --no-cache builds.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/integration/integration_testing.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using testing::Busybox;
using testing::Env;

class ScratchE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = Env("OCIBUILD_BINARY");
    ASSERT_FALSE(bin_.empty()) << "OCIBUILD_BINARY not set";
    if (Busybox().empty()) GTEST_SKIP() << "no static busybox on this machine";
    auto d = TempDir::Create("ocibuild-scratch-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    state_ = JoinPath(tmp_->path(), "state");
    ctx_ = JoinPath(tmp_->path(), "ctx");
    ASSERT_TRUE(MakeDirs(ctx_).ok());
    auto cp = RunProcess({"cp", Busybox(), JoinPath(ctx_, "busybox")});
    ASSERT_TRUE(cp.ok() && cp->success());
    // Three stages on one base with a few thousand files.
    ASSERT_TRUE(WriteFile(JoinPath(ctx_, "Dockerfile"),
                          "FROM scratch AS base\n"
                          "COPY busybox /bin/busybox\n"
                          "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox mkdir /many && "
                          "cd /many && i=0; while [ $i -lt 3000 ]; do echo $i > f$i; "
                          "i=$((i+1)); done\"]\n"
                          "FROM base AS a\n"
                          "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo a > /a\"]\n"
                          "FROM base\n"
                          "COPY --from=a /a /a\n"
                          "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo b > /b\"]\n")
                    .ok());
  }
  void TearDown() override {
    // No emptier of this test may outlive it.
    for (pid_t p : Emptiers()) ::kill(p, SIGKILL);
  }

  ProcessResult Build(std::vector<std::string> extra = {},
                      std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {
        bin_, "--progress=plain", "--output",
        "type=local,dest=" + JoinPath(tmp_->path(), "out-" + std::to_string(++builds_))};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(ctx_);
    SpawnOptions o;
    o.extra_env = std::move(env);
    o.extra_env["OCIBUILD_ROOT"] = state_;
    auto r = RunProcess(argv, o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : ProcessResult{};
  }

  std::vector<std::string> Entries(const std::string& dir) {
    std::vector<std::string> out;
    UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY));
    if (!fd) return out;
    auto names = ReadDirNames(fd.get(), dir);
    for (const auto& n : names.ok() ? *names : std::vector<std::string>{})
      if (n[0] != '.') out.push_back(n);
    return out;
  }
  std::string Trash() { return JoinPath(state_, "trash"); }

  // The live emptiers of this test's state directory.
  std::vector<pid_t> Emptiers() {
    std::vector<pid_t> out;
    UniqueFd proc(::open("/proc", O_PATH | O_DIRECTORY));
    auto names = ReadDirNames(proc.get(), "/proc");
    for (const auto& n : names.ok() ? *names : std::vector<std::string>{}) {
      if (n.find_first_not_of("0123456789") != std::string::npos) continue;
      auto cmd = ReadFile("/proc/" + n + "/cmdline");
      if (!cmd.ok()) continue;
      auto args = Split(*cmd, '\0');
      if (args.size() >= 3 && args[1] == "__empty-trash" && args[2] == state_) {
        auto stat = ReadFile("/proc/" + n + "/stat");
        if (stat.ok() && (*stat)[stat->rfind(')') + 2] != 'Z') out.push_back(std::stoi(n));
      }
    }
    return out;
  }

  bool WaitForEmptyTrash(int seconds) {
    for (int i = 0; i < seconds * 10; ++i) {
      if (Entries(Trash()).empty()) return true;
      ::usleep(100'000);
    }
    return false;
  }

  std::string bin_;
  std::unique_ptr<TempDir> tmp_;
  std::string state_, ctx_;
  std::atomic<int> builds_{0};
};

TEST_F(ScratchE2E, TreesAreDeletedAfterTheExitByADetachedLowPriorityEmptier) {
  // Another emptier "runs": the build's trees must wait in the trash, and the build must not.
  ASSERT_TRUE(MakeDirs(Trash(), 0700).ok());
  UniqueFd busy(::open(JoinPath(Trash(), ".lock").c_str(), O_RDWR | O_CREAT, 0600));
  ASSERT_TRUE(busy);
  ASSERT_EQ(::flock(busy.get(), LOCK_EX), 0);
  auto r = Build();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Entries(JoinPath(state_, "work")).empty()) << "scratch left in work/";
  auto trash = Entries(Trash());
  ASSERT_EQ(trash.size(), 1u);
  EXPECT_TRUE(StartsWith(trash[0], "build-")) << trash[0];
  EXPECT_TRUE(PathExists(JoinPath(JoinPath(Trash(), trash[0]), "stage-0/rootfs/many/f2999")))
      << "the trees were deleted before the build exited";

  // The build forks it just before it exits: on a busy machine the child may not have reached
  // its exec (and its own command line) yet.
  auto emptiers = Emptiers();
  for (int i = 0; i < 100 && emptiers.empty(); ++i) {
    ::usleep(100'000);
    emptiers = Emptiers();
  }
  ASSERT_EQ(emptiers.size(), 1u) << "no (or more than one) emptier was started";
  pid_t e = emptiers[0];
  EXPECT_EQ(::getsid(e), e) << "the emptier is not in a session of its own";
  EXPECT_NE(::getsid(e), ::getsid(0));
  auto stat = ReadFile("/proc/" + std::to_string(e) + "/stat");
  ASSERT_TRUE(stat.ok());
  auto fields = Split(stat->substr(stat->rfind(')') + 2), ' ');
  EXPECT_EQ(fields[16], "19") << "nice";  // field 19 of /proc/pid/stat
  long ioprio = ::syscall(SYS_ioprio_get, 1, e);
  EXPECT_EQ(ioprio >> 13, 3) << "not the idle I/O class: " << ioprio;

  // The emptier deletes once the other is done, and exits.
  busy.reset();
  EXPECT_TRUE(WaitForEmptyTrash(60)) << "the trash was not emptied";
  for (int i = 0; i < 100 && !Emptiers().empty(); ++i) ::usleep(100'000);
  EXPECT_TRUE(Emptiers().empty()) << "the emptier did not exit";
}

TEST_F(ScratchE2E, TheNextBuildEmptiesWhatADeadEmptierLeft) {
  ASSERT_TRUE(MakeDirs(Trash(), 0700).ok());
  {
    UniqueFd busy(::open(JoinPath(Trash(), ".lock").c_str(), O_RDWR | O_CREAT, 0600));
    ASSERT_EQ(::flock(busy.get(), LOCK_EX), 0);
    auto r = Build();
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The build forks its emptier and exits: the child shows as an emptier only once it has
    // exec'd, which on a loaded machine can come after a first look. So it is killed until none
    // has been seen for a second.
    int quiet = 0;
    for (int i = 0; i < 100 && quiet < 10; ++i) {
      auto found = Emptiers();
      for (pid_t p : found) ::kill(p, SIGKILL);
      quiet = found.empty() ? quiet + 1 : 0;
      ::usleep(100'000);
    }
    ASSERT_TRUE(Emptiers().empty());
  }
  ASSERT_EQ(Entries(Trash()).size(), 1u);
  // Several builds at once on the same state directory: each entry is deleted once, all of them.
  std::vector<std::thread> builds;
  for (int i = 0; i < 3; ++i)
    builds.emplace_back([this] {
      auto r = Build({"--no-cache"});
      EXPECT_EQ(r.exit_code, 0) << r.err;
    });
  for (auto& t : builds) t.join();
  EXPECT_TRUE(WaitForEmptyTrash(120)) << "the trash was not emptied";
  EXPECT_TRUE(Entries(JoinPath(state_, "work")).empty());
}

TEST_F(ScratchE2E, InterruptedBuildLeavesOnlyTrashThatIsEmptied) {
  ASSERT_TRUE(WriteFile(JoinPath(ctx_, "Dockerfile"),
                        "FROM scratch\n"
                        "COPY busybox /bin/busybox\n"
                        "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo $$ > /ready.pid; "
                        "/bin/busybox sleep 600\"]\n")
                  .ok());
  SpawnOptions o;
  o.extra_env["OCIBUILD_ROOT"] = state_;
  auto child = Child::Start({bin_, "--progress=plain", ctx_}, o, JoinPath(tmp_->path(), "log"));
  ASSERT_TRUE(child.ok());
  bool ready = false;
  for (int i = 0; i < 600 && !ready && child->Running(); ++i) {
    auto f = RunProcess({"find", JoinPath(state_, "work"), "-name", "ready.pid"});
    ready = f.ok() && !TrimSpace(f->out).empty();
    if (!ready) ::usleep(100'000);
  }
  ASSERT_TRUE(ready) << *ReadFile(JoinPath(tmp_->path(), "log"));
  ASSERT_EQ(::kill(child->pid(), SIGINT), 0);
  EXPECT_EQ(child->Wait(), 128 + SIGINT);
  EXPECT_TRUE(Entries(JoinPath(state_, "work")).empty()) << "scratch left in work/";
  EXPECT_TRUE(WaitForEmptyTrash(60)) << "the trash was not emptied";
}

// A number a RUN step printed as "<tag><number>:" (-1: none).
long long Printed(const std::string& log, const std::string& tag) {
  std::smatch m;
  const std::regex re(tag + "([0-9]+):");
  return std::regex_search(log, m, re) ? std::stoll(m[1]) : -1;
}

// Stages of one build on the same base restore its unpacked tree from the cache one after the
// other (hardlinks) instead of each unpacking it, and writing a shared file in one stage changes
// neither another stage's tree nor the image.
TEST_F(ScratchE2E, StagesOnOneBaseShareOneUnpackedTree) {
  ASSERT_TRUE(
      WriteFile(JoinPath(ctx_, "Dockerfile"),
                "FROM scratch AS base\n"
                "COPY busybox /bin/busybox\n"
                "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox mkdir -p /etc && "
                "/bin/busybox echo original > /etc/x\"]\n"
                "FROM base AS a\n"
                "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox echo a > /a; "
                "/bin/busybox stat -c inoa%i: /etc/x\"]\n"
                "FROM base AS b\n"
                "COPY --from=a /a /a\n"
                "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox stat -c inob%i:nlink%h: "
                "/etc/x; /bin/busybox echo appended >> /etc/x; /bin/busybox chmod 600 "
                "/etc/x\"]\n"
                "FROM b\n"
                "COPY --from=a /etc/x /from-a\n"
                "COPY --from=base /etc/x /from-base\n")
          .ok());
  std::map<std::string, std::string> env = {{"SOURCE_DATE_EPOCH", "1700000000"}};
  auto r = Build({"--digest-file", JoinPath(tmp_->path(), "shared.digest")}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string out = JoinPath(tmp_->path(), "out-" + std::to_string(builds_.load()));
  // b's tree was restored (its /etc/x is the inode a's tree has), not unpacked; the step still
  // sees the link count of the image's own tree, not the names the cache and a's tree add.
  EXPECT_NE(Printed(r.err, "inoa"), -1) << r.err;
  EXPECT_EQ(Printed(r.err, "inob"), Printed(r.err, "inoa")) << "stage b unpacked the base again\n"
                                                            << r.err;
  EXPECT_EQ(Printed(r.err, "nlink"), 1) << r.err;
  EXPECT_EQ(*ReadFile(JoinPath(out, "etc/x")), "original\nappended\n");
  EXPECT_EQ(*ReadFile(JoinPath(out, "from-a")), "original\n") << "b's write reached a's tree";
  EXPECT_EQ(*ReadFile(JoinPath(out, "from-base")), "original\n");
  struct stat st;
  ASSERT_EQ(::stat(JoinPath(out, "etc/x").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat(JoinPath(out, "from-a").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);

  // The same image as a build that shares nothing.
  env["OCIBUILD_ROOTFS_CACHE"] = "0";
  auto u = Build({"--no-cache", "--digest-file", JoinPath(tmp_->path(), "plain.digest")}, env);
  ASSERT_EQ(u.exit_code, 0) << u.err;
  std::string plain = JoinPath(tmp_->path(), "out-" + std::to_string(builds_.load()));
  EXPECT_NE(Printed(u.err, "inob"), Printed(u.err, "inoa")) << u.err;
  EXPECT_EQ(Printed(u.err, "nlink"), 1) << u.err;
  EXPECT_EQ(*ReadFile(JoinPath(plain, "from-a")), "original\n");
  EXPECT_EQ(*ReadFile(JoinPath(tmp_->path(), "shared.digest")),
            *ReadFile(JoinPath(tmp_->path(), "plain.digest")));
}

}  // namespace
}  // namespace ocibuild
