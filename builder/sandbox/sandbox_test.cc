// End-to-end tests of the ptrace sandbox with a busybox rootfs: runs as whoever runs the binary
// (root, the UNPRIV user, uid 1000 in a container).
#include "builder/sandbox/sandbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include <chrono>
#include <thread>

#include "builder/sandbox/sandbox_testing.h"
#include "oci/metastore.h"
#include "util/fs.h"
#include "util/sys/seccomp.h"

namespace ocibuild::sandbox {
namespace {

using ::testing::HasSubstr;
using testing::Sh;

class BusyboxSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tmp = TempDir::Create("ocibuild-sbx-");
    ASSERT_TRUE(tmp.ok()) << tmp.error().message;
    tmp_ = std::move(*tmp);
    root_ = tmp_.path() + "/rootfs";
    Status st = testing::MakeBusyboxRootfs(root_);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  testing::Captured MustSh(const std::string& script, uint32_t uid = 0, uint32_t gid = 0) {
    auto c = Sh(root_, script, uid, gid);
    EXPECT_TRUE(c.ok()) << c.error().message;
    if (!c.ok()) return {};
    return *c;
  }

  oci::MetaStore Store() {
    auto s = oci::MetaStore::Load(oci::MetaStore::PathFor(root_));
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : oci::MetaStore{};
  }

  struct stat HostStat(const std::string& guest) {
    struct stat st {};
    EXPECT_EQ(::lstat((root_ + guest).c_str(), &st), 0) << guest;
    return st;
  }

  TempDir tmp_ = std::move(*TempDir::Create("ocibuild-sbx-unused-"));
  std::string root_;
};

TEST_F(BusyboxSandbox, ExitStatusIsTheCommands) {
  EXPECT_EQ(MustSh("exit 0").exit_code, 0);
  EXPECT_EQ(MustSh("exit 7").exit_code, 7);
  EXPECT_EQ(MustSh("false").exit_code, 1);
}

TEST_F(BusyboxSandbox, KilledBySignalReports128PlusSignal) {
  auto c = MustSh("kill -9 $$");
  EXPECT_EQ(c.exit_code, 137);
  EXPECT_EQ(c.term_signal, 9);
}

// nproc and `make -j$(nproc)` see the CPUs they were given, and an affinity the guest sets
// itself (on itself, or on another of its processes through the supervisor) holds for it and
// its children.
TEST_F(BusyboxSandbox, AffinityIsTheGuestsOwn) {
  cpu_set_t set;
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  int cpus = CPU_COUNT(&set);
  int first = 0;
  while (!CPU_ISSET(first, &set)) ++first;
  std::string pin = std::to_string(first);
  auto c = MustSh("nproc; taskset -c " + pin + " nproc; taskset -c " + pin +
                  " sh -c 'sh -c nproc'; nproc");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  std::string n = std::to_string(cpus);
  EXPECT_EQ(c.out, n + "\n1\n1\n" + n + "\n");
}

// Directories the resolver has seen are remembered (DirCache); renaming one away and putting a
// symlink in its place must not leave the old answer behind.
TEST_F(BusyboxSandbox, ResolutionFollowsRenamedAndReplacedDirectories) {
  auto c = MustSh(
      "mkdir -p /d1/sub /d3/sub && echo one > /d1/sub/f && echo two > /d3/sub/f && "
      "cat /d1/sub/f && mv /d1 /d2 && ln -s /d3 /d1 && cat /d1/sub/f && cat /d2/sub/f && "
      "rm /d1 && mkdir /d1 && { cat /d1/sub/f 2>/dev/null || echo gone; } && "
      "rmdir /d1 && ln -s /d2 /d1 && cat /d1/sub/f && mv /d2/sub /d2/moved && "
      "{ cat /d1/sub/f 2>/dev/null || echo moved; }");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "one\ntwo\none\ngone\none\nmoved\n");
}

