#include "builder/stage_state.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::builder {
namespace {

// TreeDigest is what content-keyed steps (COPY --from, RUN --mount=from) are found by: whatever
// the copy carries over must move it, times must not.
class TreeDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create();
    ASSERT_TRUE(t.ok());
    tmp_.emplace(std::move(*t));
    ASSERT_TRUE(MakeDirs(JoinPath(tmp_->path(), "d/sub"), 0755).ok());
    ASSERT_TRUE(WriteFile(JoinPath(tmp_->path(), "d/sub/f"), "data").ok());
    ASSERT_EQ(::symlink("sub/f", JoinPath(tmp_->path(), "d/l").c_str()), 0);
    ASSERT_EQ(::symlink("d", JoinPath(tmp_->path(), "top").c_str()), 0);
    auto r = oci::RootDir::Open(tmp_->path());
    ASSERT_TRUE(r.ok());
    root_.emplace(std::move(*r));
  }
  std::string Digest(const std::string& rel) {
    auto d = TreeDigest(*root_, store_, rel);
    EXPECT_TRUE(d.ok()) << d.error().message;
    return d.ok() ? *d : "";
  }
  std::optional<TempDir> tmp_;
  std::optional<oci::RootDir> root_;
  oci::MetaStore store_;
};

TEST_F(TreeDigestTest, CoversWhatACopyCarriesAndNotTimes) {
  std::string before = Digest("d");
  struct timespec ts[2] = {{1, 0}, {1, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, JoinPath(tmp_->path(), "d/sub/f").c_str(), ts, 0), 0);
  EXPECT_EQ(Digest("d"), before) << "times are not content";

  ASSERT_TRUE(WriteFile(JoinPath(tmp_->path(), "d/sub/f"), "Data").ok());
  std::string content = Digest("d");
  EXPECT_NE(content, before);

  struct stat st;
  ASSERT_EQ(::lstat(JoinPath(tmp_->path(), "d/sub/f").c_str(), &st), 0);
  oci::FileMeta m = store_.Effective(st);
  m.uid = 1000;
  store_.Set(st.st_ino, m);
  std::string owner = Digest("d");
  EXPECT_NE(owner, content);
  m.xattrs["security.capability"] = std::string("\x01\x00\x00\x02", 4);
  store_.Set(st.st_ino, m);
  std::string xattr = Digest("d");
  EXPECT_NE(xattr, owner);
  m.mode = S_IFCHR | 0644;
  m.rdev = makedev(1, 3);
  store_.Set(st.st_ino, m);
  std::string dev = Digest("d");
  m.rdev = makedev(1, 5);
  store_.Set(st.st_ino, m);
  EXPECT_NE(Digest("d"), dev) << "a device's numbers";

  ASSERT_EQ(::unlink(JoinPath(tmp_->path(), "d/l").c_str()), 0);
  std::string no_link = Digest("d");
  ASSERT_EQ(::symlink("sub/g", JoinPath(tmp_->path(), "d/l").c_str()), 0);
  EXPECT_NE(Digest("d"), no_link) << "a link below the top is hashed as a link";
}

TEST_F(TreeDigestTest, FollowsALinkAtTheTopOnly) {
  // The top is read through its link, as COPY and bind mounts read it.
  EXPECT_EQ(Digest("top"), Digest("d"));
  std::string link_below = Digest("d");
  // Through the link, the digest still follows what the directory holds. (That a link below
  // the top is hashed as a link: CoversWhatACopyCarriesAndNotTimes.)
  ASSERT_TRUE(WriteFile(JoinPath(tmp_->path(), "d/sub/f"), "other").ok());
  EXPECT_NE(Digest("top"), link_below);
  EXPECT_EQ(Digest("top"), Digest("d"));
}

}  // namespace
}  // namespace ocibuild::builder
