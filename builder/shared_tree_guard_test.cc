#include "builder/shared_tree_guard.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/rootfs_cache.h"
#include "builder/sandbox/copy_up.h"
#include "builder/tree_watch.h"
#include "oci/digest.h"
#include "oci/snapshot.h"
#include "util/fs.h"

namespace ocibuild::builder {
namespace {

// A tree saved to the cache: its files share their inodes with the entry. Each case runs with
// the guard looking every shared inode up in the cache, and with it reading snapshots of the tree.
class SharedTreeGuardTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    auto tmp = TempDir::Create("ocibuild-guard-");
    ASSERT_TRUE(tmp.ok());
    tmp_ = std::move(*tmp);
    root_ = JoinPath(tmp_.path(), "rootfs");
    ASSERT_TRUE(MakeDirs(JoinPath(root_, "usr/bin")).ok());
    ASSERT_TRUE(WriteFile(JoinPath(root_, "usr/bin/gcc"), "the compiler\n", 0755).ok());
    ASSERT_TRUE(WriteFile(JoinPath(root_, "usr/bin/ld"), "the linker\n", 0755).ok());
    auto cache = RootfsCache::Open(JoinPath(tmp_.path(), "cache"));
    ASSERT_TRUE(cache.ok() && *cache);
    cache_ = std::move(*cache);
    chain_ = {oci::Digest::OfBytes("layer")};
    ASSERT_TRUE(cache_->Save(chain_, root_, store_, &shared_).ok());
    ASSERT_EQ(shared_.size(), 2u);
  }

  // Writes the first bytes of `path` in place; with `times`, puts its times back after.
  static void WriteInPlace(const std::string& path, const struct stat* times) {
    UniqueFd fd(::open(path.c_str(), O_WRONLY));
    ASSERT_TRUE(fd);
    ASSERT_EQ(::pwrite(fd.get(), "THE", 3, 0), 3);
    if (times) {
      struct timespec ts[2] = {times->st_atim, times->st_mtim};
      ASSERT_EQ(::futimens(fd.get(), ts), 0);
    }
  }
  // The tree as it is now, when the case reads snapshots.
  std::optional<oci::Snapshot> Snap() {
    if (!GetParam()) return std::nullopt;
    auto root = oci::RootDir::Open(root_);
    EXPECT_TRUE(root.ok());
    auto snap = oci::Snapshot::Take(*root, store_);
    EXPECT_TRUE(snap.ok());
    return std::move(*snap);
  }
  Result<SharedTreeGuard> Arm() {
    auto snap = Snap();
    return SharedTreeGuard::Arm(shared_, cache_->NodesDirs(chain_), snap ? &*snap : nullptr);
  }
  std::vector<uint64_t> Changed(const SharedTreeGuard& g, std::vector<CopyUpRecord> cu = {}) {
    auto snap = Snap();
    auto c = g.Changed(cu, snap ? &*snap : nullptr);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? *c : std::vector<uint64_t>{};
  }

  TempDir tmp_ = std::move(*TempDir::Create("ocibuild-guard-unused-"));
  std::string root_;
  std::unique_ptr<RootfsCache> cache_;
  std::vector<oci::Digest> chain_;
  oci::MetaStore store_;
  std::unordered_set<uint64_t> shared_;
};

TEST_P(SharedTreeGuardTest, UntouchedTreeIsIntact) {
  auto g = Arm();
  ASSERT_TRUE(g.ok());
  // Reading changes nothing.
  EXPECT_EQ(*ReadFile(JoinPath(root_, "usr/bin/gcc")), "the compiler\n");
  EXPECT_TRUE(Changed(*g).empty());
}

TEST_P(SharedTreeGuardTest, WriteInPlaceIsSeenEvenWithItsTimesPutBack) {
  std::string gcc = JoinPath(root_, "usr/bin/gcc");
  struct stat before;
  ASSERT_EQ(::stat(gcc.c_str(), &before), 0);
  auto g = Arm();
  ASSERT_TRUE(g.ok());
  // What a sandbox bypass would do: write the shared inode, then restore size and times.
  WriteInPlace(gcc, &before);
  auto changed = Changed(*g);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0], before.st_ino);
}