// npm ci and dpkg failed with EMFILE under systemd's soft RLIMIT_NOFILE of 1024: the supervisor
// held a descriptor per directory it had seen. A step walking thousands of directories runs
// under a soft limit of 256, and keeps the limit it was given.
TEST_F(BusyboxSandbox, ManyDirectoriesUnderALowOpenFileLimit) {
  struct rlimit old;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  ASSERT_GE(old.rlim_max, 256u);
  struct rlimit low = {256, old.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  auto c = MustSh(
      "mkdir /many && cd /many && set -- && i=0 && "
      "while [ $i -lt 1500 ]; do set -- \"$@\" d$i/e; i=$((i+1)); done && mkdir -p \"$@\" && "
      "find /many -type d | wc -l && ls -d /many/d*/e/. | wc -l && ulimit -n");
  ::setrlimit(RLIMIT_NOFILE, &old);
  EXPECT_EQ(c.exit_code, 0) << c.err;
  // The descriptor channel takes the top number the hard limit allows (backend.cc).
  rlim_t top = std::min<rlim_t>(old.rlim_max, 65536);
  EXPECT_EQ(c.out, "3001\n1500\n" + std::to_string(std::min<rlim_t>(256, top - 1)) + "\n");
}

// Whatever the builder blocks or ignores (it blocks SIGINT/SIGTERM for its Ctrl-C handling), a
// step's processes start with nothing blocked and nothing ignored, as in a container.
TEST_F(BusyboxSandbox, StepsStartWithDefaultSignals) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(::pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  struct sigaction ign = {}, old_pipe;
  ign.sa_handler = SIG_IGN;
  ASSERT_EQ(::sigaction(SIGPIPE, &ign, &old_pipe), 0);
  auto c = MustSh("grep -E 'SigBlk|SigIgn' /proc/self/status; sleep 10 & kill -TERM $! && wait $!");
  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  EXPECT_EQ(c.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
  EXPECT_EQ(c.exit_code, 128 + SIGTERM) << "the background sleep ignored SIGTERM";
}

TEST_F(BusyboxSandbox, RootfsIsSlash) {
  auto c = MustSh("echo hello > /hello.txt && cat /etc/passwd | head -1 && ls /");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_THAT(c.out, HasSubstr("root:x:0:0"));
  EXPECT_THAT(c.out, HasSubstr("etc"));
  auto data = ReadFile(root_ + "/hello.txt");
  ASSERT_TRUE(data.ok());
  EXPECT_EQ(*data, "hello\n");
  EXPECT_FALSE(PathExists("/hello.txt") && ReadFile("/hello.txt").value() == "hello\n");
}

TEST_F(BusyboxSandbox, DotDotStopsAtTheRoot) {
  auto c = MustSh(
      "cd /../../../.. && pwd && cat /../../../etc/passwd | head -1 && "
      "cd /tmp/../../.. && /bin/pwd -P");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "/\nroot:x:0:0:root:/root:/bin/sh\n/\n");
}

TEST_F(BusyboxSandbox, AbsoluteSymlinksResolveInsideTheRoot) {
  auto c = MustSh(
      "ln -s /etc /tmp/etclink && cat /tmp/etclink/group | head -1 && "
      "ln -s ../../../../etc/passwd /tmp/rel && head -1 /tmp/rel && "
      "readlink /tmp/etclink");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "root:x:0:\nroot:x:0:0:root:/root:/bin/sh\n/etc\n");
}

TEST_F(BusyboxSandbox, GetcwdAndProcSelfReportGuestPaths) {
  auto c = MustSh(
      "mkdir -p /work/dir && cd /work/dir && /bin/pwd -P && "
      "readlink /proc/self/cwd && readlink /proc/self/exe && "
      "exec 3</etc/passwd && readlink /proc/self/fd/3");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "/work/dir\n/work/dir\n/bin/busybox\n/etc/passwd\n");
}

TEST_F(BusyboxSandbox, FakeRootIdentity) {
  auto c = MustSh("id -u; id -g; whoami");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "0\n0\nroot\n");
}

TEST_F(BusyboxSandbox, StepUserIsReported) {
  auto c = MustSh("id -u; id -g; touch /tmp/mine; stat -c '%u:%g' /tmp/mine", 1000, 1000);
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "1000\n1000\n1000:1000\n");
}

