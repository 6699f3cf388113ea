#include "builder/sandbox/seccomp_policy.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>

namespace ocibuild::sandbox {
namespace {

TEST(SeccompPolicyTest, PathSyscallsAreTraced) {
  for (long nr : std::initializer_list<long>{
           SYS_open, SYS_openat, SYS_openat2, SYS_statx, SYS_newfstatat, SYS_faccessat2, SYS_execve,
           SYS_execveat, SYS_renameat2, SYS_getxattr, SYS_utimensat, SYS_mknodat,
           SYS_inotify_add_watch, SYS_bind, SYS_connect, SYS_getuid, SYS_chown, 452L /*fchmodat2*/})
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kTrace) << nr;
}

TEST(SeccompPolicyTest, UnsafeSyscallsAreRefused) {
  for (long nr : std::initializer_list<long>{425L, 426L, 427L, static_cast<long>(SYS_mount),
                                             static_cast<long>(SYS_ptrace), 463L}) {
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kErrno) << nr;
    EXPECT_NE(PolicyFor(nr).err, 0) << nr;
  }
}

TEST(SeccompPolicyTest, ComputeRunsFree) {
  for (long nr :
       std::initializer_list<long>{SYS_read, SYS_write, SYS_mmap, SYS_futex, SYS_clone, SYS_clone3})
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kAllow) << nr;
  EXPECT_EQ(PolicyFor(SYS_fsync).verdict, Verdict::kErrno);
  EXPECT_EQ(PolicyFor(SYS_fsync).err, 0);
  EXPECT_EQ(PolicyFor(999).verdict, Verdict::kTrace);
}

TEST(SeccompPolicyTest, FilterCompiles) {
  auto prog = BuildFilter();
  ASSERT_TRUE(prog.ok()) << prog.error().message;
  EXPECT_GT(prog->size(), 10u);
}

}  // namespace
}  // namespace ocibuild::sandbox
