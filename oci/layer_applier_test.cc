#include "oci/layer_applier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "oci/layer_testing.h"
#include "util/fs.h"
#include "util/subprocess.h"

namespace ocibuild::oci {
namespace {

using testing::Device;
using testing::Dir;
using testing::Fifo;
using testing::File;
using testing::Hardlink;
using testing::MakeTar;
using testing::Symlink;
using testing::TarCompression;
using testing::TarEntry;

class ApplierTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("ocibuild-apply-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    rootfs_ = dir_->path() + "/rootfs";
    ASSERT_EQ(::mkdir(rootfs_.c_str(), 0755), 0);
    auto r = RootDir::Open(rootfs_);
    ASSERT_TRUE(r.ok());
    root_ = std::make_unique<RootDir>(std::move(*r));
  }
  Result<ApplyStats> Apply(const std::vector<TarEntry>& entries,
                           TarCompression comp = TarCompression::kNone) {
    UniqueFd fd(testing::FdOf(dir_->path(), MakeTar(entries, comp)));
    return ApplyLayer(*root_, store_, fd.get());
  }
  struct stat Lstat(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(::lstat((rootfs_ + "/" + rel).c_str(), &st), 0) << rel;
    return st;
  }
  FileMeta Meta(const std::string& rel) { return store_.Effective(Lstat(rel)); }
  bool Exists(const std::string& rel) {
    struct stat st;
    return ::lstat((rootfs_ + "/" + rel).c_str(), &st) == 0;
  }

  std::unique_ptr<TempDir> dir_;
  std::string rootfs_;
  std::unique_ptr<RootDir> root_;
  MetaStore store_;
};

TEST_F(ApplierTest, UnpacksFilesDirsLinksWithContent) {
  TarEntry f = File("etc/hostname", "box\n", 0644);
  f.mtime = 1234567890;
  auto r = Apply(
      {Dir("etc/", 0755), f, Symlink("etc/link", "hostname"), Hardlink("etc/hard", "etc/hostname"),
       Dir("usr/lib/", 0755), Symlink("lib", "usr/lib"), File("lib/libx.so", "elf")},
      TarCompression::kGzip);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->entries, 7u);
  EXPECT_EQ(*ReadFile(rootfs_ + "/etc/hostname"), "box\n");
  EXPECT_EQ(Lstat("etc/hostname").st_mtime, 1234567890);
  EXPECT_EQ(Lstat("etc/hard").st_ino, Lstat("etc/hostname").st_ino);
  EXPECT_TRUE(S_ISLNK(Lstat("etc/link").st_mode));
  // Written through the usrmerge link, inside the root.
  EXPECT_EQ(*ReadFile(rootfs_ + "/usr/lib/libx.so"), "elf");
  EXPECT_EQ(store_.size(), 0u);  // everything root:root with modes the host holds
}

TEST_F(ApplierTest, ZstdIsDetected) {
  auto r = Apply({File("a", "zstd")}, TarCompression::kZstd);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*ReadFile(rootfs_ + "/a"), "zstd");
}

