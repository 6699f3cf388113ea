#include "builder/trash.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <future>
#include <thread>

#include "builder/rootfs_cache.h"
#include "util/fs.h"

namespace ocibuild::builder {
namespace {

class TrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("trash-test-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    root_ = tmp_->path();
    ASSERT_TRUE(MakeDirs(JoinPath(root_, "work"), 0700).ok());
  }

  // A scratch tree: `n` files that each have a second name in keep/ (as a tree restored from
  // the unpacked-tree cache has), a read-only directory, a symlink.
  std::string MakeTree(const std::string& name, int n) {
    std::string dir = JoinPath(JoinPath(root_, "work"), name);
    std::string keep = JoinPath(root_, "keep-" + name);
    EXPECT_TRUE(MakeDirs(JoinPath(dir, "flat")).ok());
    EXPECT_TRUE(MakeDirs(keep).ok());
    EXPECT_TRUE(MakeDirs(JoinPath(dir, "ro/sub")).ok());
    EXPECT_TRUE(WriteFile(JoinPath(dir, "ro/sub/f"), "x").ok());
    EXPECT_EQ(::chmod(JoinPath(dir, "ro/sub").c_str(), 0555), 0);
    EXPECT_EQ(::chmod(JoinPath(dir, "ro").c_str(), 0555), 0);
    EXPECT_EQ(::symlink("/nonexistent", JoinPath(dir, "link").c_str()), 0);
    for (int i = 0; i < n; ++i) {
      std::string f = JoinPath(keep, std::to_string(i));
      EXPECT_TRUE(WriteFile(f, "").ok());
      EXPECT_EQ(::link(f.c_str(), JoinPath(dir, "flat/" + std::to_string(i)).c_str()), 0);
    }
    return dir;
  }

  size_t Names(const std::string& dir) {
    UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY));
    if (!fd) return 0;
    auto names = ReadDirNames(fd.get(), dir);
    return names.ok() ? names->size() : 0;
  }

  // The trash entry's flat/ directory (there is one entry).
  std::string TrashFlat() {
    std::string trash = TrashDir(root_);
    UniqueFd fd(::open(trash.c_str(), O_PATH | O_DIRECTORY));
    auto names = ReadDirNames(fd.get(), trash);
    for (const auto& n : *names)
      if (n[0] != '.') return JoinPath(JoinPath(trash, n), "flat");
    return "";
  }

  std::unique_ptr<TempDir> tmp_;
  std::string root_;
};

TEST_F(TrashTest, MovesAndDeletesWholeTrees) {
  std::string a = MakeTree("build-a", 10);
  std::string b = MakeTree("build-b", 10);
  EXPECT_FALSE(TrashHasEntries(root_));
  ASSERT_TRUE(MoveToTrash(root_, a).ok());
  ASSERT_TRUE(MoveToTrash(root_, b).ok());
  EXPECT_FALSE(PathExists(a));
  EXPECT_TRUE(TrashHasEntries(root_));
  auto n = EmptyTrash(root_);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(*n, 2u);
  EXPECT_FALSE(TrashHasEntries(root_));
  // The other names of the shared files are untouched.
  EXPECT_EQ(Names(JoinPath(root_, "keep-build-a")), 10u);
}

TEST_F(TrashTest, OneEmptierAtATimeDeletesEachEntryOnce) {
  for (int i = 0; i < 12; ++i)
    ASSERT_TRUE(MoveToTrash(root_, MakeTree("build-" + std::to_string(i), 200)).ok());
  auto run = [&] { return EmptyTrash(root_); };
  auto f1 = std::async(std::launch::async, run);
  auto f2 = std::async(std::launch::async, run);
  auto r1 = f1.get(), r2 = f2.get();
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(*r1 + *r2, 12u);
  EXPECT_TRUE(*r1 == 0 || *r2 == 0) << *r1 << " and " << *r2 << ": both deleted";
  EXPECT_FALSE(TrashHasEntries(root_));
  // Not waiting: nothing to do while another emptier runs.
  ASSERT_TRUE(MoveToTrash(root_, MakeTree("build-x", 1)).ok());
  UniqueFd busy(::open(JoinPath(TrashDir(root_), ".lock").c_str(), O_RDWR));
  ASSERT_TRUE(busy);
  ASSERT_EQ(::flock(busy.get(), LOCK_EX), 0);
  EmptyTrashOptions nowait;
  nowait.wait = false;
  auto r3 = EmptyTrash(root_, nowait);
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(*r3, 0u);
  EXPECT_TRUE(TrashHasEntries(root_));
}