TEST_P(SharedTreeGuardTest, CopyUpReportedByTheSandboxIsAccepted) {
  auto g = Arm();
  ASSERT_TRUE(g.ok());
  UniqueFd dir(::open(JoinPath(root_, "usr/bin").c_str(), O_PATH | O_DIRECTORY));
  sandbox::CopiedUp cu;
  ASSERT_EQ(sandbox::BreakSharedLink(dir.get(), "ld", true, &shared_, &cu), 0);
  ASSERT_NE(cu.to, 0u);
  EXPECT_EQ(*ReadFile(JoinPath(root_, "usr/bin/ld")), "the linker\n");
  CopyUpRecord rec{cu.from, cu.ctime_before, cu.ctime_after};
  EXPECT_TRUE(Changed(*g, {rec}).empty());
  // Unreported, the same change is a change in place.
  EXPECT_EQ(Changed(*g).size(), 1u);
  // A copy-up that started from another ctime than the armed one hides a change before it.
  CopyUpRecord forged{cu.from, cu.ctime_before + 1, cu.ctime_after};
  EXPECT_EQ(Changed(*g, {forged}).size(), 1u);
}

TEST_P(SharedTreeGuardTest, CopyUpLogRoundTrip) {
  std::string log = JoinPath(tmp_.path(), "log");
  EXPECT_TRUE(ReadCopyUpLog(log)->empty());  // no file: no copy-up
  ASSERT_TRUE(WriteFile(log, std::string(25, 'x')).ok());
  EXPECT_FALSE(ReadCopyUpLog(log).ok());  // truncated
}

TEST_P(SharedTreeGuardTest, AnInodeWhoseNamesAllWentIsLookedUpInTheCache) {
  std::string gcc = JoinPath(root_, "usr/bin/gcc");
  struct stat before;
  ASSERT_EQ(::stat(gcc.c_str(), &before), 0);
  auto g = Arm();
  ASSERT_TRUE(g.ok());
  // Written in place, then its only name in the tree removed: the snapshot no longer sees it.
  WriteInPlace(gcc, nullptr);
  ASSERT_EQ(::unlink(gcc.c_str()), 0);
  auto changed = Changed(*g);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0], before.st_ino);
}

// The same from what a watch of the tree saw (builder/tree_watch.h): the name now holds another
// inode, and the one it held, written in place before, is looked at all the same.
TEST_P(SharedTreeGuardTest, WrittenInPlaceThenReplacedIsSeenFromTheDelta) {
  std::string gcc = JoinPath(root_, "usr/bin/gcc");
  struct stat before_st;
  ASSERT_EQ(::stat(gcc.c_str(), &before_st), 0);
  auto root = oci::RootDir::Open(root_);
  ASSERT_TRUE(root.ok());
  auto before = oci::Snapshot::Take(*root, store_);
  ASSERT_TRUE(before.ok());
  auto g = SharedTreeGuard::Arm(shared_, cache_->NodesDirs(chain_), &*before);
  ASSERT_TRUE(g.ok());
  auto watch = TreeWatch::Start(root_, *before);
  ASSERT_TRUE(watch.ok()) << watch.error().message;
  WriteInPlace(gcc, nullptr);
  ASSERT_TRUE(WriteFile(gcc + ".new", "another compiler\n", 0755).ok());
  ASSERT_EQ(::rename((gcc + ".new").c_str(), gcc.c_str()), 0);
  auto seen = (*watch)->Finish();
  ASSERT_TRUE(seen.ok());
  auto delta = oci::Snapshot::Changes(*before, *root, store_, seen->restat, seen->rewalk);
  ASSERT_TRUE(delta.ok());
  auto changed = g->Changed({}, *before, *delta);
  ASSERT_TRUE(changed.ok());
  ASSERT_EQ(changed->size(), 1u);
  EXPECT_EQ((*changed)[0], before_st.st_ino);
}

TEST_P(SharedTreeGuardTest, ForeignLinksAreTheNamesOutsideTheTree) {
  std::string gcc = JoinPath(root_, "usr/bin/gcc"), ld = JoinPath(root_, "usr/bin/ld");
  // gcc has a second name in the tree; ld one in a finished stage's tree restored from the entry.
  ASSERT_EQ(::link(gcc.c_str(), JoinPath(root_, "usr/bin/cc").c_str()), 0);
  ASSERT_EQ(::link(ld.c_str(), JoinPath(tmp_.path(), "other-ld").c_str()), 0);
  struct stat g_st, l_st;
  ASSERT_EQ(::stat(gcc.c_str(), &g_st), 0);
  ASSERT_EQ(::stat(ld.c_str(), &l_st), 0);
  auto g = Arm();
  ASSERT_TRUE(g.ok());
  const auto& foreign = g->foreign_links();
  ASSERT_EQ(foreign.size(), 2u);
  EXPECT_EQ(foreign.at(g_st.st_ino), 1u);  // the entry's node
  // Only a snapshot of the tree tells the other tree's name from the tree's own.
  EXPECT_EQ(foreign.at(l_st.st_ino), GetParam() ? 2u : 1u);
}

INSTANTIATE_TEST_SUITE_P(LookedUpOrSnapshot, SharedTreeGuardTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Snapshot" : "LookedUp"; });

}  // namespace
}  // namespace ocibuild::builder
