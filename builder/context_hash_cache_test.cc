#include "builder/context_hash_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <thread>
#include <tuple>
#include <vector>

#include "util/fs.h"

namespace ocibuild::builder {
namespace {

FileStamp Stamp(uint64_t ino, int64_t ctime_ns) {
  FileStamp s;
  s.dev = 1;
  s.ino = ino;
  s.size = 10;
  s.mtime_ns = ctime_ns;
  s.ctime_ns = ctime_ns;
  return s;
}

constexpr int64_t kSec = 1'000'000'000;

// A fresh directory for the tests' cache file.
class ContextHashCacheFile : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("ctxhash-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    file_ = JoinPath(dir_->path(), "h");
  }
  // Records `entries` (name, inode, ctime) in a cache backed by the file and saves it.
  void SaveWith(const std::vector<std::tuple<std::string, uint64_t, int64_t>>& entries) {
    ContextHashCache c(file_);
    for (const auto& [rel, ino, ctime] : entries) c.Record(rel, Stamp(ino, ctime), rel + rel, now_);
    ASSERT_TRUE(c.Save().ok());
  }
  std::unique_ptr<TempDir> dir_;
  std::string file_;
  int64_t now_ = ContextHashCache::Now();
};

TEST_F(ContextHashCacheFile, AHashOutlivesTheBuildOnlyWhileItsStampHolds) {
  SaveWith({{"a", 1, now_ - 10 * kSec}});
  ContextHashCache c(file_);
  EXPECT_EQ(c.Find("a", Stamp(1, now_ - 10 * kSec)), "aa");
  // Any field of the stamp changed (a rewrite moves ctime; a replacement changes the inode).
  EXPECT_EQ(c.Find("a", Stamp(1, now_ - 9 * kSec)), std::nullopt);
  EXPECT_EQ(c.Find("a", Stamp(1, now_ - 10 * kSec)), std::nullopt) << "a mismatch forgets it";
}

TEST_F(ContextHashCacheFile, AFileChangedJustBeforeItWasReadIsNotKept) {
  {
    ContextHashCache c(file_);
    // Written within the racy window before its lstat: a second write in the same timestamp
    // tick would keep the stamp, so only this build may use the hash.
    c.Record("racy", Stamp(2, now_ - kSec), "rrrr", now_);
    EXPECT_EQ(c.Find("racy", Stamp(2, now_ - kSec)), "rrrr");
    c.Record("old", Stamp(3, now_ - 3 * kSec), "oooo", now_);
    ASSERT_TRUE(c.Save().ok());
  }
  ContextHashCache c(file_);
  EXPECT_EQ(c.Find("racy", Stamp(2, now_ - kSec)), std::nullopt);
  EXPECT_EQ(c.Find("old", Stamp(3, now_ - 3 * kSec)), "oooo");
}

TEST_F(ContextHashCacheFile, TheFirstBuildWritesTheFileEvenWhenNothingIsOldEnoughToKeep) {
  // A state directory should hold the same files after a first build as after the next one
  // (BuildKit's testNoSnapshotLeak): all-racy first builds must not defer the file's creation.
  {
    ContextHashCache c(file_);
    c.Record("racy", Stamp(2, now_ - kSec), "rrrr", now_);
    ASSERT_TRUE(c.Save().ok());
  }
  ASSERT_TRUE(PathExists(file_));
  EXPECT_EQ(ContextHashCache(file_).size(), 0u);
}

TEST_F(ContextHashCacheFile, ADamagedFileIsIgnored) {
  SaveWith({{"a", 1, now_ - 10 * kSec}});
  EXPECT_EQ(ContextHashCache(file_).size(), 1u);
  auto data = ReadFile(file_);
  ASSERT_TRUE(data.ok());
  std::string bad = *data;
  bad[bad.size() / 2] ^= 1;
  ASSERT_TRUE(WriteFile(file_, bad).ok());
  EXPECT_EQ(ContextHashCache(file_).size(), 0u);
  ASSERT_TRUE(WriteFile(file_, data->substr(0, data->size() - 5)).ok());
  EXPECT_EQ(ContextHashCache(file_).size(), 0u);
}

TEST(ContextHashCache, ConcurrentStagesShareIt) {
  ContextHashCache c;
  int64_t now = ContextHashCache::Now();
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        std::string rel = "f" + std::to_string(i % 97);
        if (!c.Find(rel, Stamp(static_cast<uint64_t>(i % 97), now - 10 * kSec)))
          c.Record(rel, Stamp(static_cast<uint64_t>(i % 97), now - 10 * kSec),
                   "h" + std::to_string(t), now);
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.size(), 97u);
  EXPECT_TRUE(c.Save().ok()) << "in memory only: nothing to write";
}

TEST(ContextHashCache, OneFilePerContextAndOnlyTheRecentOnesKept) {
  auto dir = TempDir::Create("ctxhash-");
  ASSERT_TRUE(dir.ok());
  std::string a = JoinPath(dir->path(), "ctx-a"), b = JoinPath(dir->path(), "ctx-b");
  ASSERT_TRUE(MakeDirs(a).ok());
  ASSERT_TRUE(MakeDirs(b).ok());
  auto fa = ContextHashFile(dir->path(), a), fa2 = ContextHashFile(dir->path(), a + "/./");
  auto fb = ContextHashFile(dir->path(), b);
  ASSERT_TRUE(fa.ok() && fa2.ok() && fb.ok());
  EXPECT_EQ(*fa, *fa2);
  EXPECT_NE(*fa, *fb);
  for (size_t i = 0; i < kMaxContexts + 5; ++i) {
    std::string f = JoinPath(JoinPath(dir->path(), "context-hashes"), "old" + std::to_string(i));
    ASSERT_TRUE(WriteFile(f, "x").ok());
    struct timespec ts[2] = {{1000 + static_cast<time_t>(i), 0},
                             {1000 + static_cast<time_t>(i), 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, f.c_str(), ts, 0), 0);
  }
  ASSERT_TRUE(WriteFile(*fa, "x").ok());
  ASSERT_TRUE(ContextHashFile(dir->path(), a).ok());
  auto dfd = OpenFile(JoinPath(dir->path(), "context-hashes"), O_RDONLY | O_DIRECTORY);
  ASSERT_TRUE(dfd.ok());
  auto names = ReadDirNames(dfd->get(), "context-hashes");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), kMaxContexts);
  EXPECT_TRUE(PathExists(*fa)) << "the context in use is the newest";
  EXPECT_FALSE(PathExists(JoinPath(JoinPath(dir->path(), "context-hashes"), "old0")));
}

}  // namespace
}  // namespace ocibuild::builder