// While a build uses the unpacked-tree cache, no name of a shared inode is unlinked: that would
// move the ctime the build's snapshots and guards compare.
TEST_F(TrashTest, SharedNamesWaitForTheBuildThatHoldsTheCache) {
  std::string cache_dir = JoinPath(root_, "rootfs-cache");
  auto cache = RootfsCache::Open(cache_dir, 4, TrashDir(root_));
  ASSERT_TRUE(cache.ok() && *cache);
  ASSERT_TRUE(MoveToTrash(root_, MakeTree("build-a", 50)).ok());
  std::string flat = TrashFlat();
  auto f = std::async(std::launch::async, [&] { return EmptyTrash(root_); });
  EXPECT_EQ(f.wait_for(std::chrono::milliseconds(600)), std::future_status::timeout);
  EXPECT_EQ(Names(flat), 50u) << "shared names were unlinked while a build held the cache";
  cache->reset();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, 1u);
  EXPECT_FALSE(TrashHasEntries(root_));
}

// A build that starts while the emptier unlinks gets the cache (instead of building without
// it), and the emptier waits until that build is done.
TEST_F(TrashTest, AStartingBuildTakesTheCacheFromTheEmptier) {
  std::string cache_dir = JoinPath(root_, "rootfs-cache");
  ASSERT_TRUE(RootfsCache::Open(cache_dir, 4, TrashDir(root_)).ok());  // made, and unlocked
  constexpr int kFiles = 30000;
  ASSERT_TRUE(MoveToTrash(root_, MakeTree("build-a", kFiles)).ok());
  std::string flat = TrashFlat();
  UniqueFd unlinking(
      ::open(JoinPath(TrashDir(root_), ".unlinking").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(unlinking);
  auto f = std::async(std::launch::async, [&] { return EmptyTrash(root_); });
  // Until the emptier holds the cache lock to unlink.
  bool seen = false;
  for (int i = 0; i < 20000 && !seen; ++i) {
    if (::flock(unlinking.get(), LOCK_SH | LOCK_NB) != 0) {
      seen = true;
    } else {
      ::flock(unlinking.get(), LOCK_UN);
      ::usleep(100);
    }
  }
  ASSERT_TRUE(seen) << "the emptier never unlinked under the cache lock";
  auto cache = RootfsCache::Open(cache_dir, 4, TrashDir(root_));
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  ASSERT_TRUE(*cache) << "the build did not get the cache from the emptier";
  size_t left = Names(flat);
  EXPECT_GT(left, 0u) << "the emptier finished first; the test proves nothing";
  ::usleep(300'000);
  EXPECT_EQ(Names(flat), left) << "the emptier unlinked while the build held the cache";
  cache->reset();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  ASSERT_TRUE(f.get().ok());
  EXPECT_FALSE(TrashHasEntries(root_));
}

// Builds back to back: past a backlog, a starting build waits for the emptier to finish (for a
// while), so the trash cannot grow without end.
TEST_F(TrashTest, ABacklogIsEmptiedBeforeTheNextBuildTakesTheCache) {
  std::string cache_dir = JoinPath(root_, "rootfs-cache");
  ASSERT_TRUE(RootfsCache::Open(cache_dir, 4, TrashDir(root_)).ok());  // made, and unlocked
  for (size_t i = 0; i <= RootfsCache::kTrashBacklog; ++i)
    ASSERT_TRUE(MoveToTrash(root_, MakeTree("build-" + std::to_string(i), 5000)).ok());
  UniqueFd unlinking(
      ::open(JoinPath(TrashDir(root_), ".unlinking").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(unlinking);
  UniqueFd cache_lock(::open(JoinPath(cache_dir, RootfsCache::kLock).c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(cache_lock);
  auto held = [](int fd) {
    if (::flock(fd, LOCK_SH | LOCK_NB) != 0) return true;
    ::flock(fd, LOCK_UN);
    return false;
  };
  auto f = std::async(std::launch::async, [&] { return EmptyTrash(root_); });
  // The emptier takes "unlinking" before the cache lock: a build that asks in between gets the
  // cache at once, which is fine but is not what this test is about. Wait for both.
  bool seen = false;
  for (int i = 0; i < 20000 && !seen; ++i) {
    seen = held(unlinking.get()) && held(cache_lock.get());
    if (!seen) ::usleep(100);
  }
  ASSERT_TRUE(seen) << "the emptier never unlinked under the cache lock";
  auto t0 = std::chrono::steady_clock::now();
  auto cache = RootfsCache::Open(cache_dir, 4, TrashDir(root_));
  ASSERT_TRUE(cache.ok() && *cache);
  // (The emptier may have finished an entry or two before the build asked; on a machine too
  // busy to let it finish in time, the build asked for the lock after kBacklogWaitMs.)
  bool waited_out = std::chrono::steady_clock::now() - t0 >=
                    std::chrono::milliseconds(RootfsCache::kBacklogWaitMs);
  if (!waited_out) {
    EXPECT_LE(Names(TrashDir(root_)) - 3, RootfsCache::kTrashBacklog)
        << "the build took the cache with a backlog left";
  }
  cache->reset();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  auto r = f.get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, RootfsCache::kTrashBacklog + 1);
}

// An emptier that gets no CPU (nice 19 beside a busy compiler) must not hold a build up for
// as long as it takes: the build waits a bounded time, then goes on without the cache.
TEST_F(TrashTest, AStarvedEmptierHoldsTheNextBuildUpOnlyForAWhile) {
  std::string cache_dir = JoinPath(root_, "rootfs-cache");
  ASSERT_TRUE(RootfsCache::Open(cache_dir, 4, TrashDir(root_)).ok());
  for (size_t i = 0; i <= RootfsCache::kTrashBacklog; ++i)
    ASSERT_TRUE(MoveToTrash(root_, MakeTree("build-" + std::to_string(i), 1)).ok());
  // An emptier stuck in its slice: it holds the cache lock and says it is unlinking.
  UniqueFd lock(::open(JoinPath(cache_dir, RootfsCache::kLock).c_str(), O_RDWR | O_CLOEXEC));
  UniqueFd unlinking(::open(JoinPath(TrashDir(root_), RootfsCache::kUnlinkingLock).c_str(),
                            O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  ASSERT_TRUE(lock && unlinking);
  ASSERT_EQ(::flock(unlinking.get(), LOCK_EX), 0);
  ASSERT_EQ(::flock(lock.get(), LOCK_EX), 0);
  // What the build got: -1 an error, 0 no cache, 1 the cache.
  auto f = std::async(std::launch::async, [&] {
    auto c = RootfsCache::Open(cache_dir, 4, TrashDir(root_));
    return !c.ok() ? -1 : *c ? 1 : 0;
  });
  ASSERT_EQ(f.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "the build waited for the emptier to finish";
  EXPECT_EQ(f.get(), 0) << "the cache lock is the emptier's";
}

// `rm -rf $OCIBUILD_ROOT` right after a build races with the emptier: it must not make files
// in a trash that is being removed (rmdir would fail with ENOTEMPTY).
TEST_F(TrashTest, TheEmptierMakesNoFileInATrashBeingRemoved) {
  ASSERT_TRUE(MakeDirs(JoinPath(root_, "rootfs-cache"), 0700).ok());
  ASSERT_TRUE(MoveToTrash(root_, MakeTree("build-a", 10)).ok());
  std::string trash = TrashDir(root_);
  for (const char* n : {".lock", ".unlinking", ".waiting"})
    ASSERT_EQ(::unlink(JoinPath(trash, n).c_str()), 0) << n;
  auto r = EmptyTrash(root_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (const char* n : {".lock", ".unlinking", ".waiting"})
    EXPECT_FALSE(PathExists(JoinPath(trash, n))) << n << " was made again";
  // With the trash lock but the cache's gone: shared names stay, nothing is made either.
  UniqueFd l(::open(JoinPath(trash, ".lock").c_str(), O_RDWR | O_CREAT, 0600));
  r = EmptyTrash(root_);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(PathExists(JoinPath(trash, ".unlinking")));
  EXPECT_TRUE(TrashHasEntries(root_));
}

TEST_F(TrashTest, EvictedCacheEntriesGoToTheTrash) {
  std::string cache_dir = JoinPath(root_, "rootfs-cache");
  ASSERT_TRUE(MakeDirs(JoinPath(cache_dir, "0123/nodes"), 0700).ok());
  ASSERT_TRUE(MakeDirs(JoinPath(cache_dir, "tmp-xyz"), 0700).ok());
  auto cache = RootfsCache::Open(cache_dir, 0, TrashDir(root_));
  ASSERT_TRUE(cache.ok() && *cache);
  EXPECT_FALSE(PathExists(JoinPath(cache_dir, "0123")));
  EXPECT_FALSE(PathExists(JoinPath(cache_dir, "tmp-xyz")));
  EXPECT_EQ(Names(TrashDir(root_)), 2u + 3u);  // and the lock files
  EXPECT_TRUE(TrashHasEntries(root_));
}

}  // namespace
}  // namespace ocibuild::builder