TEST_F(BusyboxSandbox, ChownIsRecordedNotApplied) {
  auto c = MustSh(
      "touch /f && chown 1000:1000 /f && stat -c '%u:%g' /f && "
      "mkdir -p /home/app/sub && chown -R app:app /home/app && "
      "stat -c '%U:%G' /home/app/sub && ls -ln /f");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_THAT(c.out, HasSubstr("1000:1000\napp:app\n"));
  oci::MetaStore store = Store();
  const oci::FileMeta* m = store.Find(HostStat("/f").st_ino);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->uid, 1000u);
  EXPECT_EQ(m->gid, 1000u);
  const oci::FileMeta* sub = store.Find(HostStat("/home/app/sub").st_ino);
  ASSERT_NE(sub, nullptr);
  EXPECT_EQ(sub->uid, 1000u);
  EXPECT_EQ(HostStat("/f").st_uid, ::getuid());
}

TEST_F(BusyboxSandbox, ChmodBitsTheHostCannotHold) {
  auto c = MustSh(
      "touch /suid /locked && chmod 4755 /suid && chmod 000 /locked && "
      "stat -c '%a' /suid /locked && echo more >> /locked && cat /locked");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "4755\n0\nmore\n");
  oci::MetaStore store = Store();
  const oci::FileMeta* m = store.Find(HostStat("/suid").st_ino);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->mode, static_cast<uint32_t>(S_IFREG | 04755));
  const oci::FileMeta* l = store.Find(HostStat("/locked").st_ino);
  ASSERT_NE(l, nullptr);
  EXPECT_EQ(l->mode, static_cast<uint32_t>(S_IFREG));
}

TEST_F(BusyboxSandbox, MknodDeviceIsAPlaceholderPlusRecord) {
  auto c = MustSh(
      "mknod /tmp/mynull c 1 3 && stat -c '%F %t %T' /tmp/mynull && "
      "mkfifo /tmp/fifo && stat -c '%F' /tmp/fifo");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "character special file 1 3\nfifo\n");
  struct stat st = HostStat("/tmp/mynull");
  EXPECT_TRUE(S_ISREG(st.st_mode));
  oci::MetaStore store = Store();
  const oci::FileMeta* m = store.Find(st.st_ino);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->mode & S_IFMT, static_cast<uint32_t>(S_IFCHR));
  EXPECT_EQ(m->rdev, makedev(1, 3));
}

// Calls on the guest's own descriptors (directory listings once the store holds a device node,
// socket addresses) are handed over to the supervisor over one channel: many processes doing
// so at once must each get their own answer (a stress test: the interleaving that once lost a
// hand-over, seen in dpkg's parallel py_compile, depends on scheduling).
TEST_F(BusyboxSandbox, ConcurrentHandOversFromManyProcesses) {
  auto dev = MustSh("mknod /tmp/null c 1 3");
  ASSERT_EQ(dev.exit_code, 0) << dev.err;
  auto c = MustSh(
      "for i in $(seq 1 12); do "
      "(for j in $(seq 1 15); do ls /bin /tmp >/dev/null || echo FAIL $i; done) & "
      "done; wait; ls -la /tmp/null | cut -c1");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "c\n") << c.err;
}

// Calls from many processes at once are not all answered by one thread in turn: a backlog lets
// more receivers in (one per CPU at most), and every answer still goes to its own caller (each
// process checks that all its readlinks give what its first one gave).
TEST_F(BusyboxSandbox, ABacklogOfCallsIsAnsweredOnSeveralThreads) {
  if (std::thread::hardware_concurrency() < 2) GTEST_SKIP() << "one CPU: nothing to spread";
  ASSERT_EQ(::symlink("/bin/busybox", (root_ + "/tmp/link").c_str()), 0);
  auto c = testing::Run(root_, {"/probe", "readlink-storm", "4", "20000", "/tmp/link"});
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->exit_code, 0) << c->err;
  EXPECT_EQ(c->out, "ok\n") << c->err;
  EXPECT_GE(c->peak_handling, 2);
}

// One worker at a time receives the step's calls and answers them itself: a call that waits for
// another process's call (opening a FIFO waits for the other end's open) must let another worker
// receive, or the step hangs. Both orders: the reader first, then the writer first.
TEST_F(BusyboxSandbox, FifoOpenWaitingForTheOtherEndDoesNotStallTheStep) {
  auto start = std::chrono::steady_clock::now();
  auto c = MustSh(
      "mkfifo /tmp/f && for i in 1 2 3; do (echo $i >/tmp/f &); cat /tmp/f; done && "
      "for i in 4 5 6; do (sleep 0.1; cat /tmp/f) & echo $i >/tmp/f; wait; done");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "1\n2\n3\n4\n5\n6\n") << c.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

