#include "builder/sandbox/seccomp_policy.h"

#include <fcntl.h>
#include <linux/audit.h>
#include <linux/fs.h>
#include <linux/netlink.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <memory>

#include "util/fd.h"

namespace ocibuild::sandbox {
namespace {

// Syscalls newer than this machine's kernel headers, by name.
constexpr long kNrCachestat = 451;
constexpr long kNrFchmodat2 = 452;
constexpr long kNrMapShadowStack = 453;
constexpr long kNrFutexWake = 454;
constexpr long kNrFutexWait = 455;
constexpr long kNrFutexRequeue = 456;
constexpr long kNrStatmount = 457;
constexpr long kNrListmount = 458;
constexpr long kNrLsmGetSelfAttr = 459;
constexpr long kNrLsmSetSelfAttr = 460;
constexpr long kNrLsmListModules = 461;
constexpr long kNrMseal = 462;
constexpr long kNrSetxattrat = 463;
constexpr long kNrGetxattrat = 464;
constexpr long kNrListxattrat = 465;
constexpr long kNrRemovexattrat = 466;
constexpr long kNrOpenTreeAttr = 467;

// Highest syscall number we classify; anything above is notified (and refused).
constexpr long kMaxKnownNr = 470;

// Touch no path, no identity, no other process: they run at full speed. fds are the guest's own
// (every descriptor it holds came from the supervisor or its own pipes and sockets).
constexpr long kAllow[] = {
    SYS_read, SYS_write, SYS_poll, SYS_lseek, SYS_mmap, SYS_mprotect, SYS_munmap, SYS_brk,
    SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_pread64, SYS_pwrite64, SYS_readv,
    SYS_writev, SYS_pipe, SYS_select, SYS_sched_yield, SYS_mremap, SYS_msync, SYS_mincore,
    SYS_madvise, SYS_dup, SYS_dup2, SYS_pause, SYS_nanosleep, SYS_getitimer, SYS_alarm,
    SYS_setitimer, SYS_getpid, SYS_sendfile, SYS_accept, SYS_shutdown, SYS_listen, SYS_socketpair,
    SYS_setsockopt, SYS_getsockopt, SYS_fork, SYS_vfork, SYS_exit, SYS_wait4, SYS_shmdt, SYS_flock,
    SYS_ftruncate, SYS_gettimeofday, SYS_getrlimit, SYS_getrusage, SYS_sysinfo, SYS_times,
    SYS_setpgid, SYS_getppid, SYS_getpgrp, SYS_setsid, SYS_rt_sigpending, SYS_rt_sigtimedwait,
    SYS_rt_sigsuspend, SYS_sigaltstack, SYS_personality, SYS_fstatfs, SYS_sched_get_priority_max,
    SYS_sched_get_priority_min, SYS_mlock, SYS_munlock, SYS_mlockall, SYS_munlockall,
    SYS_modify_ldt, SYS_arch_prctl, SYS_setrlimit, SYS_gettid, SYS_readahead, SYS_time, SYS_futex,
    SYS_set_thread_area, SYS_io_setup, SYS_io_destroy, SYS_io_getevents, SYS_io_submit,
    SYS_io_cancel, SYS_get_thread_area, SYS_epoll_create, SYS_remap_file_pages, SYS_set_tid_address,
    SYS_restart_syscall, SYS_fadvise64, SYS_timer_create, SYS_timer_settime, SYS_timer_gettime,
    SYS_timer_getoverrun, SYS_timer_delete, SYS_clock_gettime, SYS_clock_getres,
    SYS_clock_nanosleep, SYS_exit_group, SYS_epoll_wait, SYS_epoll_ctl, SYS_mbind,
    SYS_set_mempolicy, SYS_get_mempolicy, SYS_waitid, SYS_inotify_init, SYS_inotify_rm_watch,
    SYS_pselect6, SYS_ppoll, SYS_set_robust_list, SYS_splice, SYS_tee, SYS_vmsplice,
    SYS_epoll_pwait, SYS_signalfd, SYS_timerfd_create, SYS_eventfd, SYS_fallocate,
    SYS_timerfd_settime, SYS_timerfd_gettime, SYS_accept4, SYS_signalfd4, SYS_eventfd2,
    SYS_epoll_create1, SYS_dup3, SYS_pipe2, SYS_inotify_init1, SYS_preadv, SYS_pwritev,
    SYS_recvmmsg, SYS_recvmsg, SYS_recvfrom, SYS_getcpu,
    // On the step's own queue descriptors (mq_open and mq_unlink go to the supervisor).
    SYS_mq_timedsend, SYS_mq_timedreceive, SYS_mq_notify, SYS_mq_getsetattr, SYS_getrandom,
    SYS_memfd_create, SYS_membarrier, SYS_mlock2, SYS_copy_file_range, SYS_preadv2, SYS_pwritev2,
    SYS_pkey_mprotect, SYS_pkey_alloc, SYS_pkey_free, SYS_io_pgetevents, SYS_rseq,
    // pidfds name only processes the guest got a pidfd for: its children (CLONE_PIDFD) and
    // those pidfd_open() let it have (the step's own).
    SYS_pidfd_send_signal, SYS_pidfd_getfd, SYS_process_madvise, SYS_process_mrelease,
    SYS_epoll_pwait2, SYS_memfd_secret, SYS_futex_waitv, SYS_set_mempolicy_home_node, kNrCachestat,
    kNrMapShadowStack, kNrFutexWake, kNrFutexWait, kNrFutexRequeue, kNrMseal};

// Durability is the snapshot's job: fsync & co. succeed without I/O.
constexpr long kNoop[] = {SYS_fsync, SYS_fdatasync, SYS_sync, SYS_sync_file_range, SYS_syncfs};

// Things a build step has no business doing, or that would reach beyond the step. EPERM where a
// container's unprivileged root sees EPERM, ENOSYS where callers have a fallback.
struct Refusal {
  long nr;
  int err;
};
constexpr Refusal kRefuse[] = {
    {SYS_ptrace, EPERM},  // we are the tracer; and another process's memory is off limits
    {SYS_syslog, EPERM},
    {SYS_uselib, ENOSYS},
    {SYS_ustat, ENOSYS},
    {SYS_sysfs, ENOSYS},
    {SYS_vhangup, EPERM},
    {SYS_pivot_root, EPERM},
    {SYS__sysctl, ENOSYS},
    {SYS_adjtimex, EPERM},
    {SYS_acct, EPERM},
    {SYS_settimeofday, EPERM},
    {SYS_mount, EPERM},
    {SYS_umount2, EPERM},
    {SYS_swapon, EPERM},
    {SYS_swapoff, EPERM},
    {SYS_reboot, EPERM},
    {SYS_sethostname, EPERM},
    {SYS_setdomainname, EPERM},
    {SYS_iopl, EPERM},
    {SYS_ioperm, EPERM},
    {SYS_create_module, ENOSYS},
    {SYS_init_module, EPERM},
    {SYS_delete_module, EPERM},
    {SYS_get_kernel_syms, ENOSYS},
    {SYS_query_module, ENOSYS},
    {SYS_quotactl, EPERM},
    {SYS_nfsservctl, ENOSYS},
    {SYS_getpmsg, ENOSYS},
    {SYS_putpmsg, ENOSYS},
    {SYS_afs_syscall, ENOSYS},
    {SYS_tuxcall, ENOSYS},
    {SYS_security, ENOSYS},
    {SYS_lookup_dcookie, ENOSYS},
    {SYS_epoll_ctl_old, ENOSYS},
    {SYS_epoll_wait_old, ENOSYS},
    {SYS_clock_settime, EPERM},
    {SYS_vserver, ENOSYS},
    {SYS_kexec_load, EPERM},
    {SYS_perf_event_open, ENOSYS},
    {SYS_fanotify_init, EPERM},
    {SYS_fanotify_mark, EPERM},
    {SYS_name_to_handle_at, EOPNOTSUPP},  // handles would bypass the walk
    {SYS_open_by_handle_at, EPERM},
    {SYS_clock_adjtime, EPERM},
    {SYS_setns, EPERM},
    {SYS_finit_module, EPERM},
    {SYS_kexec_file_load, EPERM},
    {SYS_bpf, EPERM},
    {SYS_userfaultfd, ENOSYS},
    // The kernel keyring is per user, not per container: the runner's keys live there.
    {SYS_add_key, EPERM},
    {SYS_request_key, EPERM},
    {SYS_keyctl, EPERM},
    // clone3 passes its flags in memory, out of the filter's sight; glibc falls back to clone.
    {SYS_clone3, ENOSYS},
    // io_uring does file I/O without a syscall per operation: it would escape the supervisor.
    {SYS_io_uring_setup, ENOSYS},
    {SYS_io_uring_enter, ENOSYS},
    {SYS_io_uring_register, ENOSYS},
    // The new mount API and mount-namespace introspection.
    {SYS_open_tree, ENOSYS},
    {SYS_move_mount, ENOSYS},
    {SYS_fsopen, ENOSYS},
    {SYS_fsconfig, ENOSYS},
    {SYS_fsmount, ENOSYS},
    {SYS_fspick, ENOSYS},
    {SYS_mount_setattr, ENOSYS},
    {SYS_quotactl_fd, EPERM},
    {SYS_landlock_create_ruleset, ENOSYS},
    {SYS_landlock_add_rule, ENOSYS},
    {SYS_landlock_restrict_self, ENOSYS},
    {kNrStatmount, ENOSYS},
    {kNrListmount, ENOSYS},
    {kNrLsmGetSelfAttr, ENOSYS},
    {kNrLsmSetSelfAttr, ENOSYS},
    {kNrLsmListModules, ENOSYS},
    // *xattrat (6.13): glibc falls back to the classic calls, which the supervisor performs.
    {kNrSetxattrat, ENOSYS},
    {kNrGetxattrat, ENOSYS},
    {kNrListxattrat, ENOSYS},
    {kNrRemovexattrat, ENOSYS},
    {kNrOpenTreeAttr, ENOSYS}};

// Run by the tracer (see tracer.h): execs (the kernel must read a filename from the guest), and
// calls that act on a descriptor of the guest's own (its sockets, its inotify instance), which
// the tracer has the step hand over before a worker performs the call.
constexpr long kTrace[] = {SYS_execve, SYS_execveat, SYS_connect,
                           SYS_bind,   SYS_sendmmsg, SYS_inotify_add_watch};

// Allowed for some argument values, notified for the rest (the supervisor checks them).
constexpr long kSome[] = {SYS_close,
                          SYS_close_range,
                          SYS_sendmsg,
                          SYS_clone,
                          SYS_seccomp,
                          SYS_sendto,
                          SYS_socket,
                          SYS_fcntl,
                          SYS_ioctl,
                          SYS_prlimit64,
                          SYS_getpriority,
                          SYS_setpriority,
                          SYS_ioprio_get,
                          SYS_ioprio_set,
                          SYS_getpgid,
                          SYS_getsid,
                          SYS_sched_setparam,
                          SYS_sched_getparam,
                          SYS_sched_setscheduler,
                          SYS_sched_getscheduler,
                          SYS_sched_rr_get_interval,
                          SYS_sched_setattr,
                          SYS_sched_getattr,
                          SYS_sched_setaffinity,
                          SYS_sched_getaffinity,
                          SYS_migrate_pages,
                          SYS_move_pages,
                          SYS_get_robust_list,
                          SYS_getdents,
                          SYS_getdents64};

// ioctl requests that change a file's attribute flags (IsFileAttrIoctl).
constexpr uint32_t kFileAttrIoctls[] = {FS_IOC_SETFLAGS, FS_IOC32_SETFLAGS, FS_IOC_FSSETXATTR,
                                        FS_IOC_SETVERSION, FS_IOC32_SETVERSION};

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(static_cast<scmp_filter_ctx>(ctx)); }
};

}  // namespace

