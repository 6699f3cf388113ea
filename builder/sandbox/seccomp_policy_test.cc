#include "builder/sandbox/seccomp_policy.h"

#include <gtest/gtest.h>
#include <sys/syscall.h>

namespace ocibuild::sandbox {
namespace {

TEST(SeccompPolicyTest, PathIdentityAndProcessCallsGoToTheSupervisor) {
  for (long nr : std::initializer_list<long>{
           SYS_open, SYS_openat, SYS_openat2, SYS_statx, SYS_newfstatat, SYS_faccessat2,
           SYS_renameat2, SYS_getxattr, SYS_utimensat, SYS_mknodat, SYS_getuid, SYS_chown, 452L /*fchmodat2*/, SYS_chdir,
           SYS_fchdir, SYS_umask, SYS_kill, SYS_tgkill, SYS_process_vm_writev, SYS_pidfd_open,
           SYS_kcmp, SYS_shmget, SYS_semop, SYS_msgrcv, SYS_uname, SYS_unshare})
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kNotify) << nr;
  // The tracer's: execs, and calls on the guest's own descriptors (handed over first).
  for (long nr : std::initializer_list<long>{SYS_execve, SYS_execveat, SYS_connect, SYS_bind,
                                             SYS_sendmmsg, SYS_inotify_add_watch})
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kTrace) << nr;
  // Unknown numbers: the supervisor names and refuses them.
  EXPECT_EQ(PolicyFor(999).verdict, Verdict::kNotify);
}

TEST(SeccompPolicyTest, UnsafeSyscallsAreRefused) {
  for (long nr : std::initializer_list<long>{
           SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register, SYS_mount, SYS_ptrace,
           SYS_keyctl, SYS_add_key, SYS_request_key, SYS_mq_open, SYS_clone3, SYS_bpf,
           SYS_perf_event_open, SYS_setns, 463L}) {
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kErrno) << nr;
    EXPECT_NE(PolicyFor(nr).err, 0) << nr;
  }
}

TEST(SeccompPolicyTest, ComputeRunsFreeAndSomeCallsDependOnArguments) {
  for (long nr : std::initializer_list<long>{SYS_read, SYS_write, SYS_mmap, SYS_futex,
                                             SYS_recvmsg, SYS_pidfd_send_signal})
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kAllow) << nr;
  for (long nr : std::initializer_list<long>{SYS_clone, SYS_seccomp, SYS_sendto, SYS_sendmsg,
                                             SYS_close, SYS_close_range, SYS_fcntl, SYS_ioctl,
                                             SYS_prlimit64, SYS_setpriority})
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kSome) << nr;
  EXPECT_EQ(PolicyFor(SYS_fsync).verdict, Verdict::kErrno);
  EXPECT_EQ(PolicyFor(SYS_fsync).err, 0);
}

TEST(SeccompPolicyTest, FilterCompiles) {
  for (bool network : {true, false}) {
    FilterOptions o;
    o.network = network;
    o.channel_fd = network ? 65535 : -1;
    auto prog = BuildFilter(o);
    ASSERT_TRUE(prog.ok()) << prog.error().message;
    EXPECT_GT(prog->size(), 10u);
  }
}

}  // namespace
}  // namespace ocibuild::sandbox
