#include "oci/diff.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "oci/layer_applier.h"
#include "oci/layer_testing.h"
#include "oci/layer_writer.h"
#include "util/fs.h"

namespace ocibuild::oci {
namespace {

using testing::Dir;
using testing::File;
using testing::Hardlink;
using testing::MakeTar;
using testing::ReadTar;
using testing::Symlink;
using testing::TarEntry;

class DiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("ocibuild-diff-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    rootfs_ = dir_->path() + "/rootfs";
    ASSERT_EQ(::mkdir(rootfs_.c_str(), 0755), 0);
    root_ = std::make_unique<RootDir>(std::move(*RootDir::Open(rootfs_)));
    UniqueFd fd(testing::FdOf(
        dir_->path(),
        MakeTar({Dir("etc/"), File("etc/passwd", "root:x:0:0"), File("etc/group", "root:x:0:"),
                 Dir("etc/ssl/"), File("etc/ssl/cert", "CERT"), Dir("var/"), Dir("var/cache/"),
                 File("var/cache/a", "a"), File("var/cache/b", "b"), Dir("usr/bin/"),
                 File("usr/bin/tool", "v1", 0755), Hardlink("usr/bin/tool2", "usr/bin/tool"),
                 Symlink("bin", "usr/bin"), File("home", "file", 0644, 1000, 1000)})));
    auto r = ApplyLayer(*root_, store_, fd.get());
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto snap = Snapshot::Take(*root_, store_);
    ASSERT_TRUE(snap.ok());
    before_ = std::make_unique<Snapshot>(std::move(*snap));
  }
  std::vector<std::string> Changes() {
    auto c = Diff(*before_, *root_, store_);
    EXPECT_TRUE(c.ok()) << c.error().message;
    std::vector<std::string> out;
    for (const auto& x : *c) out.push_back(TarName(x));
    return out;
  }
  std::string P(const std::string& rel) { return rootfs_ + "/" + rel; }
  // Each path of `snap` with its lstat now, as a restore hands them to FromStats.
  void LstatEach(const Snapshot& snap, std::vector<std::pair<std::string, struct stat>>* stats) {
    for (const auto& [path, n] : snap.nodes()) {
      struct stat st;
      ASSERT_EQ(::lstat((path.empty() ? rootfs_ : P(path)).c_str(), &st), 0) << path;
      stats->emplace_back(path, st);
    }
  }
  // As a restored tree topped up: the tree's stats taken, `layer` unpacked on top listing its
  // paths, the stats brought up to date with them. When that says it is exact, the snapshot
  // from those stats must be the one a walk takes now.
  void ExpectTopUp(const std::vector<TarEntry>& layer, bool want_exact) {
    ExpectTopUps({layer}, want_exact);
  }
  // The same with several layers, decided as the stage workspace does: only when none removed
  // anything is RestatChanged asked.
  void ExpectTopUps(const std::vector<std::vector<TarEntry>>& layers, bool want_exact) {
    auto walked = Snapshot::Take(*root_, store_);
    ASSERT_TRUE(walked.ok());
    std::vector<std::pair<std::string, struct stat>> stats;
    LstatEach(*walked, &stats);
    std::vector<std::string> written;
    bool removed = false;
    for (const auto& layer : layers) {
      UniqueFd fd(testing::FdOf(dir_->path(), MakeTar(layer)));
      ApplyOptions ao;
      ao.list_paths = true;
      auto r = ApplyLayer(*root_, store_, fd.get(), ao);
      ASSERT_TRUE(r.ok()) << r.error().message;
      removed |= r->RemovedAnything();
      written.insert(written.end(), r->paths.begin(), r->paths.end());
    }
    bool exact = false;
    if (!removed) {
      auto r = Snapshot::RestatChanged(*root_, &stats, written);
      ASSERT_TRUE(r.ok()) << r.error().message;
      exact = *r;
    }
    ASSERT_EQ(exact, want_exact);
    if (!exact) return;
    Snapshot::WaitPastRacyWindow(stats);
    auto from = Snapshot::FromStats(*root_, store_, std::move(stats));
    ASSERT_TRUE(from.ok()) << from.error().message;
    auto after = Snapshot::Take(*root_, store_);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(from->size(), after->size());
    for (const auto& [path, want] : after->nodes()) {
      const NodeState* n = from->Find(path);
      ASSERT_NE(n, nullptr) << path;
      EXPECT_TRUE(n->SameStat(want)) << path;
      EXPECT_EQ(n->nlink, want.nlink) << path;
    }
  }
  std::string Aside() { return dir_->path() + "/aside"; }  // outside the tree, same filesystem

