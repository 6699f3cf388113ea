#include "builder/sandbox/guest_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

namespace ocibuild::sandbox {
namespace {

class GuestFsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto tmp = TempDir::Create("ocibuild-guestfs-");
    ASSERT_TRUE(tmp.ok());
    tmp_ = std::move(*tmp);
    root_ = tmp_.path() + "/root";
    cache_ = tmp_.path() + "/cache";
    outside_ = tmp_.path() + "/outside";
    for (const std::string& d : {root_, root_ + "/usr", root_ + "/usr/lib", root_ + "/etc",
                                 root_ + "/app", cache_, cache_ + "/sub", outside_})
      ASSERT_EQ(::mkdir(d.c_str(), 0755), 0) << d;
    ASSERT_TRUE(WriteFile(root_ + "/etc/passwd", "root\n").ok());
    ASSERT_TRUE(WriteFile(outside_ + "/secret", "host\n").ok());
    ASSERT_EQ(::symlink("/usr/lib", (root_ + "/lib").c_str()), 0);
    ASSERT_EQ(::symlink("../../..", (root_ + "/usr/lib/up").c_str()), 0);
    ASSERT_EQ(::symlink(outside_.c_str(), (root_ + "/escape").c_str()), 0);
    ASSERT_EQ(::symlink("loop2", (root_ + "/loop1").c_str()), 0);
    ASSERT_EQ(::symlink("loop1", (root_ + "/loop2").c_str()), 0);
    auto fs = GuestFs::Create(root_, {{"/app/cache", cache_}}, &store_);
    ASSERT_TRUE(fs.ok()) << fs.error().message;
    fs_ = std::move(*fs);
  }

  // Resolves and returns the host path of the object (via our descriptor), or "ERR <errno>".
  std::string Host(std::string_view path, std::string_view base = "/", WalkOptions o = {}) {
    Resolved r;
    int links = 0;
    int rc = fs_->Walk(0, base, path, o, &r, &links);
    while (rc == 0 && o.follow_final && !r.is_mount_root()) {
      struct stat st;
      if (::fstatat(r.dir.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
          !S_ISLNK(st.st_mode))
        break;
      rc = fs_->FollowFinal(0, &r, o, &links);
    }
    if (rc != 0) return "ERR " + std::to_string(-rc);
    char proc[64], buf[4096];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", r.dir.get());
    ssize_t n = ::readlink(proc, buf, sizeof buf);
    std::string dir(buf, n > 0 ? static_cast<size_t>(n) : 0);
    return r.is_mount_root() ? dir : dir + "/" + r.name;
  }

  TempDir tmp_ = std::move(*TempDir::Create("ocibuild-guestfs-unused-"));
  std::string root_, cache_, outside_;
  oci::MetaStore store_;
  std::unique_ptr<GuestFs> fs_;
};

TEST_F(GuestFsTest, AbsoluteRelativeAndDotDotAtTheRoot) {
  EXPECT_EQ(Host("/etc/passwd"), root_ + "/etc/passwd");
  EXPECT_EQ(Host("passwd", "/etc"), root_ + "/etc/passwd");
  EXPECT_EQ(Host("/../../../etc/passwd"), root_ + "/etc/passwd");
  EXPECT_EQ(Host("../../etc/passwd", "/usr/lib"), root_ + "/etc/passwd");
  EXPECT_EQ(Host("/"), root_);
}

TEST_F(GuestFsTest, SymlinksResolveInTheGuest) {
  EXPECT_EQ(Host("/lib/up/etc/passwd"), root_ + "/etc/passwd");
  // An absolute link to a host directory names the guest's directory of that name.
  EXPECT_EQ(Host("/escape/secret"), "ERR " + std::to_string(ENOENT));
  EXPECT_EQ(Host("/loop1/x"), "ERR " + std::to_string(ELOOP));
}

TEST_F(GuestFsTest, MountsAreEnteredAndLeft) {
  EXPECT_EQ(Host("/app/cache/sub"), cache_ + "/sub");
  EXPECT_EQ(Host("/app/cache"), cache_);
  EXPECT_EQ(Host("/app/cache/../../etc/passwd"), root_ + "/etc/passwd");
  EXPECT_EQ(Host("../../../etc/passwd", "/app/cache/sub"), root_ + "/etc/passwd");
}

TEST_F(GuestFsTest, ResolveFlags) {
  WalkOptions beneath;
  beneath.beneath = true;
  EXPECT_EQ(Host("../etc/passwd", "/usr", beneath), "ERR " + std::to_string(EXDEV));
  EXPECT_EQ(Host("lib", "/usr", beneath), root_ + "/usr/lib");
  WalkOptions in_root;
  in_root.in_root = true;
  EXPECT_EQ(Host("/lib", "/usr", in_root), root_ + "/usr/lib");
  EXPECT_EQ(Host("../../lib", "/usr", in_root), root_ + "/usr/lib");
  WalkOptions nosym;
  nosym.no_symlinks = true;
  EXPECT_EQ(Host("/lib/x", "/", nosym), "ERR " + std::to_string(ELOOP));
}

TEST_F(GuestFsTest, ToGuestOfHostPaths) {
  std::string g;
  EXPECT_TRUE(fs_->ToGuest(root_ + "/etc/passwd", &g));
  EXPECT_EQ(g, "/etc/passwd");
  EXPECT_TRUE(fs_->ToGuest(cache_ + "/sub (deleted)", &g));
  EXPECT_EQ(g, "/app/cache/sub");
  EXPECT_FALSE(fs_->ToGuest(outside_ + "/secret", &g));
  EXPECT_FALSE(fs_->ToGuest("pipe:[1234]", &g));
}

TEST_F(GuestFsTest, MakeDirsStaysInTheGuest) {
  ASSERT_EQ(fs_->MakeDirs("/escape/made/deeper"), 0);
  struct stat st;
  EXPECT_NE(::stat((outside_ + "/made").c_str(), &st), 0) << "created on the host";
  EXPECT_EQ(::stat((root_ + outside_ + "/made/deeper").c_str(), &st), 0);
  ASSERT_EQ(fs_->MakeDirs("/tmp/a/b"), 0);
  EXPECT_EQ(::stat((root_ + "/tmp/a/b").c_str(), &st), 0);
}

}  // namespace
}  // namespace ocibuild::sandbox
