// Permission checks for a non-root USER against the recorded owners and modes: each case runs
// the static probe in the sandbox; as root, the same cases run again in a real chroot as a real
// uid 1000, and the answers must agree (the kernel is the reference).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "builder/sandbox/sandbox_testing.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace ocibuild::sandbox {
namespace {

// Run as root in both roots; sets owners and modes the sandbox must record and honour.
constexpr char kSetup[] =
    "set -e; mkdir -p /d/priv /d/open /d/sticky /d/grpdir\n"
    "echo secret > /d/secret; chmod 600 /d/secret\n"
    "echo pub > /d/pub; chmod 644 /d/pub\n"
    "echo x > /d/noexec; chmod 644 /d/noexec\n"
    "cp /probe /d/rootonly; chmod 750 /d/rootonly\n"
    "cp /probe /d/grpexec; chown 0:1000 /d/grpexec; chmod 750 /d/grpexec\n"
    "echo in > /d/priv/f; chmod 700 /d/priv\n"
    "chmod 1777 /d/sticky; touch /d/sticky/rootfile; touch /d/sticky/appfile\n"
    "chown 1000:1000 /d/sticky/appfile /d/open\n"
    "echo g > /d/grp; chown 0:1000 /d/grp; chmod 660 /d/grp\n"
    "chown 0:1000 /d/grpdir; chmod 770 /d/grpdir\n"
    "echo z > /d/zero; chmod 000 /d/zero\n"
    "echo mine > /d/open/mine; chown 1000:1000 /d/open/mine\n"
    "echo q > /d/open/g0; chown 1000:0 /d/open/g0\n";

struct Case {
  uint32_t uid;
  std::vector<std::string> args;
  const char* want;
};

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      // Reading and writing files by owner/group/other bits.
      {1000, {"open", "/d/secret"}, "err EACCES\n"},
      {1000, {"open", "/d/pub"}, "ok pub\n"},
      {1000, {"open-flags", "/d/pub", "w"}, "err EACCES\n"},
      {1000, {"open-flags", "/d/pub", "rw"}, "err EACCES\n"},
      {1000, {"open-flags", "/d/pub", "rt"}, "err EACCES\n"},
      {1000, {"open-flags", "/d/grp", "rw"}, "ok 0\n"},
      {1000, {"open-flags", "/d/open/mine", "w"}, "ok 0\n"},
      {1000, {"open-flags", "/d/grp", "wt"}, "ok 0\n"},
      {1000, {"truncate", "/d/pub"}, "err EACCES\n"},
      {1000, {"open", "/d/zero"}, "err EACCES\n"},
      {0, {"open", "/d/zero"}, "ok z\n"},
      {0, {"open-flags", "/d/zero", "rw"}, "ok 0\n"},
      // Directories: search to walk through, write+search to create and remove.
      {1000, {"open", "/d/priv/f"}, "err EACCES\n"},
      {1000, {"stat", "/d/priv/f"}, "err EACCES\n"},
      {1000, {"chdir", "/d/priv"}, "err EACCES\n"},
      {1000, {"chdir", "/d/open"}, "ok 0\n"},
      {1000, {"open-flags", "/d/new", "wc"}, "err EACCES\n"},
      {1000, {"open-flags", "/d/open/new", "wc"}, "ok 0\n"},
      {1000, {"open-flags", "/d/grpdir/new", "wc"}, "ok 0\n"},
      {1000, {"mkdirat", "/d", "x"}, "err EACCES\n"},
      {1000, {"mkdirat", "/d/open", "x"}, "ok 0\n"},
      {1000, {"symlinkat", "/d/pub", "/d", "l"}, "err EACCES\n"},
      {1000, {"linkat", "/d/open", "mine", "/d/hard"}, "err EACCES\n"},
      {1000, {"mknodat", "/d", "dev"}, "err EACCES\n"},
      {1000, {"unlinkat", "/d", "pub"}, "err EACCES\n"},
      {1000, {"renameat2", "/d", "pub", "/d/open/pub"}, "err EACCES\n"},
      {1000, {"renameat2", "/d/open", "mine", "/d/mine"}, "err EACCES\n"},
      {1000, {"renameat2", "/d/open", "mine", "/d/open/mine2"}, "ok 0\n"},
      // Sticky directory: only the file's or the directory's owner may remove it.
      {1000, {"unlinkat", "/d/sticky", "rootfile"}, "err EPERM\n"},
      {1000, {"unlinkat", "/d/sticky", "appfile"}, "ok 0\n"},
      // access/faccessat (real ids) and faccessat2(AT_EACCESS).
      {1000, {"access-mode", "/d/pub", "r"}, "ok 0\n"},
      {1000, {"access-mode", "/d/pub", "w"}, "err EACCES\n"},
      {1000, {"access-mode", "/d/grp", "rw", "eaccess"}, "ok 0\n"},
      {1000, {"access-mode", "/d/secret", "r", "eaccess"}, "err EACCES\n"},
      {1000, {"access-mode", "/d/priv/f", "f"}, "err EACCES\n"},
      {0, {"access-mode", "/d/zero", "rw"}, "ok 0\n"},
      {0, {"access-mode", "/d/noexec", "x"}, "err EACCES\n"},
      {0, {"access-mode", "/d/rootonly", "x"}, "ok 0\n"},
      // exec needs x for the caller's class; root needs any x bit.
      {1000, {"exec", "/d/rootonly"}, "err EACCES\n"},
      {1000, {"exec", "/d/grpexec"}, "ok 1000 1000 1000 1000\n"},
      {0, {"exec", "/d/noexec"}, "err EACCES\n"},
      {0, {"exec", "/d/rootonly"}, "ok 0 0 0 0\n"},
      // Times: "now" needs write permission, explicit times need ownership.
      {1000, {"utimensat", "/d", "pub"}, "err EACCES\n"},
      {1000, {"utimensat", "/d", "grp"}, "ok 0\n"},
      {1000, {"utimensat-explicit", "/d", "grp"}, "err EPERM\n"},
      {1000, {"utimensat-explicit", "/d/open", "mine2"}, "ok 0\n"},
      // Modes and owners: only the owner (or root).
      {1000, {"fchmodat", "/d", "pub", "777"}, "err EPERM\n"},
      {1000, {"fchmodat", "/d/open", "mine2", "600"}, "ok 0\n"},
      {1000, {"open", "/d/open/mine2"}, "ok mine\n"},
      // Set-group-ID needs membership in the file's group.
      {1000, {"fchmodat", "/d/open", "mine2", "2755"}, "ok 0\n"},
      {1000, {"stat", "/d/open/mine2"}, "ok 1000:1000 102755\n"},
      {1000, {"fchmodat", "/d/open", "g0", "2755"}, "ok 0\n"},
      {1000, {"stat", "/d/open/g0"}, "ok 1000:0 100755\n"},
  };
  return cases;
}

