// Per-syscall tests: the static probe (tests/sandbox/probe.c) issues each translated syscall
// directly inside a busybox rootfs; the expected answers are what the same call gives in a real
// container whose root is that rootfs.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "builder/sandbox/sandbox.h"
#include "builder/sandbox/sandbox_testing.h"
#include "util/fs.h"

namespace ocibuild::sandbox {
namespace {

using ::testing::HasSubstr;

class SyscallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tmp = TempDir::Create("ocibuild-sys-");
    ASSERT_TRUE(tmp.ok());
    tmp_ = std::move(*tmp);
    root_ = tmp_.path() + "/rootfs";
    ASSERT_TRUE(testing::MakeBusyboxRootfs(root_).ok());
    ASSERT_TRUE(MakeDirs(root_ + "/data/dir").ok());
    ASSERT_TRUE(WriteFile(root_ + "/data/file", "content\n").ok());
    ASSERT_EQ(::symlink("/data/file", (root_ + "/data/link").c_str()), 0);
    ASSERT_EQ(::symlink("file", (root_ + "/data/rel").c_str()), 0);
    ASSERT_EQ(::symlink("/data", (root_ + "/data/dir/up").c_str()), 0);
    ASSERT_EQ(::symlink("loop2", (root_ + "/loop1").c_str()), 0);
    ASSERT_EQ(::symlink("loop1", (root_ + "/loop2").c_str()), 0);
  }

  std::string Probe(std::vector<std::string> args, uint32_t uid = 0) {
    args.insert(args.begin(), "/probe");
    auto c = testing::Run(root_, args, uid, uid);
    if (!c.ok()) return "run failed: " + c.error().message;
    return c->out + c->err;
  }

  TempDir tmp_ = std::move(*TempDir::Create("ocibuild-sys-unused-"));
  std::string root_;
};

TEST_F(SyscallTest, Open) {
  EXPECT_EQ(Probe({"open", "/data/file"}), "ok content\n");
  EXPECT_EQ(Probe({"open", "/data/link"}), "ok content\n");
  EXPECT_EQ(Probe({"open", "/data/dir/up/rel"}), "ok content\n");
  EXPECT_EQ(Probe({"open", "/../../../data/file"}), "ok content\n");
}

TEST_F(SyscallTest, HostFilesAreNotVisible) {
  ASSERT_TRUE(PathExists("/etc/os-release"));
  EXPECT_EQ(Probe({"open", "/etc/os-release"}), "err ENOENT\n");
  EXPECT_EQ(Probe({"open", "/../../../../etc/os-release"}), "err ENOENT\n");
  // ".." out of a mapped host directory lands in the guest root, not the host's.
  EXPECT_EQ(Probe({"openat", "/proc", "../etc/os-release"}), "err ENOENT\n");
  EXPECT_EQ(Probe({"openat", "/proc", "../data/file"}), "ok content\n");
}

TEST_F(SyscallTest, SymlinkLoop) {
  EXPECT_EQ(Probe({"open", "/loop1"}), "err ELOOP\n");
}

TEST_F(SyscallTest, OpenatWithDirfd) {
  EXPECT_EQ(Probe({"openat", "/data", "file"}), "ok content\n");
  EXPECT_EQ(Probe({"openat", "/data/dir", "../../../../data/rel"}), "ok content\n");
  EXPECT_EQ(Probe({"openat", "/data/dir", "up/link"}), "ok content\n");
  EXPECT_EQ(Probe({"openat-nofollow", "/data", "link"}), "err ELOOP\n");
}

TEST_F(SyscallTest, Openat2) {
  EXPECT_EQ(Probe({"openat2", "/data", "file"}), "ok content\n");
  // RESOLVE_IN_ROOT: the dirfd is "/", so the absolute link /data/file means <dirfd>/data/file.
  EXPECT_EQ(Probe({"openat2", "/data", "link", "inroot"}), "err ENOENT\n");
  EXPECT_EQ(Probe({"openat2", "/data", "rel", "inroot"}), "ok content\n");
  EXPECT_EQ(Probe({"openat2", "/data/dir", "../../../data/file", "inroot"}), "err ENOENT\n");
}