bool IsFileAttrIoctl(uint32_t request) {
  for (uint32_t r : kFileAttrIoctls)
    if (r == request) return true;
  return false;
}

SyscallPolicy PolicyFor(long nr) {
  for (long a : kAllow)
    if (a == nr) return {Verdict::kAllow, 0};
  for (long a : kNoop)
    if (a == nr) return {Verdict::kErrno, 0};
  for (const Refusal& r : kRefuse)
    if (r.nr == nr) return {Verdict::kErrno, r.err};
  for (long a : kTrace)
    if (a == nr) return {Verdict::kTrace, 0};
  for (long a : kSome)
    if (a == nr) return {Verdict::kSome, 0};
  return {Verdict::kNotify, 0};
}

namespace {

// The argument rules, as a hand-written BPF prefix in front of libseccomp's per-syscall program:
// libseccomp's rule merging explodes (minutes, then memory) with argument comparisons over
// several arguments of one syscall, and written out here a reviewer reads every decision.
class ArgRules {
 public:
  explicit ArgRules(const FilterOptions& o) : opts_(o) {}

  std::vector<sock_filter> Build() {
    // Only native calls: anything else goes to libseccomp's program (it rejects other arches
    // and x32 numbers).
    Emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)));
    JumpToEndUnless(AUDIT_ARCH_X86_64);
    Emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)));
    std::vector<std::pair<long, void (ArgRules::*)()>> rules = {
        {SYS_clone, &ArgRules::Clone},          {SYS_seccomp, &ArgRules::Seccomp},
        {SYS_sendto, &ArgRules::Sendto},        {SYS_sendmsg, &ArgRules::Sendmsg},
        {SYS_close, &ArgRules::Close},          {SYS_close_range, &ArgRules::CloseRange},
        {SYS_fcntl, &ArgRules::Fcntl},          {SYS_ioctl, &ArgRules::Ioctl},
        {SYS_socket, &ArgRules::Socket},        {SYS_getpriority, &ArgRules::Priority},
        {SYS_setpriority, &ArgRules::Priority}, {SYS_ioprio_get, &ArgRules::Ioprio},
        {SYS_ioprio_set, &ArgRules::Ioprio},
    };
    // Calls on the caller itself (pid 0) run free; another pid is checked by the supervisor.
    for (long nr : {SYS_prlimit64, SYS_getpgid, SYS_getsid, SYS_sched_setparam, SYS_sched_getparam,
                    SYS_sched_setscheduler, SYS_sched_getscheduler, SYS_sched_rr_get_interval,
                    SYS_sched_setattr, SYS_sched_getattr, SYS_sched_setaffinity,
                    SYS_sched_getaffinity, SYS_migrate_pages, SYS_move_pages, SYS_get_robust_list})
      rules.push_back({nr, &ArgRules::PidZero});
    // Dispatch: "jeq nr; ja block" per rule, then on to libseccomp's program.
    std::vector<size_t> to_block;
    for (const auto& r : rules) {
      Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(r.first), 0, 1));
      to_block.push_back(Emit(BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0)));
    }
    JumpToEnd();
    for (size_t i = 0; i < rules.size(); ++i) {
      prog_[to_block[i]].k = static_cast<uint32_t>(prog_.size() - to_block[i] - 1);
      (this->*rules[i].second)();
    }
    for (size_t at : to_end_) prog_[at].k = static_cast<uint32_t>(prog_.size() - at - 1);
    return prog_;
  }

 private:
  static constexpr uint32_t kAllow = SECCOMP_RET_ALLOW;
  static constexpr uint32_t kNotify = SECCOMP_RET_USER_NOTIF;
  static constexpr uint32_t kTrace = SECCOMP_RET_TRACE;
  static constexpr uint32_t Errno(int e) { return SECCOMP_RET_ERRNO | static_cast<uint32_t>(e); }
  static uint32_t Lo(int arg) { return offsetof(seccomp_data, args) + 8 * arg; }
  static uint32_t Hi(int arg) { return Lo(arg) + 4; }

  size_t Emit(sock_filter f) {
    prog_.push_back(f);
    return prog_.size() - 1;
  }
  void Load(uint32_t off) { Emit(BPF_STMT(BPF_LD | BPF_W | BPF_ABS, off)); }
  void Ret(uint32_t action) { Emit(BPF_STMT(BPF_RET | BPF_K, action)); }
  // if (A == k) return yes; (falls through otherwise)
  void RetIfEq(uint32_t k, uint32_t yes) {
    Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 0, 1));
    Ret(yes);
  }
  void JumpToEnd() { to_end_.push_back(Emit(BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0))); }
  void JumpToEndUnless(uint32_t k) {
    Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, k, 1, 0));
    JumpToEnd();
  }
  bool HasChannel() const { return opts_.channel_fd >= 0; }
  uint32_t Channel() const { return static_cast<uint32_t>(opts_.channel_fd); }

  // clone: never untraced, never a new namespace (the supervisor answers EPERM).
  void Clone() {
    constexpr uint32_t kDenied = CLONE_UNTRACED | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                                 CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP;
    Load(Lo(0));
    Emit(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, kDenied, 0, 1));
    Ret(kNotify);
    Ret(kAllow);
  }
  // seccomp(2): the guest may filter itself, but a second listener could answer our calls.
  void Seccomp() {
    Load(Lo(1));
    Emit(BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, SECCOMP_FILTER_FLAG_NEW_LISTENER, 0, 1));
    Ret(kNotify);
    Ret(kAllow);
  }
  // send() is sendto without an address: nothing to translate. With one: the tracer's (the
  // guest's socket is needed).
  void Sendto() {
    Load(Lo(4));
    Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3));
    Load(Hi(4));
    Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
    Ret(kAllow);
    Ret(kTrace);
  }
  // sendmsg: the tracer's, but on the channel (the tracer's own hand-overs): a connected
  // SOCK_SEQPACKET pair whose other end is ours reaches only the supervisor whatever the msghdr
  // says (the kernel ignores msg_name there).
  void Sendmsg() {
    if (HasChannel()) {
      Load(Lo(0));
      RetIfEq(Channel(), kAllow);
    }
    Ret(kTrace);
  }
  // close of the channel is a no-op (close-everything loops before exec).
  void Close() {
    if (HasChannel()) {
      Load(Lo(0));
      RetIfEq(Channel(), Errno(0));
    }
    Ret(kAllow);
  }
  // close_range over the channel (Python's subprocess children) stops short of it: the tracer's.
  void CloseRange() {
    if (HasChannel()) {
      Load(Lo(0));
      Emit(BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, Channel(), 3, 0));  // first > ch
      Load(Lo(1));
      Emit(BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, Channel(), 0, 1));  // last >= ch
      Ret(kTrace);
    }
    Ret(kAllow);
  }
  // fcntl: F_SETOWN's target pid is checked by the supervisor, F_SETOWN_EX's is in memory (the
  // tracer's). On the channel nothing may set close-on-exec (apt marks every descriptor so).
  void Fcntl() {
    Load(Lo(1));
    if (HasChannel()) {
      Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, F_SETFD, 0, 3));
      Load(Lo(0));
      RetIfEq(Channel(), Errno(0));
      Load(Lo(1));
    }
    RetIfEq(F_SETOWN, kNotify);
    RetIfEq(F_SETOWN_EX, kTrace);
    Ret(kAllow);
  }
  // ioctl: FIOSETOWN/SIOCSPGRP name a SIGIO target (the pid in memory: the tracer's); FIOCLEX
  // on the channel is a no-op.
  void Ioctl() {
    Load(Lo(1));
    if (HasChannel()) {
      Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FIOCLEX, 0, 3));
      Load(Lo(0));
      RetIfEq(Channel(), Errno(0));
      Load(Lo(1));
    }
    RetIfEq(FIOSETOWN, kTrace);
    RetIfEq(SIOCSPGRP, kTrace);
    for (uint32_t req : kFileAttrIoctls) RetIfEq(req, kNotify);
    Ret(kAllow);
  }
  // RUN --network=none: local sockets only (the supervisor answers EAFNOSUPPORT).
  void Socket() {
    if (!opts_.network) {
      Load(Lo(0));
      RetIfEq(AF_UNIX, kAllow);
      // Netlink, but not the routing family: without a network the step has no interfaces to
      // list (BuildKit's empty namespace shows only lo; ours would show the host's).
      Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 4));
      Load(Lo(2));
      RetIfEq(NETLINK_ROUTE, Errno(EAFNOSUPPORT));
      Ret(kAllow);
      Ret(kNotify);
      return;
    }
    Ret(kAllow);
  }
  void Priority() {
    Load(Lo(0));
    Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PRIO_PROCESS, 0, 3));
    Load(Lo(1));
    Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
    Ret(kAllow);
    Ret(kNotify);
  }
  void Ioprio() {
    Load(Lo(0));
    Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1 /*IOPRIO_WHO_PROCESS*/, 0, 3));
    Load(Lo(1));
    Emit(BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1));
    Ret(kAllow);
    Ret(kNotify);
  }
  void PidZero() {
    Load(Lo(0));
    RetIfEq(0, kAllow);
    Ret(kNotify);
  }

  const FilterOptions& opts_;
  std::vector<sock_filter> prog_;
  std::vector<size_t> to_end_;
};

}  // namespace

