#include "builder/tree_watch.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <functional>

#include <gtest/gtest.h>

#include "oci/diff.h"
#include "oci/layer_applier.h"
#include "oci/layer_testing.h"
#include "util/fs.h"

namespace ocibuild::builder {
namespace {

using oci::testing::Dir;
using oci::testing::File;
using oci::testing::Hardlink;
using oci::testing::MakeTar;
using oci::testing::Symlink;

// Each case changes a tree the way a RUN step could, with a watch on it; the snapshot moved on
// by what the watch saw must be the one a walk takes, and the layer the same as the walk's.
class TreeWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("ocibuild-treewatch-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    rootfs_ = dir_->path() + "/rootfs";
    ASSERT_EQ(::mkdir(rootfs_.c_str(), 0755), 0);
    root_ = std::make_unique<oci::RootDir>(std::move(*oci::RootDir::Open(rootfs_)));
    UniqueFd fd(oci::testing::FdOf(dir_->path(), MakeTar({Dir("etc/"),
                                                          File("etc/passwd", "root:x:0:0"),
                                                          Dir("etc/ssl/"),
                                                          File("etc/ssl/cert", "CERT"),
                                                          Dir("var/"),
                                                          Dir("var/cache/"),
                                                          Dir("var/cache/apt/"),
                                                          File("var/cache/apt/a", "a"),
                                                          File("var/cache/apt/b", "b"),
                                                          Dir("var/lib/"),
                                                          Dir("usr/"),
                                                          Dir("usr/bin/"),
                                                          File("usr/bin/tool", "v1", 0755),
                                                          Hardlink("usr/lib-tool", "usr/bin/tool"),
                                                          Symlink("bin", "usr/bin"),
                                                          Dir("opt/"),
                                                          Dir("opt/app/"),
                                                          Dir("opt/app/lib/"),
                                                          File("opt/app/lib/x.js", "x"),
                                                          File("opt/app/main.js", "main")})));
    auto r = oci::ApplyLayer(*root_, store_, fd.get());
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto snap = oci::Snapshot::Take(*root_, store_);
    ASSERT_TRUE(snap.ok());
    before_ = std::make_unique<oci::Snapshot>(std::move(*snap));
  }

  std::string P(const std::string& rel) { return rootfs_ + "/" + rel; }

  // Watches, runs `change`, and compares what the watch says with a walk.
  // `linked`: what the sandbox's supervisor notes (RunSpec::tree_notes), filled by `change`.
  void Expect(const std::function<void()>& change, std::vector<uint64_t>* linked = nullptr) {
    auto w = TreeWatch::Start(rootfs_, *before_);
    ASSERT_TRUE(w.ok()) << w.error().message;
    change();
    auto seen = (*w)->Finish();
    ASSERT_TRUE(seen.ok()) << seen.error().message;
    auto delta = oci::Snapshot::Changes(*before_, *root_, store_, seen->restat, seen->rewalk,
                                        linked ? *linked : std::vector<uint64_t>{});
    ASSERT_TRUE(delta.ok()) << delta.error().message;
    auto walked = oci::Snapshot::Take(*root_, store_);
    ASSERT_TRUE(walked.ok());
    auto by_delta = oci::DiffDelta(*before_, *delta, *root_);
    auto by_walk = oci::DiffSnapshots(*before_, *walked, *root_);
    ASSERT_TRUE(by_delta.ok() && by_walk.ok());
    std::vector<std::string> a, b;
    for (const auto& c : *by_delta) a.push_back(oci::TarName(c));
    for (const auto& c : *by_walk) b.push_back(oci::TarName(c));
    EXPECT_EQ(a, b);
    oci::Snapshot patched = *before_;
    patched.Apply(std::move(*delta));
    auto diffs = oci::Snapshot::Differences(patched, *walked, 20);
    std::string all;
    for (const auto& d : diffs) all += d + "\n";
    EXPECT_TRUE(diffs.empty()) << all;
  }

