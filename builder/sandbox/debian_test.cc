// The sandbox against a real Debian 12 minbase rootfs ($OCIBUILD_DEBIAN_BASE): glibc dynamic
// binaries through the guest's ld.so, dpkg, useradd, chown -R, setcap, su.
#include <ftw.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <map>

#include "builder/sandbox/http_server_testing.h"
#include "builder/sandbox/sandbox.h"
#include "builder/sandbox/sandbox_testing.h"
#include "oci/metastore.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace ocibuild::sandbox {
namespace {

using ::testing::HasSubstr;

std::string DebianBase() {
  const char* p = std::getenv("OCIBUILD_DEBIAN_BASE");
  if (p && *p) return p;
  const char* b = std::getenv("OCIBUILD_BUILD_DIR");
  std::string guess = std::string(b ? b : ".") + "/cache/debian-minbase.tar";
  if (PathExists(guess)) return guess;
  const char* s = std::getenv("OCIBUILD_SOURCE_DIR");
  return std::string(s ? s : ".") + "/build/cache/debian-minbase.tar";
}

class DebianSandbox : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string base = DebianBase();
    if (!PathExists(base)) GTEST_SKIP() << "*** no Debian base tarball at " << base << " ***";
    auto tmp = TempDir::Create("ocibuild-deb-");
    ASSERT_TRUE(tmp.ok());
    tmp_ = std::move(*tmp);
    root_ = tmp_.path() + "/rootfs";
    Status st = testing::ExtractRootfs(base, root_);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  testing::Captured Bash(const std::string& script, uint32_t uid = 0) {
    auto c = testing::Run(root_, {"/bin/bash", "-c", script}, uid, uid);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? *c : testing::Captured{};
  }

  oci::MetaStore Store() {
    auto s = oci::MetaStore::Load(oci::MetaStore::PathFor(root_));
    EXPECT_TRUE(s.ok());
    return s.ok() ? *s : oci::MetaStore{};
  }
  ino_t Ino(const std::string& guest) {
    struct stat st {};
    EXPECT_EQ(::lstat((root_ + guest).c_str(), &st), 0) << guest;
    return st.st_ino;
  }

  TempDir tmp_ = std::move(*TempDir::Create("ocibuild-deb-unused-"));
  std::string root_;
};

TEST_F(DebianSandbox, DynamicBinariesRunThroughTheGuestLoader) {
  auto c = Bash(
      "ls / >/dev/null && echo $0 && readlink /proc/self/exe && "
      "/usr/bin/env readlink /proc/self/exe && id && cat /etc/debian_version");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_THAT(c.out, HasSubstr("/bin/bash\n/usr/bin/readlink\n/usr/bin/readlink\n"));
  EXPECT_THAT(c.out, HasSubstr("uid=0(root) gid=0(root) groups=0(root)"));
  EXPECT_THAT(c.out, HasSubstr("12."));
}

TEST_F(DebianSandbox, ExecFnOfDynamicProgramsAndScripts) {
  // ld.so prints the auxiliary vector: AT_EXECFN must be the name the guest exec'd, not the
  // guest loader the sandbox ran; a script's /proc/self/exe is its interpreter.
  auto c = Bash(
      "LD_SHOW_AUXV=1 /usr/bin/true | grep AT_EXECFN; "
      "cd /usr/bin && LD_SHOW_AUXV=1 ./true | grep AT_EXECFN; "
      "printf '#!/bin/sh\\nreadlink /proc/$$/exe\\n' > /tmp/s; chmod +x /tmp/s; /tmp/s");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_THAT(c.out, ::testing::MatchesRegex("AT_EXECFN: +/usr/bin/true\nAT_EXECFN: +\\./true\n"
                                             "/usr/bin/dash\n"));
}

TEST_F(DebianSandbox, OwnershipFromTheBaseImageIsVisible) {
  auto c = Bash("stat -c '%U:%G %a' /var/mail /etc/shadow /usr/bin/passwd /tmp");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "root:mail 2775\nroot:shadow 640\nroot:root 4755\nroot:root 1777\n");
}

TEST_F(DebianSandbox, UseraddChownSu) {
  auto c = Bash(
      "set -e; useradd -m -s /bin/bash app; mkdir -p /srv/app/data; "
      "touch /srv/app/data/x; chown -R app:app /srv/app; "
      "stat -c '%U:%G %a' /home/app /srv/app/data/x; "
      "su app -c 'id -un; touch /home/app/made-by-app; echo $HOME'; "
      "stat -c '%U:%G' /home/app/made-by-app; getent passwd app | cut -d: -f3,6; "
      "runuser -u app -- id; setpriv --reuid=app --regid=app --init-groups id -un; "
      "su app -c 'setpriv --reuid=0 id' 2>&1 | grep -q 'Operation not permitted' "
      "&& echo cannot-regain");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out,
            "app:app 755\napp:app 644\napp\n/home/app\napp:app\n1000:/home/app\n"
            "uid=1000(app) gid=1000(app) groups=1000(app)\napp\ncannot-regain\n");
  oci::MetaStore store = Store();
  const oci::FileMeta* m = store.Find(Ino("/home/app"));
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->uid, 1000u);
  EXPECT_EQ(m->mode, static_cast<uint32_t>(S_IFDIR | 0755));
  const oci::FileMeta* sh = store.Find(Ino("/etc/shadow"));
  ASSERT_NE(sh, nullptr);
  EXPECT_EQ(sh->gid, 42u);
}