TEST_F(SyscallTest, StatFamilyReportsFakeOwners) {
  EXPECT_EQ(Probe({"stat", "/data/link"}), "ok 0:0 100644\n");
  EXPECT_EQ(Probe({"lstat", "/data/link"}), "ok 0:0 120777\n");
  EXPECT_EQ(Probe({"fstat", "/data/file"}), "ok 0:0 100644\n");
  EXPECT_EQ(Probe({"newfstatat", "/data", "link"}), "ok 0:0 100644\n");
  EXPECT_EQ(Probe({"newfstatat", "/data", "link", "nofollow"}), "ok 0:0 120777\n");
  EXPECT_EQ(Probe({"statx", "/data", "dir"}), "ok 0:0 40755 0,0\n");
  EXPECT_EQ(Probe({"statx", "/data", "nope"}), "err ENOENT\n");
}

// A file the unpacked-tree cache shares has names outside the rootfs (the entry's nodes/<inode>):
// every call of the stat family leaves them out of the link count.
TEST_F(SyscallTest, LinkCountsLeaveOutNamesOutsideTheRootfs) {
  ASSERT_EQ(::link((root_ + "/data/file").c_str(), (root_ + "/data/file2").c_str()), 0);
  ASSERT_EQ(::link((root_ + "/data/file").c_str(), (tmp_.path() + "/node").c_str()), 0);
  // A symlink is linked into the entry like any other non-directory.
  ASSERT_EQ(::link((root_ + "/data/link").c_str(), (tmp_.path() + "/node-link").c_str()), 0);
  struct stat st, lst;
  ASSERT_EQ(::stat((root_ + "/data/file").c_str(), &st), 0);
  ASSERT_EQ(::lstat((root_ + "/data/link").c_str(), &lst), 0);
  std::unordered_set<uint64_t> shared = {st.st_ino, lst.st_ino};
  std::unordered_map<uint64_t, uint32_t> foreign = {{st.st_ino, 1}, {lst.st_ino, 1}};
  RunSpec spec;
  spec.rootfs = root_;
  spec.argv = {"/probe", "nlinks", "/data/file"};
  auto run = [&] {
    auto c = testing::Run(spec);
    return c.ok() ? c->out + c->err : "run failed: " + c.error().message;
  };
  EXPECT_EQ(run(), "ok 3 3 3 3 3\n");  // no names said to be outside
  spec.argv = {"/probe", "lnlinks", "/data/link"};
  EXPECT_EQ(run(), "ok 2 2 2\n");
  spec.shared_inodes = &shared;
  spec.foreign_links = &foreign;
  EXPECT_EQ(run(), "ok 1 1 1\n");
  spec.argv = {"/probe", "nlinks", "/data/file"};
  EXPECT_EQ(run(), "ok 2 2 2 2 2\n");
  spec.argv = {"/probe", "nlinks", "/data/dir"};  // others as they are
  EXPECT_EQ(run(), "ok 2 2 2 2 2\n");
}

// What a watch of the tree cannot see is noted for the executor (builder/tree_watch.h): the
// inode a new name was made for, and that a file-attribute ioctl ran (whether or not the
// filesystem supports it: the kernel performs it after the note).
TEST_F(SyscallTest, TreeNotesNameLinkedInodesAndFileAttributeIoctls) {
  struct stat st;
  ASSERT_EQ(::stat((root_ + "/data/file").c_str(), &st), 0);
  RunSpec spec;
  spec.rootfs = root_;
  spec.tree_notes = tmp_.path() + "/notes";
  auto notes = [&](std::vector<std::string> argv) {
    spec.argv = std::move(argv);
    auto c = testing::Run(spec);
    if (!c.ok()) return "run failed: " + c.error().message;
    auto n = ReadFile(spec.tree_notes);
    return n.ok() ? *n : "no notes: " + n.error().message;
  };
  EXPECT_EQ(notes({"/probe", "open", "/data/file"}), "");
  EXPECT_EQ(notes({"/probe", "linkat", "/data", "file", "/data/file2"}),
            "link " + std::to_string(st.st_ino) + "\n");
  std::string out = notes({"/probe", "setflags", "/data/file"});
  EXPECT_EQ(out.substr(0, out.find('\n') + 1), "fileattr\n");
}