std::string Describe(const Case& c) {
  std::string s = "uid " + std::to_string(c.uid) + ":";
  for (const std::string& a : c.args) s += " " + a;
  return s;
}

TEST(SandboxPermissions, NonRootUserIsCheckedLikeTheKernelDoes) {
  auto tmp = TempDir::Create("ocibuild-perm-");
  ASSERT_TRUE(tmp.ok());
  std::string root = tmp->path() + "/rootfs";
  ASSERT_TRUE(testing::MakeBusyboxRootfs(root).ok());
  auto setup = testing::Sh(root, kSetup);
  ASSERT_TRUE(setup.ok());
  ASSERT_EQ(setup->exit_code, 0) << setup->err;
  std::vector<std::string> got;
  for (const Case& c : Cases()) {
    std::vector<std::string> argv = c.args;
    argv.insert(argv.begin(), "/probe");
    auto r = testing::Run(root, argv, c.uid, c.uid);
    ASSERT_TRUE(r.ok()) << r.error().message;
    got.push_back(r->out + r->err);
    EXPECT_EQ(got.back(), c.want) << Describe(c);
  }

  if (::geteuid() != 0) return;  // the reference needs real owners and a real uid 1000
  std::string ref = tmp->path() + "/chroot";
  ASSERT_TRUE(testing::MakeBusyboxRootfs(ref).ok());
  auto rs = RunProcess({"chroot", ref, "/bin/sh", "-c", kSetup});
  ASSERT_TRUE(rs.ok() && rs->success()) << (rs.ok() ? rs->err : rs.error().message);
  size_t i = 0;
  for (const Case& c : Cases()) {
    std::vector<std::string> argv = {"chroot"};
    if (c.uid != 0) {
      argv.push_back("--userspec=" + std::to_string(c.uid) + ":" + std::to_string(c.uid));
      argv.push_back("--groups=" + std::to_string(c.uid));
    }
    argv.push_back(ref);
    argv.push_back("/probe");
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = RunProcess(argv);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->out + r->err, got[i]) << "kernel and sandbox disagree on " << Describe(c);
    ++i;
  }
}

}  // namespace
}  // namespace ocibuild::sandbox