  std::unique_ptr<TempDir> dir_;
  std::string rootfs_;
  std::unique_ptr<RootDir> root_;
  MetaStore store_;
  std::unique_ptr<Snapshot> before_;
};

TEST_F(DiffTest, UnchangedTreeGivesAnEmptyLayer) {
  auto c = Diff(*before_, *root_, store_);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->empty());
  std::string blob;
  auto r = WriteLayer(*root_, store_, *c, {}, [&](std::string_view d) {
    blob.append(d);
    return Ok();
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->entries, 0u);
  EXPECT_EQ(r->uncompressed_size, 1024u);  // just the two end-of-archive blocks
  EXPECT_TRUE(ReadTar(blob)->empty());
}

TEST_F(DiffTest, ReportsExactlyTheChanges) {
  ASSERT_TRUE(WriteFile(P("etc/passwd"), "root:y:0:0").ok());  // same size, new content
  ASSERT_TRUE(WriteFile(P("var/new"), "new").ok());            // added
  ASSERT_EQ(::unlink(P("var/cache/b").c_str()), 0);            // deleted
  // Directory replaced by a new one (made first, so it cannot reuse the old inode number): diffed
  // as the same directory, whatever its inode, so the layer does not depend on inode reuse.
  ASSERT_TRUE(MakeDirs(P("newssl")).ok());
  ASSERT_TRUE(WriteFile(P("newssl/other"), "x").ok());
  ASSERT_TRUE(RemoveAll(P("etc/ssl")).ok());
  ASSERT_EQ(::rename(P("newssl").c_str(), P("etc/ssl").c_str()), 0);
  ASSERT_EQ(::unlink(P("bin").c_str()), 0);  // symlink retargeted
  ASSERT_EQ(::symlink("usr/sbin", P("bin").c_str()), 0);
  EXPECT_EQ(Changes(), (std::vector<std::string>{"bin", "etc", "etc/passwd", "etc/ssl",
                                                 "etc/ssl/.wh.cert", "etc/ssl/other", "var",
                                                 "var/cache", "var/cache/.wh.b", "var/new"}));
}

// A snapshot made from stats the caller took hashes the files a walk would hash, and only
// those: here the unpacked tree has aged past the racy window, and one file is changed "now" (its
// mtime set ahead, so that it stays racy however slowly the test runs).
TEST_F(DiffTest, ASnapshotFromStatsHashesRacyFilesAsAWalkDoes) {
  ::usleep(30'000);
  ASSERT_TRUE(WriteFile(P("etc/new"), "fresh").ok());
  struct timespec ahead[2] = {{0, UTIME_OMIT}, {::time(nullptr) + 3600, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, P("etc/new").c_str(), ahead, 0), 0);
  auto walked = Snapshot::Take(*root_, store_);
  ASSERT_TRUE(walked.ok());
  std::vector<std::pair<std::string, struct stat>> stats;
  LstatEach(*walked, &stats);
  auto from = Snapshot::FromStats(*root_, store_, std::move(stats));
  ASSERT_TRUE(from.ok()) << from.error().message;
  ASSERT_EQ(from->size(), walked->size());
  ASSERT_NE(from->Find("etc/new"), nullptr);
  EXPECT_FALSE(from->Find("etc/new")->racy_hash.empty());
  EXPECT_TRUE(from->Find("etc/passwd")->racy_hash.empty());
  for (const auto& [path, want] : walked->nodes()) {
    const NodeState* n = from->Find(path);
    ASSERT_NE(n, nullptr) << path;
    EXPECT_TRUE(n->SameStat(want)) << path;
    EXPECT_EQ(n->racy_hash, want.racy_hash) << path;
  }
}

// After WaitPastRacyWindow, a snapshot from the stats hashes nothing, even a file written just
// before the stats were taken (the restore's last link).
TEST_F(DiffTest, WaitingPastTheRacyWindowLeavesNoFileRacy) {
  ASSERT_TRUE(WriteFile(P("etc/just-now"), "fresh").ok());
  std::vector<std::pair<std::string, struct stat>> stats;
  for (const char* path : {"", "etc", "etc/passwd", "etc/just-now"}) {
    struct stat st;
    ASSERT_EQ(::lstat((*path ? P(path) : rootfs_).c_str(), &st), 0) << path;
    stats.emplace_back(path, st);
  }
  Snapshot::WaitPastRacyWindow(stats);
  auto from = Snapshot::FromStats(*root_, store_, stats);
  ASSERT_TRUE(from.ok()) << from.error().message;
  for (const auto& [path, st] : stats) EXPECT_TRUE(from->Find(path)->racy_hash.empty()) << path;
}

// New files below directories the layer does not list, a file overwritten whose old inode keeps
// another name (usr/bin/tool2), a hardlink to a lower file, new owners, "./" names.
TEST_F(DiffTest, StatsToppedUpWithALayersPathsAreTheSnapshotAWalkTakes) {
  ExpectTopUp({File("new/deep/file", "x"), File("etc/passwd", "root:y:0:0", 0600, 0, 42),
               File("usr/bin/tool", "v2", 0755), Hardlink("etc/a-too", "var/cache/a"),
               Symlink("etc/s", "x"), File("./etc/dot", "d"), Dir("var/")},
              true);
}

// A path through a symlink (bin -> usr/bin) lands elsewhere, and a directory replaced by a file
// takes its subtree with it: neither can be brought up to date by name, so a walk must follow.
TEST_F(DiffTest, StatsAreNotToppedUpThroughASymlinkOrOverARemovedSubtree) {
  ExpectTopUp({File("bin/through-link", "x")}, false);
  ExpectTopUp({File("etc/ssl", "now a file")}, false);
}

// A directory replaced by a file in one layer and by a directory again in the next: it is a
// directory before and after, but what was below it (etc/ssl/cert) is gone, with no whiteout.
TEST_F(DiffTest, StatsAreNotToppedUpOverASubtreeThatWentAndCameBack) {
  ExpectTopUps({{File("etc/ssl", "now a file")}, {Dir("etc/ssl/"), File("etc/ssl/new", "n")}},
               false);
}

// The same within one layer (a name listed twice), and a symlink replaced by a directory after
// a layer wrote through it.
TEST_F(DiffTest, StatsAreNotToppedUpOverNamesAnEntryReplaced) {
  ExpectTopUp({File("etc/ssl", "now a file"), Dir("etc/ssl/")}, false);
}

TEST_F(DiffTest, StatsAreNotToppedUpOverASymlinkLaterReplaced) {
  ExpectTopUps({{File("bin/x", "via link")}, {Dir("bin/"), File("bin/y", "y")}}, false);
}

TEST_F(DiffTest, ADirectoryMadeAgainGivesTheSameLayerWhetherOrNotItsInodeWasReused) {
  // `rm -rf d && mkdir d`: the filesystem may or may not hand the new directory the old number.
  struct stat old_st;
  ASSERT_EQ(::lstat(P("var/cache").c_str(), &old_st), 0);
  ASSERT_TRUE(MakeDirs(P("fresh")).ok());                           // holds a new inode number
  ASSERT_EQ(::rename(P("var/cache").c_str(), Aside().c_str()), 0);  // for the second half
  ASSERT_EQ(::rename(P("fresh").c_str(), P("var/cache").c_str()), 0);
  ASSERT_TRUE(WriteFile(P("var/cache/n"), "n").ok());
  std::vector<std::string> want{"var", "var/cache", "var/cache/.wh.a", "var/cache/.wh.b",
                                "var/cache/n"};
  EXPECT_EQ(Changes(), want);
  // A reused inode number looks to the differ like the old directory emptied in place: undo the
  // replacement and do that instead. The layer must be the same.
  ASSERT_TRUE(RemoveAll(P("var/cache")).ok());
  ASSERT_EQ(::rename(Aside().c_str(), P("var/cache").c_str()), 0);
  ASSERT_EQ(::unlink(P("var/cache/a").c_str()), 0);
  ASSERT_EQ(::unlink(P("var/cache/b").c_str()), 0);
  ASSERT_TRUE(WriteFile(P("var/cache/n"), "n").ok());
  struct stat st;
  ASSERT_EQ(::lstat(P("var/cache").c_str(), &st), 0);
  ASSERT_EQ(st.st_ino, old_st.st_ino);
  EXPECT_EQ(Changes(), want);
}

TEST_F(DiffTest, StoreOnlyChangesShowUp) {
  // A RUN `chown 1000 /etc/group` recorded by the sandbox touches nothing on disk.
  struct stat st;
  ASSERT_EQ(::lstat(P("etc/group").c_str(), &st), 0);
  FileMeta m = store_.Effective(st);
  m.uid = 1000;
  store_.Set(st.st_ino, m);
  EXPECT_EQ(Changes(), (std::vector<std::string>{"etc", "etc/group"}));
}

TEST_F(DiffTest, ContentChangeWithRestoredMtimeIsCaught) {
  // kaniko's mtime-only detection misses this; ctime cannot be set back.
  struct stat st;
  ASSERT_EQ(::lstat(P("var/cache/a").c_str(), &st), 0);
  ASSERT_TRUE(WriteFile(P("var/cache/a"), "A").ok());
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, P("var/cache/a").c_str(), ts, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ(Changes(), (std::vector<std::string>{"var", "var/cache", "var/cache/a"}));
}

TEST_F(DiffTest, HardlinkedFileChangesBothNamesAndIsOneInodeInTheLayer) {
  ASSERT_TRUE(WriteFile(P("usr/bin/tool"), "v2").ok());
  auto c = Diff(*before_, *root_, store_);
  ASSERT_TRUE(c.ok());
  std::string blob;
  ASSERT_TRUE(WriteLayer(*root_, store_, *c, {}, [&](std::string_view d) {
                blob.append(d);
                return Ok();
              }).ok());
  auto entries = ReadTar(blob);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 4u);
  EXPECT_EQ((*entries)[2].name, "usr/bin/tool");
  EXPECT_EQ((*entries)[2].data, "v2");
  EXPECT_EQ((*entries)[3].name, "usr/bin/tool2");
  EXPECT_EQ((*entries)[3].hardlink, "usr/bin/tool");
}

TEST_F(DiffTest, DirectoryBecomingAFileAndBack) {
  ASSERT_TRUE(RemoveAll(P("var/cache")).ok());
  ASSERT_TRUE(WriteFile(P("var/cache"), "file").ok());
  ASSERT_EQ(::unlink(P("home").c_str()), 0);
  ASSERT_TRUE(MakeDirs(P("home/app")).ok());
  EXPECT_EQ(Changes(), (std::vector<std::string>{"home", "home/app", "var", "var/cache"}));
}

TEST_F(DiffTest, DiffLayerAppliedOnTheBaseReproducesTheTree) {
  ASSERT_TRUE(WriteFile(P("etc/passwd"), "changed passwd").ok());
  ASSERT_TRUE(RemoveAll(P("var/cache")).ok());
  ASSERT_TRUE(WriteFile(P("new"), "n").ok());
  struct stat st;
  ASSERT_EQ(::lstat(P("etc/group").c_str(), &st), 0);
  FileMeta m = store_.Effective(st);
  m.mode = S_IFREG | 0600;
  m.gid = 42;
  store_.Set(st.st_ino, m);
  Snapshot after;
  auto c = Diff(*before_, *root_, store_, &after);
  ASSERT_TRUE(c.ok());
  std::string blob_path = dir_->path() + "/diff.tar.gz";
  ASSERT_TRUE(WriteLayerFile(*root_, store_, *c, {}, blob_path).ok());

  // A second rootfs: the base layer again, then the diff.
  std::string other = dir_->path() + "/other";
  MetaStore other_store;
  UniqueFd base(testing::FdOf(
      dir_->path(),
      MakeTar({Dir("etc/"), File("etc/passwd", "root:x:0:0"), File("etc/group", "root:x:0:"),
               Dir("etc/ssl/"), File("etc/ssl/cert", "CERT"), Dir("var/"), Dir("var/cache/"),
               File("var/cache/a", "a"), File("var/cache/b", "b"), Dir("usr/bin/"),
               File("usr/bin/tool", "v1", 0755), Hardlink("usr/bin/tool2", "usr/bin/tool"),
               Symlink("bin", "usr/bin"), File("home", "file", 0644, 1000, 1000)})));
  ASSERT_EQ(::mkdir(other.c_str(), 0755), 0);
  auto oroot = RootDir::Open(other);
  ASSERT_TRUE(ApplyLayer(*oroot, other_store, base.get()).ok());
  ASSERT_TRUE(ApplyLayerFile(other, other_store, blob_path).ok());
  EXPECT_FALSE(PathExists(other + "/var/cache"));
  EXPECT_EQ(*ReadFile(other + "/etc/passwd"), "changed passwd");
  ASSERT_EQ(::lstat((other + "/etc/group").c_str(), &st), 0);
  EXPECT_EQ(other_store.Effective(st).mode, S_IFREG | 0600u);
  EXPECT_EQ(other_store.Effective(st).gid, 42u);
  // And both trees now write the same full layer.
  auto full = [](const RootDir& r, const MetaStore& s) {
    auto snap = Snapshot::Take(r, s);
    std::vector<LayerChange> all;
    for (auto& p : snap->Paths()) all.push_back({LayerChange::Kind::kPath, p});
    LayerWriteOptions o;
    o.compression = Compression::kNone;
    o.source_date_epoch = 0;  // mtimes of directories differ between the two histories
    std::string blob;
    EXPECT_TRUE(WriteLayer(r, s, all, o, [&](std::string_view d) {
                  blob.append(d);
                  return Ok();
                }).ok());
    return blob;
  };
  EXPECT_EQ(full(*root_, store_), full(*oroot, other_store));
}

}  // namespace
}  // namespace ocibuild::oci