TEST_F(DebianSandbox, DpkgInstallsALocalPackage) {
  auto c = Bash(
      "set -e; mkdir -p /tmp/pkg/DEBIAN /tmp/pkg/usr/bin; "
      "printf 'Package: ocib-test\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@t>\\n"
      "Description: test\\n' > /tmp/pkg/DEBIAN/control; "
      "printf '#!/bin/sh\\nset -e\\nchown nobody:nogroup /usr/bin/ocib-hello\\n"
      "chmod 4711 /usr/bin/ocib-hello\\n' > /tmp/pkg/DEBIAN/postinst; "
      "chmod 755 /tmp/pkg/DEBIAN/postinst; "
      "printf '#!/bin/sh\\necho hello from package\\n' > /tmp/pkg/usr/bin/ocib-hello; "
      "chmod 755 /tmp/pkg/usr/bin/ocib-hello; "
      "dpkg-deb --root-owner-group --build /tmp/pkg /tmp/ocib-test.deb >/dev/null; "
      "dpkg -i /tmp/ocib-test.deb >/dev/null; ocib-hello; stat -c '%U:%G %a' /usr/bin/ocib-hello; "
      "dpkg -s ocib-test | grep Status");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "hello from package\nnobody:nogroup 4711\nStatus: install ok installed\n");
}

std::string AptRepo() {
  if (const char* p = std::getenv("OCIBUILD_APT_REPO")) return p;
  for (const char* var : {"OCIBUILD_BUILD_DIR", "OCIBUILD_SOURCE_DIR"}) {
    const char* d = std::getenv(var);
    if (!d) continue;
    std::string base = std::string(d) + (std::string(var) == "OCIBUILD_SOURCE_DIR" ? "/build" : "");
    if (PathExists(base + "/cache/apt-repo/Packages")) return base + "/cache/apt-repo";
  }
  if (const char* td = std::getenv("OCIBUILD_TESTDATA")) {
    std::string repo = std::string(td) + "/sandbox/apt-repo";
    if (PathExists(repo + "/Packages")) return repo;
  }
  return "";
}

// The same RUN step, for the sandbox and for the reference root chroot.
std::string AptScript(int port) {
  return "set -e\n"
         "echo 'deb [trusted=yes] http://127.0.0.1:" +
         std::to_string(port) +
         " ./' "
         "> /etc/apt/sources.list\n"
         "rm -f /etc/apt/sources.list.d/*\n"
         "apt-get update -q >/tmp/apt.log\n"
         "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "
         "hello tree libcap2-bin sudo >>/tmp/apt.log\n"
         "hello\n"
         "tree -d /srv | head -1\n"
         "useradd -m -s /bin/bash app\n"
         "mkdir -p /srv/app/data && touch /srv/app/data/f && chown -R app:app /srv/app\n"
         "cp /usr/bin/hello /usr/local/bin/pinger\n"
         "setcap cap_net_raw+ep /usr/local/bin/pinger\n"
         "getcap /usr/local/bin/pinger\n"
         "mknod /srv/mydev c 10 200\n"
         "install -m 4755 /usr/bin/hello /usr/local/bin/suidhello\n"
         "su app -c 'touch /home/app/by-app; id -un'\n"
         "sudo -u app id -un\n"
         "stat -c '%U:%G %a' /usr/bin/sudo /home/app /home/app/by-app /srv/app/data/f\n";
}

constexpr char kAptExpected[] =
    "Hello, world!\n/srv\n/usr/local/bin/pinger cap_net_raw=ep\napp\napp\n"
    "root:root 4755\napp:app 755\napp:app 644\napp:app 644\n";

TEST_F(DebianSandbox, AptInstallUseraddSetcapMatchARealChroot) {
  std::string repo = AptRepo();
  if (repo.empty())
    GTEST_SKIP() << "*** SKIPPED: no local apt repository; run scripts/local-apt-repo.sh as root "
                    "first (or set OCIBUILD_APT_REPO) ***";
  auto server = testing::LocalHttpServer::Start(repo);
  ASSERT_TRUE(server.ok()) << server.error().message;
  std::string script = AptScript((*server)->port());
  auto c = Bash(script);
  auto log = ReadFile(root_ + "/tmp/apt.log");
  ASSERT_EQ(c.exit_code, 0) << c.err << (log.ok() ? *log : "");
  EXPECT_EQ(c.out, kAptExpected);

  if (::geteuid() != 0) return;  // the reference chroot needs real root
  std::string ref = tmp_.path() + "/chroot";
  auto real = testing::RunInRootChroot(DebianBase(), ref, script);
  ASSERT_TRUE(real.ok()) << real.error().message;
  ASSERT_EQ(real->exit_code, 0) << real->err;
  EXPECT_EQ(real->out, c.out);
  oci::MetaStore store = Store();
  auto want = testing::WalkMeta(ref, nullptr);
  auto got = testing::WalkMeta(root_, &store);
  EXPECT_GT(testing::CompareMeta(want, got), 5000);
  for (const char* p : {"/usr/bin/sudo", "/usr/local/bin/pinger", "/srv/mydev", "/home/app",
                        "/srv/app/data/f", "/usr/local/bin/suidhello"})
    EXPECT_TRUE(got.count(p) && want.count(p)) << p;
}

}  // namespace
}  // namespace ocibuild::sandbox