TEST_F(SyscallTest, Access) {
  EXPECT_EQ(Probe({"access", "/data/link"}), "ok 0\n");
  EXPECT_EQ(Probe({"faccessat", "/data", "rel"}), "ok 0\n");
  EXPECT_EQ(Probe({"faccessat2", "/data", "link", "nofollow"}), "ok 0\n");
  EXPECT_EQ(Probe({"access", "/etc/os-release"}), "err ENOENT\n");
}

TEST_F(SyscallTest, CreateRemoveRename) {
  EXPECT_EQ(Probe({"mkdirat", "/data", "new"}), "ok 0\n");
  EXPECT_TRUE(PathExists(root_ + "/data/new"));
  EXPECT_EQ(Probe({"rmdir", "/data/new"}), "ok 0\n");
  EXPECT_FALSE(PathExists(root_ + "/data/new"));
  EXPECT_EQ(Probe({"linkat", "/data", "file", "/data/hard"}), "ok 0\n");
  EXPECT_EQ(Probe({"renameat2", "/data", "hard", "/data/dir/moved"}), "ok 0\n");
  EXPECT_TRUE(PathExists(root_ + "/data/dir/moved"));
  EXPECT_EQ(Probe({"rename-exchange", "/data/dir/moved", "/data/rel"}), "ok 0\n");
  EXPECT_EQ(Probe({"unlinkat", "/data/dir", "moved"}), "ok 0\n");
  EXPECT_EQ(Probe({"creat", "/data/created", "0644"}), "ok 0\n");
  EXPECT_TRUE(PathExists(root_ + "/data/created"));
}

TEST_F(SyscallTest, SymlinkTextIsVerbatim) {
  EXPECT_EQ(Probe({"symlinkat", "/data/file", "/data", "sl"}), "ok 0\n");
  EXPECT_EQ(Probe({"readlinkat", "/data", "sl"}), "ok /data/file\n");
  EXPECT_EQ(Probe({"readlink", "/data/sl"}), "ok /data/file\n");
  EXPECT_EQ(Probe({"open", "/data/sl"}), "ok content\n");
  // Answered by the tracer without the syscall: the kernel's errors and truncation all the same.
  EXPECT_EQ(Probe({"readlink-n", "/data/sl", "4"}), "ok /dat\n");
  EXPECT_EQ(Probe({"readlink-n", "/data/sl", "0"}), "err EINVAL\n");
  EXPECT_EQ(Probe({"readlink", "/data"}), "err EINVAL\n");
  EXPECT_EQ(Probe({"readlink", "/data/file"}), "err EINVAL\n");
  EXPECT_EQ(Probe({"readlink", "/data/missing"}), "err ENOENT\n");
  EXPECT_EQ(Probe({"readlink", "/data/file/x"}), "err ENOTDIR\n");
  EXPECT_EQ(Probe({"readlink", "/dev/fd"}), "ok /proc/self/fd\n");
}