TEST_F(ApplierTest, ForeignOwnersAndModesGoToTheStore) {
  auto r = Apply({Dir("home/", 0755), Dir("home/app/", 0700, 1000, 1000),
                  File("etc/shadow", "x", 0000, 0, 42), File("usr/bin/su", "su", 04755),
                  Dir("ro/", 0555), File("tmpfile", "t", 0640, 1000, 1000), Dir("tmp/", 01777)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(Meta("home/app").uid, 1000u);
  EXPECT_EQ(Meta("home/app").mode, S_IFDIR | 0700u);
  FileMeta shadow = Meta("etc/shadow");
  EXPECT_EQ(shadow.gid, 42u);
  EXPECT_EQ(shadow.mode, S_IFREG | 0u);
  // Still readable and writable by the builder.
  EXPECT_EQ(Lstat("etc/shadow").st_mode & 0600, 0600u);
  EXPECT_EQ(::access((rootfs_ + "/etc/shadow").c_str(), R_OK | W_OK), 0);
  EXPECT_EQ(Meta("usr/bin/su").mode, S_IFREG | 04755u);
  EXPECT_EQ(Meta("ro").mode, S_IFDIR | 0555u);
  EXPECT_EQ(Lstat("ro").st_mode & 0700, 0700u);
  EXPECT_EQ(Meta("tmp").mode, S_IFDIR | 01777u);
  EXPECT_EQ(Lstat("tmp").st_uid, ::geteuid());  // never chowned on disk
  EXPECT_EQ(Lstat("tmpfile").st_uid, ::geteuid());
}

TEST_F(ApplierTest, DevicesBecomePlaceholdersFifosAreReal) {
  auto r = Apply({Device("dev/null", S_IFCHR, 1, 3, 0666), Device("dev/sda", S_IFBLK, 8, 0),
                  Fifo("run/fifo", 0620)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  struct stat st = Lstat("dev/null");
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 0);
  FileMeta m = Meta("dev/null");
  EXPECT_EQ(m.mode, S_IFCHR | 0666u);
  EXPECT_EQ(m.rdev, makedev(1, 3));
  EXPECT_EQ(Meta("dev/sda").mode, S_IFBLK | 0660u);
  EXPECT_TRUE(S_ISFIFO(Lstat("run/fifo").st_mode));
  EXPECT_EQ(Meta("run/fifo").mode, S_IFIFO | 0620u);
}

TEST_F(ApplierTest, PrivilegedXattrsGoToTheStoreUserXattrsToDisk) {
  TarEntry ping = File("bin/ping", "p", 0755);
  ping.xattrs["security.capability"] = std::string("\x01\x00\x00\x02\x00\x20\x00\x00", 8);
  ping.xattrs["trusted.overlay.x"] = "y";
  ping.xattrs["user.note"] = "hello";
  auto r = Apply({ping});
  ASSERT_TRUE(r.ok()) << r.error().message;
  FileMeta m = Meta("bin/ping");
  EXPECT_EQ(m.xattrs.at("security.capability"), ping.xattrs["security.capability"]);
  EXPECT_EQ(m.xattrs.at("trusted.overlay.x"), "y");
  char buf[32];
  ssize_t n = ::lgetxattr((rootfs_ + "/bin/ping").c_str(), "user.note", buf, sizeof buf);
  if (n >= 0) {
    EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "hello");
    EXPECT_EQ(m.xattrs.count("user.note"), 0u);
  } else {
    EXPECT_EQ(m.xattrs.at("user.note"), "hello");  // filesystem without user xattrs
  }
  EXPECT_LT(::lgetxattr((rootfs_ + "/bin/ping").c_str(), "security.capability", buf, sizeof buf),
            0);
}

TEST_F(ApplierTest, WhiteoutsApplyToLowerLayersOnlyInAnyOrder) {
  ASSERT_TRUE(Apply({File("a", "lower"), Dir("b/"), File("b/c", "lower"), Dir("b/d/"),
                     File("b/d/e", "lower"), File("keep", "lower"), File("x", "lower")})
                  .ok());
  // The opaque marker comes after this layer's own b/new; ".wh.x" after this layer's x.
  auto r = Apply({File("b/new", "upper"), File("b/.wh..wh..opq", ""), File(".wh.a", ""),
                  File("x", "upper"), File(".wh.x", ""), File(".wh.missing", "")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->whiteouts, 4u);
  EXPECT_FALSE(Exists("a"));
  EXPECT_FALSE(Exists("b/c"));
  EXPECT_FALSE(Exists("b/d"));
  EXPECT_FALSE(Exists(".wh.a"));
  EXPECT_FALSE(Exists("b/.wh..wh..opq"));
  EXPECT_EQ(*ReadFile(rootfs_ + "/b/new"), "upper");
  EXPECT_EQ(*ReadFile(rootfs_ + "/x"), "upper");
  EXPECT_EQ(*ReadFile(rootfs_ + "/keep"), "lower");
}

TEST_F(ApplierTest, WhiteoutThenSameNameRecreates) {
  ASSERT_TRUE(Apply({Dir("d/"), File("d/old", "1")}).ok());
  auto r = Apply({File(".wh.d", ""), File("d", "now a file")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*ReadFile(rootfs_ + "/d"), "now a file");
}

TEST_F(ApplierTest, ReplacingOrWhitingOutErasesStoreEntries) {
  ASSERT_TRUE(Apply({File("f", "1", 0600, 1000, 1000), File("g", "1", 0600, 7, 7),
                     Dir("d/", 0700, 5, 5), File("d/h", "1", 0600, 9, 9)})
                  .ok());
  EXPECT_EQ(store_.size(), 4u);
  ASSERT_TRUE(Apply({File("f", "2", 0644), File(".wh.g", ""), File(".wh.d", "")}).ok());
  EXPECT_EQ(Meta("f").uid, 0u);
  EXPECT_EQ(store_.size(), 0u);
}

TEST_F(ApplierTest, ReplacingAnUpperNodeKindWorks) {
  ASSERT_TRUE(Apply({Dir("x/"), File("x/y", "1"), File("f", "1"), Symlink("s", "/etc")}).ok());
  auto r = Apply({File("x", "file now"), Dir("f/"), File("s", "regular")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*ReadFile(rootfs_ + "/x"), "file now");
  EXPECT_TRUE(S_ISDIR(Lstat("f").st_mode));
  EXPECT_TRUE(S_ISREG(Lstat("s").st_mode));
}

TEST_F(ApplierTest, DirectoryMtimesSurviveTheirChildren) {
  TarEntry d = Dir("d/");
  d.mtime = 1000;
  auto r = Apply({d, File("d/a", "1"), File("d/b", "2")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(Lstat("d").st_mtime, 1000);
}

TEST_F(ApplierTest, ErrorsNameTheEntry) {
  auto r = Apply({File("../../etc/passwd", "x")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "layer entry \"../../etc/passwd\": path escapes the root");
  r = Apply({File("d/.wh..", "")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "layer entry \"d/.wh..\": invalid whiteout (names \".\")");
  r = Apply({Hardlink("h", "../outside")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "layer entry \"h\": hardlink target \"../outside\": path escapes the root");
  r = Apply({Dir("dd/"), Hardlink("h2", "dd")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "layer entry \"h2\": hardlink target \"dd\" is a directory");
  r = Apply({Hardlink("h3", "nonexistent")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "layer entry \"h3\": hardlink target nonexistent: No such file or directory");
}

TEST_F(ApplierTest, ConcatenatedGzipMembersAndTrailingZerosAreAccepted) {
  // Two members: the tar split across them, then padding.
  std::string tar = MakeTar({File("a", std::string(5000, 'a')), File("b", "b")});
  auto gz = [&](const std::string& part) {
    auto d = TempDir::Create("ocibuild-gz-");
    std::string p = d->path() + "/x";
    EXPECT_TRUE(WriteFile(p, part).ok());
    auto r = RunProcess({"gzip", "-c", p});
    EXPECT_TRUE(r.ok() && r->success());
    return r->out;
  };
  std::string blob = gz(tar.substr(0, 1024)) + gz(tar.substr(1024)) + std::string(512, '\0');
  UniqueFd fd(testing::FdOf(dir_->path(), blob));
  auto r = ApplyLayer(*root_, store_, fd.get());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(ReadFile(rootfs_ + "/a")->size(), 5000u);
  EXPECT_EQ(*ReadFile(rootfs_ + "/b"), "b");
}

TEST_F(ApplierTest, CorruptStreamIsAnError) {
  std::string tar = MakeTar({File("a", std::string(100000, 'x'))}, TarCompression::kGzip);
  tar.resize(tar.size() / 2);
  UniqueFd fd(testing::FdOf(dir_->path(), tar));
  auto r = ApplyLayer(*root_, store_, fd.get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "layer: gzip: unexpected end of stream");
}

}  // namespace
}  // namespace ocibuild::oci