  void Write(const std::string& rel, const std::string& data, int flags = O_APPEND) {
    UniqueFd fd(::open(P(rel).c_str(), O_WRONLY | O_CREAT | flags, 0644));
    ASSERT_TRUE(fd) << rel;
    ASSERT_EQ(::write(fd.get(), data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }

  std::unique_ptr<TempDir> dir_;
  std::string rootfs_;
  std::unique_ptr<oci::RootDir> root_;
  oci::MetaStore store_;
  std::unique_ptr<oci::Snapshot> before_;
};

TEST_F(TreeWatchTest, NothingChanged) {
  Expect([] {});
}

TEST_F(TreeWatchTest, ContentModeTimesAndXattrs) {
  Expect([&] {
    Write("var/cache/apt/a", "more");
    ASSERT_EQ(::chmod(P("etc/passwd").c_str(), 0600), 0);
    struct timespec ts[2] = {{1000, 0}, {2000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, P("etc/ssl").c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
    ASSERT_EQ(::utimensat(AT_FDCWD, P("bin").c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
    ASSERT_EQ(::setxattr(P("opt/app/main.js").c_str(), "user.x", "1", 1, 0), 0);
  });
}

TEST_F(TreeWatchTest, TheRootItself) {
  // The root has no parent to report it: only its own watch does.
  Expect([&] { ASSERT_EQ(::chmod(rootfs_.c_str(), 0700), 0); });
}

TEST_F(TreeWatchTest, WritesThroughDescriptorsAndMappings) {
  Expect([&] {
    {
      UniqueFd fd(::open(P("opt/app/lib/x.js").c_str(), O_RDWR));
      ASSERT_TRUE(fd);
      void* m = ::mmap(nullptr, 1, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
      ASSERT_NE(m, MAP_FAILED);
      static_cast<char*>(m)[0] = 'y';  // no write(2): only the close reports it
      ASSERT_EQ(::munmap(m, 1), 0);
    }
    {
      UniqueFd fd(::open(P("etc/ssl/cert").c_str(), O_RDWR));
      ASSERT_TRUE(fd);
      ASSERT_EQ(::ftruncate(fd.get(), 100), 0);
      ASSERT_EQ(::fchmod(fd.get(), 0640), 0);
    }
  });
}

TEST_F(TreeWatchTest, NewTreesAndRemovedTrees) {
  Expect([&] {
    ASSERT_TRUE(MakeDirs(P("opt/app/node_modules/a/b/c"), 0755).ok());
    Write("opt/app/node_modules/a/b/c/index.js", "module");
    Write("opt/app/node_modules/a/package.json", "{}");
    ASSERT_EQ(::symlink("../a", P("opt/app/node_modules/a/b/up").c_str()), 0);
    ASSERT_TRUE(RemoveAll(P("var/cache/apt")).ok());
    Write("var/lib/new", "n");
  });
}

TEST_F(TreeWatchTest, DirectoryRemovedAndMadeAgainUnderItsName) {
  Expect([&] {
    ASSERT_TRUE(RemoveAll(P("opt/app/lib")).ok());
    // ext4 often hands the same inode number to the new directory.
    ASSERT_EQ(::mkdir(P("opt/app/lib").c_str(), 0755), 0);
    Write("opt/app/lib/y.js", "y");
    Write("opt/app/lib/x.js", "x2");
  });
}

TEST_F(TreeWatchTest, DirectoryMovedThenWrittenThroughItsOldWatch) {
  Expect([&] {
    ASSERT_EQ(::rename(P("opt/app").c_str(), P("var/lib/app").c_str()), 0);
    // Reported by the moved directory's watch under its old path.
    Write("var/lib/app/lib/x.js", "later");
    Write("var/lib/app/new.js", "new");
    // The old name is now a symlink: the stale paths lead through it.
    ASSERT_EQ(::symlink("../var/lib/app", P("opt/app").c_str()), 0);
    Write("opt/app/late.js", "through the symlink");
  });
}

TEST_F(TreeWatchTest, DirectoryReplacedByAFile) {
  Expect([&] {
    ASSERT_TRUE(RemoveAll(P("etc/ssl")).ok());
    Write("etc/ssl", "now a file");
  });
}

TEST_F(TreeWatchTest, HardlinksWrittenAddedAndRemoved) {
  Expect([&] { Write("usr/bin/tool", "v2"); });  // usr/lib-tool changes too
}

TEST_F(TreeWatchTest, HardlinkNameRemoved) {
  Expect([&] { ASSERT_EQ(::unlink(P("usr/lib-tool").c_str()), 0); });
}

TEST_F(TreeWatchTest, HardlinkAdded) {
  Expect([&] { ASSERT_EQ(::link(P("opt/app/main.js").c_str(), P("etc/main-link").c_str()), 0); });
}

TEST_F(TreeWatchTest, AWriteThroughATemporaryHardlink) {
  // The new name's events name only it, and it is gone by the end: the old name, with one link
  // before and after, changed unseen but for the supervisor's note of the inode it linked.
  std::vector<uint64_t> linked;
  Expect(
      [&] {
        ASSERT_EQ(::link(P("opt/app/main.js").c_str(), P("var/lib/tmp").c_str()), 0);
        struct stat st;
        ASSERT_EQ(::stat(P("var/lib/tmp").c_str(), &st), 0);
        linked.push_back(st.st_ino);
        Write("var/lib/tmp", "changed");
        ASSERT_EQ(::chmod(P("var/lib/tmp").c_str(), 0600), 0);
        ASSERT_EQ(::unlink(P("var/lib/tmp").c_str()), 0);
      },
      &linked);
}

TEST_F(TreeWatchTest, RenamesOverFilesAndWithinADirectory) {
  Expect([&] {
    Write("etc/passwd.new", "root:x:0:0:new");
    ASSERT_EQ(::rename(P("etc/passwd.new").c_str(), P("etc/passwd").c_str()), 0);
    ASSERT_EQ(::rename(P("var/cache/apt/a").c_str(), P("var/cache/apt/c").c_str()), 0);
    // Over one of two hardlinked names: the other's link count drops.
    ASSERT_EQ(::rename(P("var/cache/apt/b").c_str(), P("usr/bin/tool").c_str()), 0);
  });
}

TEST_F(TreeWatchTest, OwnersRecordedOnlyInTheStore) {
  Expect([&] {
    struct stat st;
    ASSERT_EQ(::lstat(P("opt/app/main.js").c_str(), &st), 0);
    oci::FileMeta m;
    m.uid = 1000;
    m.gid = 1000;
    m.mode = st.st_mode;
    store_.Set(st.st_ino, m);
  });
}

TEST_F(TreeWatchTest, StartFailsWhenADirectoryCannotBeWatched) {
  // The caller then walks the tree after the step, as without a watch.
  auto missing = TreeWatch::Start(rootfs_ + "/nonexistent", *before_);
  EXPECT_FALSE(missing.ok());
}

}  // namespace
}  // namespace ocibuild::builder
