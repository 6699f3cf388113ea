#include "builder/sandbox/seccomp_policy.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cstring>

namespace ocibuild::sandbox {
namespace {

TEST(SeccompPolicyTest, PathIdentityAndProcessCallsGoToTheSupervisor) {
  for (long nr : std::initializer_list<long>{SYS_open,
                                             SYS_openat,
                                             SYS_openat2,
                                             SYS_statx,
                                             SYS_newfstatat,
                                             SYS_faccessat2,
                                             SYS_renameat2,
                                             SYS_getxattr,
                                             SYS_utimensat,
                                             SYS_mknodat,
                                             SYS_getuid,
                                             SYS_chown,
                                             452L /*fchmodat2*/,
                                             SYS_chdir,
                                             SYS_fchdir,
                                             SYS_umask,
                                             SYS_kill,
                                             SYS_tgkill,
                                             SYS_process_vm_writev,
                                             SYS_pidfd_open,
                                             SYS_kcmp,
                                             SYS_shmget,
                                             SYS_semop,
                                             SYS_msgrcv,
                                             SYS_uname,
                                             SYS_unshare,
                                             SYS_mq_open,
                                             SYS_mq_unlink,
                                             SYS_getsockname,
                                             SYS_getpeername})
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kNotify) << nr;
  // The tracer's: execs, and calls on the guest's own descriptors (handed over first).
  for (long nr : std::initializer_list<long>{SYS_execve, SYS_execveat, SYS_connect, SYS_bind,
                                             SYS_sendmmsg, SYS_inotify_add_watch})
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kTrace) << nr;
  // Unknown numbers: the supervisor names and refuses them.
  EXPECT_EQ(PolicyFor(999).verdict, Verdict::kNotify);
}

TEST(SeccompPolicyTest, UnsafeSyscallsAreRefused) {
  for (long nr :
       std::initializer_list<long>{SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
                                   SYS_mount, SYS_ptrace, SYS_keyctl, SYS_add_key, SYS_request_key,
                                   SYS_clone3, SYS_bpf, SYS_perf_event_open, SYS_setns, 463L}) {
    EXPECT_EQ(PolicyFor(nr).verdict, Verdict::kErrno) << nr;
    EXPECT_NE(PolicyFor(nr).err, 0) << nr;
  }
}

TEST(SeccompPolicyTest, ComputeRunsFreeAndSomeCallsDependOnArguments) {
  for (long nr : std::initializer_list<long>{SYS_read, SYS_write, SYS_mmap, SYS_futex, SYS_recvmsg,
                                             SYS_pidfd_send_signal})
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

namespace ocibuild::sandbox {
namespace {

uint32_t Verdict(const std::vector<sock_filter>& prog, long nr, std::vector<uint64_t> args = {},
                 uint32_t arch = AUDIT_ARCH_X86_64) {
  seccomp_data d = {};
  d.nr = static_cast<int>(nr);
  d.arch = arch;
  for (size_t i = 0; i < args.size(); ++i) d.args[i] = args[i];
  std::optional<uint32_t> v = RunFilter(prog, d);
  if (!v) {
    ADD_FAILURE() << "an instruction RunFilter does not know, or no return";
    return 0;
  }
  return *v & SECCOMP_RET_ACTION_FULL;
}

TEST(SeccompFilterTest, ArgumentRulesAsCompiled) {
  FilterOptions o;
  o.network = false;
  o.channel_fd = 65535;
  auto built = BuildFilter(o);
  ASSERT_TRUE(built.ok()) << built.error().message;
  const auto& p = *built;
  constexpr uint32_t kAllow = SECCOMP_RET_ALLOW, kNotify = SECCOMP_RET_USER_NOTIF,
                     kTrace = SECCOMP_RET_TRACE, kErrno = SECCOMP_RET_ERRNO;
  EXPECT_EQ(Verdict(p, SYS_read, {3}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_openat, {3}), kNotify);
  EXPECT_EQ(Verdict(p, SYS_execve), kTrace);
  EXPECT_EQ(Verdict(p, SYS_mount), kErrno);
  EXPECT_EQ(Verdict(p, 999), kNotify);
  // Foreign calls never reach the rules: i386 and x32 are refused.
  EXPECT_EQ(Verdict(p, SYS_read, {}, AUDIT_ARCH_I386), kErrno);
  EXPECT_EQ(Verdict(p, SYS_read | 0x40000000), kErrno);
  // clone: threads and forks free, untraced or new namespaces to the supervisor (EPERM).
  EXPECT_EQ(Verdict(p, SYS_clone, {CLONE_VM | CLONE_THREAD | CLONE_SIGHAND}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_clone, {CLONE_UNTRACED | CLONE_VFORK}), kNotify);
  EXPECT_EQ(Verdict(p, SYS_clone, {CLONE_NEWUSER}), kNotify);
  EXPECT_EQ(Verdict(p, SYS_clone3), kErrno);
  EXPECT_EQ(Verdict(p, SYS_seccomp, {1, 0}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_seccomp, {1, SECCOMP_FILTER_FLAG_NEW_LISTENER}), kNotify);
  // The channel: sendmsg on it only; never closed, never close-on-exec.
  EXPECT_EQ(Verdict(p, SYS_sendmsg, {65535}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_sendmsg, {3}), kTrace);
  EXPECT_EQ(Verdict(p, SYS_close, {65535}), kErrno);
  EXPECT_EQ(Verdict(p, SYS_close, {3}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_close_range, {3, ~0u}), kTrace);
  EXPECT_EQ(Verdict(p, SYS_close_range, {3, 100}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_fcntl, {65535, F_SETFD}), kErrno);
  EXPECT_EQ(Verdict(p, SYS_fcntl, {3, F_SETFD}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_fcntl, {3, F_SETOWN}), kNotify);
  EXPECT_EQ(Verdict(p, SYS_fcntl, {3, F_SETOWN_EX}), kTrace);
  EXPECT_EQ(Verdict(p, SYS_ioctl, {65535, FIOCLEX}), kErrno);
  EXPECT_EQ(Verdict(p, SYS_ioctl, {3, FIOCLEX}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_ioctl, {3, FIOSETOWN}), kTrace);
  EXPECT_EQ(Verdict(p, SYS_sendto, {3, 0, 1, 0, 0}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_sendto, {3, 0, 1, 0, 0x7fff00001000}), kTrace);
  EXPECT_EQ(Verdict(p, SYS_socket, {AF_UNIX}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_socket, {AF_INET}), kNotify);
  // No network: no routing netlink (the host's interfaces), other netlink families as before.
  EXPECT_EQ(Verdict(p, SYS_socket, {AF_NETLINK, SOCK_RAW, NETLINK_ROUTE}), kErrno);
  EXPECT_EQ(Verdict(p, SYS_socket, {AF_NETLINK, SOCK_RAW, NETLINK_KOBJECT_UEVENT}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_kill, {1, 9}), kNotify);
  EXPECT_EQ(Verdict(p, SYS_prlimit64, {0}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_prlimit64, {1}), kNotify);
  EXPECT_EQ(Verdict(p, SYS_setpriority, {PRIO_PROCESS, 0, 5}), kAllow);
  EXPECT_EQ(Verdict(p, SYS_setpriority, {PRIO_USER, 0, 5}), kNotify);
  EXPECT_EQ(Verdict(p, SYS_keyctl), kErrno);
  EXPECT_EQ(Verdict(p, SYS_io_uring_setup), kErrno);
}

}  // namespace
}  // namespace ocibuild::sandbox