// A traced call's answer comes back to the tracer from a worker thread. One that came just
// before the tracer went to sleep waiting for tracees was lost, and the task that made the call
// stayed stopped for good whenever no other task had anything to report (tar under dpkg-deb,
// stopped in the hand-over's sendmsg). Pairs of processes make their calls at the same moment
// and then wait only for each other: a lost answer stalls the pair (the probe gives up after
// 10 s and says so). Without the fix this stalled within a second, every run.
TEST_F(BusyboxSandbox, AnswersToTracedCallsAreNeverLost) {
  auto start = std::chrono::steady_clock::now();
  auto c = MustSh("/probe handover-lockstep 5 2");
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_THAT(c.out, ::testing::EndsWith("ok\n")) << c.err;
  EXPECT_THAT(c.out, ::testing::Not(HasSubstr("stalled"))) << c.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

// A child can be reported before its parent's fork event, and waits for that event to learn
// whose identity it inherits. A parent killed right after forking never reports it: the child
// stayed stopped for good, and whoever read the pipe it held waited forever. Now it takes
// after its dying parent, or (re-parented before the tracer saw it) dies with it; either way
// it never stays stopped. Without the fix a child stayed stopped within ~40 rounds.
TEST_F(BusyboxSandbox, ChildOfAParentKilledWhileForkingNeverStaysStopped) {
  auto start = std::chrono::steady_clock::now();
  auto c = MustSh("/probe killed-while-forking 400");
  EXPECT_EQ(c.exit_code, 0) << c.out << c.err;
  EXPECT_EQ(c.out, "ok\n") << c.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST_F(BusyboxSandbox, UnlinkDropsTheStoreEntry) {
  auto c = MustSh(
      "touch /gone && chown 5:5 /gone && ln /gone /gone2 && rm /gone && "
      "stat -c %u /gone2 && rm /gone2");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "5\n");
  EXPECT_EQ(Store().size(), 0u);
}

TEST_F(BusyboxSandbox, RenameKeepsOwnership) {
  auto c = MustSh("touch /a && chown 7:8 /a && mv /a /b && stat -c '%u:%g' /b");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "7:8\n");
}

TEST_F(BusyboxSandbox, SuSwitchesFakeCredentials) {
  auto c = MustSh("su app -c 'id -u; touch /tmp/byapp' && stat -c '%U' /tmp/byapp");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "1000\napp\n");
}

TEST_F(BusyboxSandbox, ProcAndDevComeFromTheHost) {
  auto c = MustSh(
      "echo x > /dev/null && head -c 4 /dev/zero | wc -c && "
      "test -r /proc/self/status && echo proc-ok");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "4\nproc-ok\n");
}

TEST_F(BusyboxSandbox, HostsAndResolvConfArePrivateCopies) {
  if (!PathExists("/etc/hosts")) GTEST_SKIP() << "host has no /etc/hosts";
  std::string before = ReadFile("/etc/hosts").value();
  auto c = MustSh(
      "cat /etc/hosts | head -1 >/dev/null && echo '10.9.9.9 ocib-test' >> /etc/hosts "
      "&& grep -c ocib-test /etc/hosts && touch /dev/shm/ocib-x && ls /dev/shm/");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "1\nocib-x\n");
  EXPECT_EQ(ReadFile("/etc/hosts").value(), before);
  EXPECT_FALSE(PathExists("/dev/shm/ocib-x"));
}

TEST_F(BusyboxSandbox, NetworkOff) {
  auto off = testing::Run(root_, {"/bin/sh", "-c", "nc 127.0.0.1 1 </dev/null 2>&1; echo rc=$?"}, 0,
                          0, {}, false);
  ASSERT_TRUE(off.ok());
  EXPECT_THAT(off->out, HasSubstr("not supported"));
  auto on = testing::Run(root_, {"/bin/sh", "-c", "nc 127.0.0.1 1 </dev/null 2>&1; echo rc=$?"});
  ASSERT_TRUE(on.ok());
  EXPECT_THAT(on->out, HasSubstr("refused"));
}