TEST_F(SyscallTest, ChmodChown) {
  EXPECT_EQ(Probe({"fchmodat", "/data", "file", "4755"}), "ok 0\n");
  EXPECT_EQ(Probe({"stat", "/data/file"}), "ok 0:0 104755\n");
  // Docker's default seccomp profile predates fchmodat2 (6.6) and answers ENOSYS before we see it.
  bool have_fchmodat2 = !(::syscall(452, AT_FDCWD, "/nonexistent-x", 0, 0) < 0 && errno == ENOSYS);
  EXPECT_EQ(Probe({"fchmodat2-nofollow", "/data", "link", "700"}),
            have_fchmodat2 ? "err EOPNOTSUPP\n" : "err ENOSYS\n");
  EXPECT_EQ(Probe({"fchownat", "/data", "link", "33"}), "ok 0\n");
  EXPECT_EQ(Probe({"lstat", "/data/link"}), "ok 33:33 120777\n");
  EXPECT_EQ(Probe({"stat", "/data/link"}), "ok 0:0 104755\n");
  EXPECT_EQ(Probe({"fchown", "/data/file", "44"}), "ok 0\n");
  // chown drops set-user-ID.
  EXPECT_EQ(Probe({"stat", "/data/file"}), "ok 44:44 100755\n");
  // Not owner, not root: EPERM like the kernel.
  EXPECT_EQ(Probe({"fchmodat", "/data", "file", "777"}, 1000), "err EPERM\n");
}

TEST_F(SyscallTest, MknodBlockDevice) {
  EXPECT_EQ(Probe({"mknodat", "/data", "sda1"}), "ok 0\n");
  EXPECT_EQ(Probe({"statx", "/data", "sda1"}), "ok 0:0 60640 8,1\n");
  // Not root: EACCES where the directory is not writable (checked first, as the kernel does),
  // else EPERM for want of CAP_MKNOD.
  EXPECT_EQ(Probe({"mknodat", "/data", "sda2"}, 1000), "err EACCES\n");
  EXPECT_EQ(Probe({"mknodat", "/tmp", "sda2"}, 1000), "err EPERM\n");
}

TEST_F(SyscallTest, GetdentsReportsFakedDeviceTypes) {
  ASSERT_EQ(Probe({"mknodat", "/data", "sda1"}), "ok 0\n");
  std::string out = Probe({"dtypes", "/data"});
  // DT_BLK (6) for the placeholder file; DT_REG (8), DT_DIR (4), DT_LNK (10) untouched.
  EXPECT_THAT(out, HasSubstr("getdents64:"));
  for (const char* line : {"getdents64:", "getdents:"}) {
    size_t at = out.find(line);
    ASSERT_NE(at, std::string::npos) << out;
    std::string l = out.substr(at, out.find('\n', at) - at);
    EXPECT_THAT(l, HasSubstr(" sda1=6")) << l;
    EXPECT_THAT(l, HasSubstr(" file=8")) << l;
    EXPECT_THAT(l, HasSubstr(" dir=4")) << l;
    EXPECT_THAT(l, HasSubstr(" link=10")) << l;
  }
}

TEST_F(SyscallTest, UnixSocketAddressesAreGuestPaths) {
  // Datagram sockets bound at /tmp/srv and /tmp/cli. The supervisor binds a name relative to its
  // descriptor of the socket's directory, so the kernel keeps only the last component: that is
  // what sender addresses show (recvmsg, recvfrom run unsupervised), never a host path; the
  // length goes with it (2 + strlen + 1). getsockname and getpeername of sockets the step bound
  // or connected by name are the supervisor's, with the names the guest gave.
  EXPECT_EQ(Probe({"unix-names", "/tmp"}),
            "ok recvmsg=cli(6) recvfrom=cli(6) getsockname=/tmp/srv getpeername=/tmp/st\n");
  struct stat st;
  EXPECT_EQ(::lstat((root_ + "/tmp/srv").c_str(), &st), 0);
}

TEST_F(SyscallTest, TimesAndTruncate) {
  EXPECT_EQ(Probe({"utimensat", "/data", "link"}), "ok 0\n");
  EXPECT_EQ(Probe({"truncate", "/data/link"}), "ok 0\n");
  EXPECT_EQ(ReadFile(root_ + "/data/file").value(), "con");
}

