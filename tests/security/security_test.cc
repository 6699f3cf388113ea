// The adversarial suite of the RUN sandbox (issue 16): each TEST builds
//   FROM scratch / COPY busybox + the probe / RUN --network=none ["/probe"]
// with the real ocibuild binary, in a HostWorld full of canaries, victims and listeners, and
// fails with one line per host-side finding. The probes are in probes/, the classes and checks
// in README.md. Runs as root, as an unprivileged user and in a container; most probes are
// expected to fail against the ptrace sandbox that issue 16 replaces.
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/integration/integration_testing.h"
#include "tests/security/host_world.h"
#include "tests/security/security_harness.h"
#include "util/fs.h"

namespace ocibuild::security {
namespace {

struct ProbeOptions {
  bool hints = true;  // false: the information-leak probes get nothing and must learn nothing
  bool tty = false;   // ocibuild gets a terminal (and the probe its path)
  int timeout_s = 90;
};

void RunProbe(const std::string& probe, ProbeOptions o = {}) {
  if (testing::Env("OCIBUILD_BINARY").empty()) GTEST_SKIP() << "OCIBUILD_BINARY not set";
  if (testing::Busybox().empty()) GTEST_SKIP() << "no static busybox on this machine";
  std::string err;
  HostWorld::Options wo;
  wo.probe = probe;
  wo.tty = o.tty;
  auto w = HostWorld::Create(wo, &err);
  ASSERT_TRUE(w) << "cannot set up the host side: " << err;
  std::string df = "FROM scratch\nCOPY rootfs/ /\n";
  if (o.hints) df += "ARG OCIB_HINTS\n";
  df += "RUN --network=none [\"/probe\"]\n";
  ASSERT_TRUE(WriteFile(w->ctx + "/Dockerfile", df).ok());
  std::vector<std::string> args = {"--progress=plain"};
  if (o.hints) {
    args.push_back("--build-arg");
    args.push_back("OCIB_HINTS=" + w->Hints());
  }
  args.push_back("-o");
  args.push_back("type=oci,dest=" + w->out + ",compression=uncompressed");
  args.push_back(w->ctx);
  BuildSpec spec = w->Spec(args);
  spec.timeout_s = o.timeout_s;
  w->Before();
  BuildResult r = RunOcibuild(spec);
  std::set<long> hidden = {w->victim1, w->victim2, ::getpid(), r.pid};
  std::vector<std::string> f = ProbeFindings(probe, r, o.hints ? "" : w->t, hidden);
  for (auto& s : w->After(r)) f.push_back(std::move(s));
  if (!w->keyring_note.empty() && probe == "keyring")
    std::cout << "*** keyring: " << w->keyring_note << " ***" << std::endl;
  Report(probe, f, r);
}

}  // namespace

// Class 1: mapped prefixes and magic links.
TEST(MappedPrefixes, proc_dotdot) {
  RunProbe("proc_dotdot");
}
TEST(MappedPrefixes, sys_dotdot) {
  RunProbe("sys_dotdot");
}
TEST(MappedPrefixes, dev_dotdot) {
  RunProbe("dev_dotdot");
}
TEST(MappedPrefixes, proc_self_root) {
  RunProbe("proc_self_root");
}
TEST(MappedPrefixes, proc_self_cwd) {
  RunProbe("proc_self_cwd");
}
TEST(MappedPrefixes, proc_fd_dirfd) {
  RunProbe("proc_fd_dirfd");
}
TEST(MappedPrefixes, proc_pid_root) {
  RunProbe("proc_pid_root");
}
TEST(MappedPrefixes, symlink_mapped) {
  RunProbe("symlink_mapped");
}
TEST(MappedPrefixes, relative_dotdot) {
  RunProbe("relative_dotdot");
}
TEST(MappedPrefixes, hardlink_host) {
  RunProbe("hardlink_host");
}
TEST(MappedPrefixes, unix_path_escape) {
  RunProbe("unix_path_escape");
}
TEST(MappedPrefixes, inotify_fanotify) {
  RunProbe("inotify_fanotify");
}
TEST(MappedPrefixes, exec_host) {
  RunProbe("exec_host");
}
TEST(MappedPrefixes, untranslated_syscalls) {
  RunProbe("untranslated_syscalls");
}

// Other processes' /proc entries.
TEST(ProcOfOthers, proc_environ) {
  RunProbe("proc_environ");
}
TEST(ProcOfOthers, proc_fd_steal) {
  RunProbe("proc_fd_steal");
}
TEST(ProcOfOthers, proc_mem) {
  RunProbe("proc_mem");
}
TEST(ProcOfOthers, proc_write_victim) {
  RunProbe("proc_write_victim");
}

// Information leaks: no hints, and nothing of the host may be learned.
TEST(InfoLeak, leak_proc_list) {
  RunProbe("leak_proc_list", {.hints = false});
}
TEST(InfoLeak, leak_self_info) {
  RunProbe("leak_self_info", {.hints = false});
}

// Class 2: check-then-use races.
TEST(Races, race_swap_open) {
  RunProbe("race_swap_open");
}
TEST(Races, race_swap_stat) {
  RunProbe("race_swap_stat");
}
TEST(Races, race_swap_exec) {
  RunProbe("race_swap_exec");
}
TEST(Races, race_swap_create) {
  RunProbe("race_swap_create");
}
TEST(Races, race_swap_rename) {
  RunProbe("race_swap_rename");
}
// Class 3: arguments rewritten after the check.
TEST(Races, race_path_flip) {
  RunProbe("race_path_flip");
}
TEST(Races, race_below_sp) {
  RunProbe("race_below_sp");
}
TEST(Races, race_sockaddr) {
  RunProbe("race_sockaddr");
}
TEST(Races, race_exec_filename) {
  RunProbe("race_exec_filename");
}
TEST(Races, race_clone3_flags) {
  RunProbe("race_clone3_flags");
}

// Class 4: calls on other processes.
TEST(OtherProcesses, sig_victim) {
  RunProbe("sig_victim");
}
TEST(OtherProcesses, pidfd_victim) {
  RunProbe("pidfd_victim");
}
TEST(OtherProcesses, vm_rw) {
  RunProbe("vm_rw");
}
TEST(OtherProcesses, ptrace_victim) {
  RunProbe("ptrace_victim");
}
TEST(OtherProcesses, prio_victim) {
  RunProbe("prio_victim");
}
TEST(OtherProcesses, prlimit_victim) {
  RunProbe("prlimit_victim");
}
TEST(OtherProcesses, sched_victim) {
  RunProbe("sched_victim");
}
TEST(OtherProcesses, kcmp_perf_misc) {
  RunProbe("kcmp_perf_misc");
}
TEST(OtherProcesses, kill_supervisor) {
  RunProbe("kill_supervisor");
}

// Per-user and per-host kernel state.
TEST(KernelState, keyring) {
  RunProbe("keyring");
}
TEST(KernelState, abstract_unix) {
  RunProbe("abstract_unix");
}
TEST(KernelState, sysv_shm) {
  RunProbe("sysv_shm");
}
TEST(KernelState, sysv_sem) {
  RunProbe("sysv_sem");
}
TEST(KernelState, sysv_msg) {
  RunProbe("sysv_msg");
}
TEST(KernelState, posix_mq) {
  RunProbe("posix_mq");
}
TEST(KernelState, dev_shm) {
  RunProbe("dev_shm");
}

// Class 5: seccomp filters of the step's own.
TEST(Seccomp, seccomp_notif) {
  RunProbe("seccomp_notif");
}
TEST(Seccomp, seccomp_trace_data) {
  RunProbe("seccomp_trace_data");
}

// Class 6: untraced children and survivors.
TEST(Untraced, clone_untraced) {
  RunProbe("clone_untraced");
}
TEST(Untraced, clone_untraced_vfork) {
  RunProbe("clone_untraced_vfork");
}
TEST(Untraced, clone3_flags) {
  RunProbe("clone3_flags");
}
TEST(Survivors, daemon_survive) {
  RunProbe("daemon_survive");
}
TEST(Survivors, fork_hop) {
  RunProbe("fork_hop");
}

// Kernel interfaces that bypass paths, and privileges.
TEST(KernelInterfaces, io_uring) {
  RunProbe("io_uring");
}
TEST(KernelInterfaces, userfaultfd) {
  RunProbe("userfaultfd");
}
TEST(KernelInterfaces, bpf) {
  RunProbe("bpf");
}
TEST(KernelInterfaces, open_by_handle) {
  RunProbe("open_by_handle");
}
TEST(KernelInterfaces, chroot_mount_unshare) {
  RunProbe("chroot_mount_unshare");
}
TEST(KernelInterfaces, compat_syscalls) {
  RunProbe("compat_syscalls");
}
TEST(KernelInterfaces, root_privileged) {
  RunProbe("root_privileged");
}
TEST(KernelInterfaces, sys_write) {
  RunProbe("sys_write");
}
TEST(KernelInterfaces, host_setuid_devnodes) {
  RunProbe("host_setuid_devnodes");
}

// Terminals, inherited descriptors, core dumps.
TEST(HostHandles, tty_steal) {
  RunProbe("tty_steal", {.tty = true});
}
TEST(HostHandles, fd_inherited) {
  RunProbe("fd_inherited");
}
TEST(HostHandles, core_dump) {
  RunProbe("core_dump");
}

// --network=none.
TEST(NetworkNone, net_none_inet) {
  RunProbe("net_none_inet");
}
TEST(NetworkNone, net_none_families) {
  RunProbe("net_none_families");
}

}  // namespace ocibuild::security