TEST_F(BusyboxSandbox, MissingCommandIs127) {
  auto c = testing::Run(root_, {"no-such-command"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->exit_code, 127);
  EXPECT_THAT(c->err, HasSubstr("not found"));
}

TEST_F(BusyboxSandbox, ShebangScripts) {
  auto c = MustSh(
      "printf '#!/bin/sh -e\\necho script:$0:$1\\n' > /usr/bin/s && chmod 755 "
      "/usr/bin/s && s arg && printf '#!/usr/bin/s\\n' > /tmp/nested && "
      "chmod +x /tmp/nested && /tmp/nested x");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "script:/usr/bin/s:arg\nscript:/usr/bin/s:/tmp/nested\n");
}

TEST_F(BusyboxSandbox, ManyProcesses) {
  auto c = MustSh(
      "i=0; while [ $i -lt 50 ]; do (echo $i > /tmp/f$i) & i=$((i+1)); done; wait; "
      "cat /tmp/f* | wc -l");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "50\n");
}

TEST_F(BusyboxSandbox, SignalsReachTheGuestsHandlers) {
  auto c = MustSh("trap 'echo got-term; exit 3' TERM; kill -TERM $$; sleep 5; echo not-reached");
  EXPECT_EQ(c.exit_code, 3) << c.err;
  EXPECT_EQ(c.out, "got-term\n");
}

TEST_F(BusyboxSandbox, StoppedAndContinuedChildren) {
  auto c = MustSh("sleep 0.3 & p=$!; kill -STOP $p; kill -CONT $p; wait $p; echo rc=$?");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "rc=0\n");
}

TEST_F(BusyboxSandbox, CallsInterruptedBeforeAWorkerTookThemAreRestarted) {
  // A signal can come while a notified call waits for a worker to take it; the kernel then ends
  // it with ERESTARTSYS, which a handler without SA_RESTART turns into EINTR. kill, open and
  // stat never fail so on a kernel of their own (ash's SIGCHLD handler made `kill -CONT` fail
  // after `kill -STOP`, and the stopped child was never continued).
  if (!sys::SeccompFlagSupported(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV))
    GTEST_SKIP() << "kernel before 5.19: such calls still end in EINTR (see the sandbox README)";
  auto c = MustSh("/probe signal-storm 4000");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "eintr 0 other 0 alarms many\n");
  EXPECT_GT(c.restarted_calls, 0u) << "no signal came before a worker took a call: nothing tested";
}

TEST_F(BusyboxSandbox, CallsThatReallyWaitStillEndInEintr) {
  auto c = MustSh("/probe interrupted-waits");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "read EINTR\nmsgrcv EINTR\n");
}

TEST_F(BusyboxSandbox, ThreadsAndExecFromANonLeaderThread) {
  auto c = MustSh("/probe threads");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "threads ok 8000\nok /probe\n");
}

TEST_F(BusyboxSandbox, NonDumpableProcessesStillWork) {
  // sudo makes itself non-dumpable; an unprivileged tracer could then no longer read its memory.
  auto c = MustSh("cd /etc && /probe nondumpable");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "ok 0 root:x:0:0\n");
}

TEST_F(BusyboxSandbox, LeftoverBackgroundProcessesDieWithTheStep) {
  auto start = std::chrono::steady_clock::now();
  auto c = MustSh("(sleep 30 &) ; echo started");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
}

TEST_F(BusyboxSandbox, PtraceBlockedIsReportedClearly) {
  // Simulate a container profile without ptrace: a child installs a filter denying it, then
  // tries to run a step.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ptrace), 0);
    if (seccomp_load(ctx) != 0) ::_exit(3);
    auto c = Sh(root_, "true");
    if (c.ok()) ::_exit(4);
    bool clear = c.error().message.find("ptrace is blocked") != std::string::npos;
    ::_exit(clear ? 0 : 5);
  }
  int st = 0;
  ASSERT_EQ(::waitpid(pid, &st, 0), pid);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0);
}

}  // namespace
}  // namespace ocibuild::sandbox