TEST_F(SyscallTest, Getcwd) {
  EXPECT_EQ(Probe({"chdir-getcwd", "/data/dir/up/dir"}), "ok /data/dir\n");
  EXPECT_EQ(Probe({"getcwd-small", "/data/dir"}), "err ERANGE\n");
}

TEST_F(SyscallTest, PrivilegedXattrsLiveInTheStore) {
  EXPECT_EQ(Probe({"setxattr", "/data/link", "security.capability", "capdata"}), "ok 0\n");
  EXPECT_EQ(Probe({"getxattr", "/data/file", "security.capability"}), "ok capdata\n");
  EXPECT_THAT(Probe({"listxattr", "/data/file"}), HasSubstr("security.capability"));
  EXPECT_EQ(Probe({"removexattr", "/data/file", "security.capability"}), "ok 0\n");
  EXPECT_EQ(Probe({"getxattr", "/data/file", "security.capability"}), "err ENODATA\n");
  EXPECT_EQ(Probe({"setxattr", "/data/file", "trusted.x", "v"}, 1000), "err EPERM\n");
}

TEST_F(SyscallTest, InotifyAndUnixSockets) {
  EXPECT_EQ(Probe({"inotify", "/data/link"}), "ok 0\n");
  EXPECT_EQ(Probe({"inotify", "/etc/os-release"}), "err ENOENT\n");
  EXPECT_EQ(Probe({"unix-bind-connect", "/tmp/sock"}), "ok 0\n");
  struct stat st;
  ASSERT_EQ(::lstat((root_ + "/tmp/sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
}

TEST_F(SyscallTest, ExecveatAndProcSelfExe) {
  EXPECT_EQ(Probe({"execveat", "/", "probe"}), "ok /probe\n");
  EXPECT_EQ(Probe({"readlink", "/proc/self/exe"}), "ok /probe\n");
}

TEST_F(SyscallTest, ExecFnAndExeAsTheKernelSetsThem) {
  // AT_EXECFN is the name the caller passed (for a script: the script's), /proc/self/exe the
  // program that runs (for a script: its interpreter); never a host path.
  EXPECT_EQ(Probe({"execfn"}), "ok /probe /probe\n");
  ASSERT_TRUE(WriteFile(root_ + "/data/script", "#!/probe execfn\n", 0755).ok());
  auto c = testing::Run(root_, {"/data/script"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->out, "ok /data/script /probe\n");
  c = testing::Run(root_, {"/bin/sh", "-c", "cd /data && ./script"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->out, "ok ./script /probe\n");
  EXPECT_EQ(Probe({"execveat-execfn", "/", "probe"}), "ok /dev/fd/3/probe /probe\n");
  EXPECT_EQ(Probe({"fexecve-execfn", "/data/dir/up/../../probe"}), "ok /dev/fd/3 /probe\n");
}

TEST_F(SyscallTest, UnsafeAndUnknownSyscallsAreRefused) {
  EXPECT_EQ(Probe({"io_uring"}), "err ENOSYS\n");
  EXPECT_EQ(Probe({"mount"}), "err EPERM\n");
  EXPECT_THAT(Probe({"unknown"}), HasSubstr("err ENOSYS\n"));
}

TEST_F(SyscallTest, Identity) {
  EXPECT_EQ(Probe({"ids"}), "ok 0 0 0 0\n");
  EXPECT_EQ(Probe({"ids"}, 1000), "ok 1000 1000 1000 1000\n");
  EXPECT_EQ(Probe({"setuid-drop"}), "ok 1000 -1 EPERM\n");
}

TEST_F(SyscallTest, FsyncIsANoop) {
  EXPECT_EQ(Probe({"fsync", "/data/file"}), "ok 0\n");
}

TEST_F(SyscallTest, LongPaths) {
  EXPECT_THAT(Probe({"long-path", "40"}), HasSubstr("ok deep\n"));
}

}  // namespace
}  // namespace ocibuild::sandbox