Result<std::vector<sock_filter>> BuildFilter(const FilterOptions& opts) {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_NOTIFY));
  if (!ctx) return Error{"seccomp_init failed", ENOMEM};
  auto* c = static_cast<scmp_filter_ctx>(ctx.get());
  if (int rc = seccomp_attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(ENOSYS)); rc < 0)
    return SysError("seccomp_attr_set(ACT_BADARCH)", "", -rc);
  // A binary tree instead of a linear chain: ~9 comparisons per syscall instead of ~200.
  (void)seccomp_attr_set(c, SCMP_FLTATR_CTL_OPTIMIZE, 2);
  auto add = [&](uint32_t action, long nr) -> Status {
    int rc = seccomp_rule_add_exact(c, action, static_cast<int>(nr), 0);
    if (rc < 0) return SysError("seccomp_rule_add", "syscall " + std::to_string(nr), -rc);
    return Ok();
  };
  for (long nr = 0; nr <= kMaxKnownNr; ++nr) {
    SyscallPolicy p = PolicyFor(nr);
    if (p.verdict == Verdict::kAllow) {
      OCIB_TRY(add(SCMP_ACT_ALLOW, nr));
    } else if (p.verdict == Verdict::kErrno) {
      OCIB_TRY(add(SCMP_ACT_ERRNO(static_cast<uint16_t>(p.err)), nr));
    } else if (p.verdict == Verdict::kTrace) {
      OCIB_TRY(add(SCMP_ACT_TRACE(0), nr));
    }
  }
  // getdents: its d_type is faked only when the store holds device nodes (the tracer's then).
  for (long nr : {SYS_getdents, SYS_getdents64})
    OCIB_TRY(add(opts.getdents ? SCMP_ACT_TRACE(0) : SCMP_ACT_ALLOW, nr));
  int mfd = ::memfd_create("ocibuild-seccomp", MFD_CLOEXEC);
  if (mfd < 0) return SysError("memfd_create", "seccomp filter");
  UniqueFd fd(mfd);
  if (int rc = seccomp_export_bpf(c, fd.get()); rc < 0)
    return SysError("seccomp_export_bpf", "", -rc);
  off_t size = ::lseek(fd.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0)
    return Error{"seccomp_export_bpf produced " + std::to_string(size) + " bytes", EINVAL};
  std::vector<sock_filter> tail(static_cast<size_t>(size) / sizeof(sock_filter));
  if (::pread(fd.get(), tail.data(), static_cast<size_t>(size), 0) != size)
    return SysError("pread", "seccomp filter");
  std::vector<sock_filter> prog = ArgRules(opts).Build();
  prog.insert(prog.end(), tail.begin(), tail.end());
  if (prog.size() > BPF_MAXINSNS)
    return Error{"seccomp filter of " + std::to_string(prog.size()) + " instructions", E2BIG};
  return prog;
}

std::optional<uint32_t> RunFilter(const std::vector<sock_filter>& prog, const seccomp_data& call) {
  uint32_t a = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(&call);
  for (size_t pc = 0; pc < prog.size(); ++pc) {
    const sock_filter& f = prog[pc];
    switch (f.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (f.k > sizeof call - 4) return std::nullopt;
        std::memcpy(&a, bytes + f.k, 4);
        break;
      case BPF_LD | BPF_W | BPF_LEN:
        a = sizeof call;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        a &= f.k;
        break;
      case BPF_JMP | BPF_JA:
        pc += f.k;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += a == f.k ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += a > f.k ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += a >= f.k ? f.jt : f.jf;
        break;
      case BPF_JMP | BPF_JSET | BPF_K:
        pc += (a & f.k) ? f.jt : f.jf;
        break;
      case BPF_RET | BPF_K:
        return f.k;
      default:
        return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace ocibuild::sandbox
