#include "oci/safe_path.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::oci {
namespace {

TEST(CleanPath, NormalisesInsideTheRoot) {
  EXPECT_EQ(*CleanPath("./usr/bin/"), "usr/bin");
  EXPECT_EQ(*CleanPath("/etc//passwd"), "etc/passwd");
  EXPECT_EQ(*CleanPath("a/./b/../c"), "a/c");
  EXPECT_EQ(*CleanPath("./"), "");
  EXPECT_EQ(*CleanPath("a/.."), "");
}

TEST(CleanPath, RefusesClimbingAboveTheRoot) {
  auto r = CleanPath("../etc/passwd");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "path escapes the root");
  EXPECT_FALSE(CleanPath("a/../../b").ok());
  EXPECT_FALSE(CleanPath("/..").ok());
}

class RootDirTest : public ::testing::TestWithParam<sys::InRootMethod> {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("ocibuild-safepath-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    root_ = dir_->path() + "/root";
    outside_ = dir_->path() + "/outside";
    ASSERT_TRUE(MakeDirs(root_ + "/usr/lib").ok());
    ASSERT_TRUE(MakeDirs(outside_).ok());
    ASSERT_TRUE(WriteFile(root_ + "/usr/lib/libc.so", "inside").ok());
    ASSERT_TRUE(WriteFile(outside_ + "/secret", "outside").ok());
    // usrmerge: an absolute link that must resolve inside the root.
    ASSERT_EQ(::symlink("/usr/lib", (root_ + "/lib").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../outside", (root_ + "/up").c_str()), 0);
    ASSERT_EQ(::symlink(outside_.c_str(), (root_ + "/abs").c_str()), 0);
    ASSERT_EQ(::symlink("loop2", (root_ + "/loop1").c_str()), 0);
    ASSERT_EQ(::symlink("loop1", (root_ + "/loop2").c_str()), 0);
  }
  RootDir Open() {
    auto r = RootDir::Open(root_, GetParam());
    EXPECT_TRUE(r.ok()) << r.error().message;
    return std::move(*r);
  }
  std::string Read(const RootDir& root, const std::string& rel) {
    auto fd = root.OpenAt(rel, O_RDONLY);
    if (!fd.ok()) return "ERR: " + fd.error().message;
    char buf[64];
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
  }
  std::unique_ptr<TempDir> dir_;
  std::string root_, outside_;
};

TEST_P(RootDirTest, AbsoluteSymlinksResolveInsideTheRoot) {
  RootDir root = Open();
  EXPECT_EQ(Read(root, "lib/libc.so"), "inside");
  EXPECT_EQ(Read(root, "/lib/libc.so"), "inside");
}

TEST_P(RootDirTest, DotDotAndSymlinksNeverLeave) {
  RootDir root = Open();
  EXPECT_EQ(
      Read(root, "../../outside/secret"),
      "ERR: " + std::string(GetParam() == sys::InRootMethod::kOpenat2 ? "openat2" : "openat") +
          " ../../outside/secret: No such file or directory");
  EXPECT_NE(Read(root, "up/secret"), "outside");
  EXPECT_NE(Read(root, "abs/secret"), "outside");
  // Creating through an escaping link lands inside the root.
  auto fd = root.OpenAt("up/new", O_WRONLY | O_CREAT | O_EXCL, 0644);
  EXPECT_FALSE(fd.ok());  // "up" resolves to /outside inside the root, which does not exist
  ASSERT_TRUE(root.MkdirAll("outside").ok());
  fd = root.OpenAt("up/new", O_WRONLY | O_CREAT | O_EXCL, 0644);
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  EXPECT_TRUE(PathExists(root_ + "/outside/new"));
  EXPECT_FALSE(PathExists(outside_ + "/new"));
}

TEST_P(RootDirTest, SymlinkLoopsFail) {
  RootDir root = Open();
  auto fd = root.OpenAt("loop1/x", O_RDONLY);
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.error().sys_errno, ELOOP);
}

TEST_P(RootDirTest, NoFollowAppliesToTheFinalComponentOnly) {
  RootDir root = Open();
  auto fd = root.OpenAt("lib", O_PATH | O_NOFOLLOW);
  ASSERT_TRUE(fd.ok());
  struct stat st;
  ASSERT_EQ(::fstat(fd->get(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  auto through = root.OpenAt("lib/libc.so", O_RDONLY | O_NOFOLLOW);
  EXPECT_TRUE(through.ok());
}

TEST_P(RootDirTest, MkdirAllCreatesThroughInRootSymlinks) {
  RootDir root = Open();
  auto fd = root.MkdirAll("lib/x86_64-linux-gnu/deep");
  ASSERT_TRUE(fd.ok()) << fd.error().message;
  EXPECT_TRUE(PathExists(root_ + "/usr/lib/x86_64-linux-gnu/deep"));
  auto p = root.OpenParent("abs/y/z", /*create=*/true);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->name, "z");
  EXPECT_FALSE(PathExists(outside_ + "/y"));
}

TEST_P(RootDirTest, ParentMustBeADirectory) {
  RootDir root = Open();
  auto p = root.OpenParent("usr/lib/libc.so/x", true);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().sys_errno, ENOTDIR);
}

// A seccomp filter answering `err` to openat2, as older Docker default profiles do.
bool DenyOpenat2(int err) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (static_cast<unsigned>(err) & 0xffff)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {static_cast<unsigned short>(sizeof f / sizeof f[0]), f};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0;
}

TEST_F(RootDirTest, FallsBackToTheWalkWhenSeccompRefusesOpenat2) {
  for (int err : {EPERM, ENOSYS}) {
    SCOPED_TRACE(err);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Exit codes tell the parent which check failed; gtest must not run in the child.
      if (!DenyOpenat2(err)) ::_exit(10);
      if (sys::Openat2Usable(AT_FDCWD)) ::_exit(11);
      auto root = RootDir::Open(root_);
      if (!root.ok()) ::_exit(12);
      if (root->method() != sys::InRootMethod::kWalk) ::_exit(13);
      auto fd = root->OpenAt("/lib/libc.so", O_RDONLY);
      if (!fd.ok()) ::_exit(14);
      auto esc = root->OpenAt("abs/secret", O_RDONLY);
      if (esc.ok()) ::_exit(15);
      ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, RootDirTest,
                         ::testing::Values(sys::InRootMethod::kOpenat2, sys::InRootMethod::kWalk),
                         [](const auto& info) {
                           return info.param == sys::InRootMethod::kOpenat2 ? "openat2" : "walk";
                         });

}  // namespace
}  // namespace ocibuild::oci
