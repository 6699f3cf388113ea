#include "builder/rootfs_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "oci/snapshot.h"
#include "util/fs.h"

namespace ocibuild::builder {
namespace {

struct Node {
  mode_t mode;
  off_t size;
  int64_t mtime;
  std::string content;  // file contents or symlink target
  bool operator==(const Node&) const = default;
};

// path -> what a reader of the tree sees (directory mtimes included).
std::map<std::string, Node> Describe(const std::string& root) {
  std::map<std::string, Node> out;
  std::vector<std::string> todo{""};
  while (!todo.empty()) {
    std::string rel = todo.back();
    todo.pop_back();
    std::string p = JoinPath(root, rel);
    UniqueFd fd(::open(p.c_str(), O_PATH | O_DIRECTORY));
    EXPECT_TRUE(fd) << p;
    auto names = ReadDirNames(fd.get(), p);
    EXPECT_TRUE(names.ok());
    for (const auto& n : *names) {
      std::string r = rel.empty() ? n : rel + "/" + n;
      std::string full = JoinPath(root, r);
      struct stat st;
      EXPECT_EQ(::lstat(full.c_str(), &st), 0);
      Node node{st.st_mode, S_ISDIR(st.st_mode) ? 0 : st.st_size, st.st_mtim.tv_sec, ""};
      if (S_ISREG(st.st_mode)) node.content = *ReadFile(full);
      if (S_ISLNK(st.st_mode)) {
        char buf[256];
        ssize_t k = ::readlink(full.c_str(), buf, sizeof buf);
        node.content.assign(buf, static_cast<size_t>(k));
      }
      if (S_ISDIR(st.st_mode)) todo.push_back(r);
      out[r] = node;
    }
  }
  return out;
}

ino_t Ino(const std::string& p) {
  struct stat st {};
  ::lstat(p.c_str(), &st);
  return st.st_ino;
}

class RootfsCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("rootfs-cache-test-");
    ASSERT_TRUE(d.ok());
    tmp_.emplace(std::move(*d));
    src_ = JoinPath(tmp_->path(), "src");
    ASSERT_TRUE(MakeDirs(JoinPath(src_, "etc/ssl"), 0755).ok());
    ASSERT_TRUE(MakeDirs(JoinPath(src_, "tmp"), 0755).ok());
    ASSERT_TRUE(MakeDirs(JoinPath(src_, "root"), 0755).ok());
    ASSERT_TRUE(WriteFile(JoinPath(src_, "etc/passwd"), "root:x:0:0::/root:/bin/sh\n").ok());
    ASSERT_TRUE(WriteFile(JoinPath(src_, "etc/ssl/key"), "secret", 0600).ok());
    ASSERT_EQ(::link(JoinPath(src_, "etc/passwd").c_str(), JoinPath(src_, "passwd-link").c_str()),
              0);
    ASSERT_EQ(::symlink("etc/passwd", JoinPath(src_, "sym").c_str()), 0);
    ASSERT_EQ(::chmod(JoinPath(src_, "root").c_str(), 0700), 0);
    xattrs_ = ::setxattr(JoinPath(src_, "etc").c_str(), "user.ocibuild-test", "v1", 2, 0) == 0;
    struct timespec old[2] = {{1000000, 0}, {1000000, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, JoinPath(src_, "etc").c_str(), old, 0), 0);
    // What the image says but the host cannot hold: a sticky world-writable dir, a foreign owner.
    store_.Set(Ino(JoinPath(src_, "tmp")), oci::FileMeta{0, 0, S_IFDIR | 01777, 0, {}});
    store_.Set(Ino(JoinPath(src_, "etc/ssl/key")), oci::FileMeta{101, 102, S_IFREG | 0600, 0, {}});
    cache_dir_ = JoinPath(tmp_->path(), "cache");
  }

  // A cache whose one entry is src_ as the tree of the chain one_.
  std::unique_ptr<RootfsCache> CacheHoldingSrc() {
    auto cache = RootfsCache::Open(cache_dir_);
    if (!cache.ok() || !*cache || !(*cache)->Save(one_, src_, store_, nullptr).ok()) return nullptr;
    return std::move(*cache);
  }

  std::string NewDir(const std::string& name) {
    std::string d = JoinPath(tmp_->path(), name);
    EXPECT_TRUE(MakeDirs(d, 0755).ok());
    return d;
  }

  std::optional<TempDir> tmp_;
  std::string src_, cache_dir_;
  bool xattrs_ = false;  // the filesystem holds user.* xattrs
  oci::MetaStore store_;
  std::vector<oci::Digest> chain_{oci::Digest::OfBytes("layer-1"), oci::Digest::OfBytes("layer-2"),
                                  oci::Digest::OfBytes("layer-3")};
  std::vector<oci::Digest> one_{chain_.front()};
};

TEST_F(RootfsCacheTest, RestoresTheLongestSavedPrefixAsTheSameTree) {
  auto cache = RootfsCache::Open(cache_dir_);
  ASSERT_TRUE(cache.ok()) << cache.error().message;
  ASSERT_TRUE(*cache);
  std::vector<oci::Digest> two(chain_.begin(), chain_.begin() + 2);
  ASSERT_TRUE((*cache)->Save(two, src_, store_, nullptr).ok());
  // Saving makes no directory but the entry's own two: inodes are what is slow to make.
  {
    std::string entry = JoinPath(cache_dir_, RootfsChainKey(two));
    UniqueFd e(::open(entry.c_str(), O_PATH | O_DIRECTORY));
    auto names = ReadDirNames(e.get(), entry);
    ASSERT_TRUE(names.ok());
    std::sort(names->begin(), names->end());
    EXPECT_EQ(*names,
              (std::vector<std::string>{"chain", "dirs", "id", "manifest", "meta", "nodes"}));
    std::string nodes = JoinPath(entry, "nodes");
    UniqueFd n(::open(nodes.c_str(), O_PATH | O_DIRECTORY));
    auto links = ReadDirNames(n.get(), nodes);
    ASSERT_TRUE(links.ok());
    EXPECT_EQ(links->size(), 3u);  // passwd (one inode, two paths in the tree), key, sym
    for (const auto& l : *links) {
      struct stat st;
      ASSERT_EQ(::lstat(JoinPath(nodes, l).c_str(), &st), 0);
      EXPECT_FALSE(S_ISDIR(st.st_mode)) << l;
    }
  }

  std::string dst = NewDir("dst");
  oci::MetaStore got;
  std::unordered_set<uint64_t> shared;
  auto k = (*cache)->RestoreLongest(chain_, dst, got, &shared);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(*k, 2u);
  EXPECT_EQ(Describe(dst), Describe(src_));
  // Files are the same inodes (no data copied); the image's hardlink stays one inode.
  EXPECT_EQ(Ino(JoinPath(dst, "etc/passwd")), Ino(JoinPath(src_, "etc/passwd")));
  EXPECT_EQ(Ino(JoinPath(dst, "passwd-link")), Ino(JoinPath(dst, "etc/passwd")));
  // The sandbox learns which inodes to copy up before a write: files, not directories.
  EXPECT_TRUE(shared.count(Ino(JoinPath(dst, "etc/passwd"))));
  EXPECT_TRUE(shared.count(Ino(JoinPath(dst, "sym"))));
  EXPECT_FALSE(shared.count(Ino(JoinPath(dst, "etc"))));
  if (xattrs_) {
    char v[8] = {};
    EXPECT_EQ(::getxattr(JoinPath(dst, "etc").c_str(), "user.ocibuild-test", v, sizeof v), 2);
    EXPECT_STREQ(v, "v1");
  }
  // Store entries follow: the file's by inode, the directory's to its new inode.
  ASSERT_NE(got.Find(Ino(JoinPath(dst, "etc/ssl/key"))), nullptr);
  EXPECT_EQ(got.Find(Ino(JoinPath(dst, "etc/ssl/key")))->uid, 101u);
  EXPECT_NE(Ino(JoinPath(dst, "tmp")), Ino(JoinPath(src_, "tmp")));
  ASSERT_NE(got.Find(Ino(JoinPath(dst, "tmp"))), nullptr);
  EXPECT_EQ(got.Find(Ino(JoinPath(dst, "tmp")))->mode, static_cast<uint32_t>(S_IFDIR | 01777));

  // No entry for a different chain.
  std::string other = NewDir("other");
  oci::MetaStore none;
  auto k2 = (*cache)->RestoreLongest({oci::Digest::OfBytes("elsewhere")}, other, none, nullptr);
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(*k2, 0u);
}

TEST_F(RootfsCacheTest, AnEntryWrittenInPlaceIsDroppedNotRestored) {
  std::unique_ptr<RootfsCache> cache = CacheHoldingSrc();
  ASSERT_TRUE(cache);
  std::string dst = NewDir("dst");
  oci::MetaStore got;
  ASSERT_EQ(*cache->RestoreLongest(one_, dst, got, nullptr), 1u);

  // A RUN step appending to a shared file changes the entry's inode as well.
  {
    UniqueFd fd(::open(JoinPath(dst, "etc/passwd").c_str(), O_WRONLY | O_APPEND));
    ASSERT_TRUE(fd);
    ASSERT_TRUE(WriteAll(fd.get(), "app:x:1000:1000::/home/app:/bin/sh\n", "passwd").ok());
  }
  std::string again = NewDir("again");
  oci::MetaStore got2;
  auto k = cache->RestoreLongest(one_, again, got2, nullptr);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(*k, 0u);
  EXPECT_TRUE(Describe(again).empty());
  EXPECT_EQ(got2.size(), 0u);
  EXPECT_FALSE(PathExists(JoinPath(cache_dir_, RootfsChainKey(one_))));

  // A chmod on disk is caught the same way.
  ASSERT_TRUE(cache->Save(one_, src_, store_, nullptr).ok());
  ASSERT_EQ(::chmod(JoinPath(src_, "etc/ssl/key").c_str(), 0644), 0);
  std::string third = NewDir("third");
  oci::MetaStore got3;
  EXPECT_EQ(*cache->RestoreLongest(one_, third, got3, nullptr), 0u);

  // A damaged listing (a crash, a full disk) costs the entry, never a half tree.
  ASSERT_EQ(::chmod(JoinPath(src_, "etc/ssl/key").c_str(), 0600), 0);
  ASSERT_TRUE(cache->Save(one_, src_, store_, nullptr).ok());
  std::string listing = JoinPath(cache_dir_, RootfsChainKey(one_) + "/dirs");
  auto data = ReadFile(listing);
  ASSERT_TRUE(data.ok());
  ASSERT_TRUE(WriteFile(listing, data->substr(0, data->size() - 3), 0600).ok());
  std::string fourth = NewDir("fourth");
  oci::MetaStore got4;
  EXPECT_EQ(*cache->RestoreLongest(one_, fourth, got4, nullptr), 0u);
  EXPECT_TRUE(Describe(fourth).empty());
  EXPECT_FALSE(PathExists(JoinPath(cache_dir_, RootfsChainKey(one_))));
}

// The stats a whole-tree restore hands back stand in for the walk after it (the stage's
// snapshot): each is taken once the path's inode has all its names and the directory its times.
TEST_F(RootfsCacheTest, TheRestoresStatsAreTheSnapshotAWalkWouldTake) {
  std::unique_ptr<RootfsCache> cache = CacheHoldingSrc();
  ASSERT_TRUE(cache);
  std::string dst = NewDir("dst");
  oci::MetaStore got;
  RestoreStats stats;
  ASSERT_EQ(*cache->RestoreLongest(one_, dst, got, nullptr, &stats), 1u);
  ::usleep(25'000);  // as the stage does: nothing just linked is racy
  auto root = oci::RootDir::Open(dst);
  ASSERT_TRUE(root.ok());
  auto from = oci::Snapshot::FromStats(*root, got, std::move(stats));
  ASSERT_TRUE(from.ok()) << from.error().message;
  auto walked = oci::Snapshot::Take(*root, got);
  ASSERT_TRUE(walked.ok());
  ASSERT_EQ(from->size(), walked->size());
  for (const auto& [path, want] : walked->nodes()) {
    const oci::NodeState* n = from->Find(path);
    ASSERT_NE(n, nullptr) << path;
    EXPECT_TRUE(n->SameStat(want)) << "/" << path << ": nlink " << n->nlink << " vs " << want.nlink
                                   << ", ctime " << n->ctime_ns << " vs " << want.ctime_ns;
    EXPECT_EQ(n->nlink, want.nlink) << path;  // scoped trees read it (hardlinks out of scope)
    EXPECT_EQ(n->racy_hash, want.racy_hash) << path;
  }
  // Checked after linking, a node written in place still costs the entry.
  {
    UniqueFd fd(::open(JoinPath(dst, "etc/passwd").c_str(), O_WRONLY | O_APPEND));
    ASSERT_TRUE(fd);
    ASSERT_TRUE(WriteAll(fd.get(), "more\n", "passwd").ok());
  }
  std::string again = NewDir("again");
  oci::MetaStore got2;
  RestoreStats stats2;
  EXPECT_EQ(*cache->RestoreLongest(one_, again, got2, nullptr, &stats2), 0u);
  EXPECT_TRUE(Describe(again).empty());
  EXPECT_FALSE(PathExists(JoinPath(cache_dir_, RootfsChainKey(one_))));
}

TEST_F(RootfsCacheTest, OneBuildAtATimeAndOneStageWithinIt) {
  auto first = RootfsCache::Open(cache_dir_);
  ASSERT_TRUE(first.ok() && *first);
  auto second = RootfsCache::Open(cache_dir_);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second) << "a second build must not share inodes with the first one's trees";
  int a, b;
  EXPECT_TRUE((*first)->Claim(&a));
  EXPECT_FALSE((*first)->Claim(&b));
  EXPECT_TRUE((*first)->Owns(&a));
  EXPECT_FALSE((*first)->Owns(&b));
  first->reset();
  auto third = RootfsCache::Open(cache_dir_);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(*third);
}

TEST_F(RootfsCacheTest, KeepsTheMostRecentlyUsedEntries) {
  {
    auto cache = RootfsCache::Open(cache_dir_, 2);
    ASSERT_TRUE(cache.ok() && *cache);
    for (size_t k = 1; k <= 3; ++k) {
      std::vector<oci::Digest> prefix(chain_.begin(), chain_.begin() + static_cast<long>(k));
      ASSERT_TRUE((*cache)->Save(prefix, src_, store_, nullptr).ok());
      std::string entry = JoinPath(cache_dir_, RootfsChainKey(prefix));
      struct timespec t[2] = {{static_cast<time_t>(2000000 + k), 0},
                              {static_cast<time_t>(2000000 + k), 0}};
      ASSERT_EQ(::utimensat(AT_FDCWD, entry.c_str(), t, 0), 0);
    }
    ASSERT_TRUE(MakeDirs(JoinPath(cache_dir_, "tmp-interrupted/tree")).ok());
  }
  auto reopened = RootfsCache::Open(cache_dir_, 2);
  ASSERT_TRUE(reopened.ok() && *reopened);
  EXPECT_FALSE(PathExists(JoinPath(cache_dir_, RootfsChainKey({chain_[0]}))));
  EXPECT_TRUE(PathExists(JoinPath(cache_dir_, RootfsChainKey({chain_[0], chain_[1]}))));
  EXPECT_TRUE(PathExists(JoinPath(cache_dir_, RootfsChainKey(chain_))));
  EXPECT_FALSE(PathExists(JoinPath(cache_dir_, "tmp-interrupted")));
}

}  // namespace
}  // namespace ocibuild::builder

namespace ocibuild::builder {
namespace {

// A scoped restore (builder/scoped_tree.h) makes the scope's part of the tree exactly, and
// nothing else; names whose inode has names outside the scope are reported.
TEST_F(RootfsCacheTest, RestoresOnlyAScope) {
  auto cache = RootfsCache::Open(cache_dir_);
  ASSERT_TRUE(cache.ok() && *cache);
  ASSERT_TRUE((*cache)->Save(chain_, src_, store_, nullptr).ok());
  oci::PathScope scope({"etc/ssl", "etc/passwd"});
  std::string dst = NewDir("scoped");
  oci::MetaStore got;
  std::unordered_set<uint64_t> shared;
  std::vector<std::string> cross;
  auto k = (*cache)->RestoreScoped(chain_, dst, got, &shared, &scope, true, &cross);
  ASSERT_TRUE(k.ok()) << k.error().message;
  EXPECT_EQ(*k, 3u);
  auto whole = Describe(src_);
  std::map<std::string, Node> want;
  for (const auto& [p, n] : whole)
    if (scope.Relevant(p)) want[p] = n;
  EXPECT_EQ(Describe(dst), want);  // etc (with its old mtime), etc/ssl, etc/ssl/key, etc/passwd
  EXPECT_EQ(want.size(), 4u);
  EXPECT_EQ(Ino(JoinPath(dst, "etc/passwd")), Ino(JoinPath(src_, "etc/passwd")));
  ASSERT_NE(got.Find(Ino(JoinPath(dst, "etc/ssl/key"))), nullptr);
  // etc/passwd is also passwd-link, outside the scope.
  EXPECT_EQ(cross, std::vector<std::string>{"etc/passwd"});
  if (xattrs_) {
    char v[8] = {};
    EXPECT_EQ(::getxattr(JoinPath(dst, "etc").c_str(), "user.ocibuild-test", v, sizeof v), 2);
  }

  // Without the claim nothing may be linked: a scope of directories only is restored, one with
  // a file in it is not (0, the directory left empty), and the entry stays.
  oci::PathScope dirs({"root", "tmp"});
  std::string d2 = NewDir("dirs-only");
  oci::MetaStore got2;
  auto k2 = (*cache)->RestoreScoped(chain_, d2, got2, nullptr, &dirs, false, nullptr);
  ASSERT_TRUE(k2.ok());
  EXPECT_EQ(*k2, 3u);
  EXPECT_EQ(Describe(d2).size(), 2u);
  EXPECT_EQ(Describe(d2)["root"], whole["root"]);
  std::string d3 = NewDir("needs-link");
  oci::MetaStore got3;
  auto k3 = (*cache)->RestoreScoped(chain_, d3, got3, nullptr, &scope, false, nullptr);
  ASSERT_TRUE(k3.ok());
  EXPECT_EQ(*k3, 0u);
  EXPECT_TRUE(Describe(d3).empty());
  EXPECT_TRUE(PathExists(JoinPath(JoinPath(cache_dir_, RootfsChainKey(chain_)), "dirs")));
}

}  // namespace
}  // namespace ocibuild::builder

namespace ocibuild::builder {
namespace {

size_t CountNames(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY));
  auto names = ReadDirNames(fd.get(), dir);
  return names.ok() ? names->size() : 0;
}

// A tree restored from an entry, changed by a step and saved again: the new entry links only
// what the old one does not hold, and restores to the same tree.
class RootfsCacheChainTest : public RootfsCacheTest {
 protected:
  void SetUp() override {
    RootfsCacheTest::SetUp();
    cache_ = CacheHoldingSrc();
    ASSERT_TRUE(cache_);
    work_ = NewDir("work");
    ASSERT_EQ(*cache_->RestoreLongest(one_, work_, work_store_, &shared_), 1u);
    // The step: a new file, and one replaced by a new inode (as dpkg and sed -i do).
    ASSERT_TRUE(WriteFile(JoinPath(work_, "etc/added"), "new\n").ok());
    ASSERT_TRUE(WriteFile(JoinPath(work_, "etc/ssl/key.new"), "other").ok());
    ASSERT_EQ(::rename(JoinPath(work_, "etc/ssl/key.new").c_str(),
                       JoinPath(work_, "etc/ssl/key").c_str()),
              0);
  }
  std::string Entry(const std::vector<oci::Digest>& chain) {
    return JoinPath(cache_dir_, RootfsChainKey(chain));
  }

  std::unique_ptr<RootfsCache> cache_;
  std::string work_;
  oci::MetaStore work_store_;
  std::unordered_set<uint64_t> shared_;
  std::vector<oci::Digest> two_{chain_[0], chain_[1]};
};

TEST_F(RootfsCacheChainTest, ASaveOnTopOfTheRestoredEntryLinksOnlyWhatTheStepMade) {
  ASSERT_TRUE(cache_->Save(two_, work_, work_store_, &shared_, 1).ok());
  // passwd (two names) and sym are the first entry's nodes; added and the new key are new.
  EXPECT_EQ(CountNames(JoinPath(Entry(two_), "nodes")), 2u);
  EXPECT_EQ(*ReadFile(JoinPath(Entry(two_), "chain")),
            RootfsChainKey(one_) + " " + *ReadFile(JoinPath(Entry(one_), "id")) + "\n");
  EXPECT_EQ(cache_->NodesDirs(two_), (std::vector<std::string>{JoinPath(Entry(two_), "nodes"),
                                                               JoinPath(Entry(one_), "nodes")}));
  EXPECT_TRUE(shared_.count(Ino(JoinPath(work_, "etc/added"))));

  std::string dst = NewDir("dst");
  oci::MetaStore got;
  std::unordered_set<uint64_t> shared;
  ASSERT_EQ(*cache_->RestoreLongest(chain_, dst, got, &shared), 2u);
  EXPECT_EQ(Describe(dst), Describe(work_));
  for (const char* p : {"etc/passwd", "passwd-link", "sym", "etc/added", "etc/ssl/key"}) {
    EXPECT_EQ(Ino(JoinPath(dst, p)), Ino(JoinPath(work_, p))) << p;
    EXPECT_TRUE(shared.count(Ino(JoinPath(dst, p)))) << p;
  }
  // The first entry still restores to the tree it was.
  std::string first = NewDir("first");
  oci::MetaStore got1;
  ASSERT_EQ(*cache_->RestoreLongest(one_, first, got1, nullptr), 1u);
  EXPECT_EQ(Describe(first), Describe(src_));
}

TEST_F(RootfsCacheChainTest, AnEntryWhoseChainLostAnEntryIsDroppedNotRestored) {
  ASSERT_TRUE(cache_->Save(two_, work_, work_store_, &shared_, 1).ok());
  ASSERT_TRUE(RemoveAll(Entry(one_)).ok());
  std::string dst = NewDir("dst");
  oci::MetaStore got;
  EXPECT_EQ(*cache_->RestoreLongest(two_, dst, got, nullptr), 0u);
  EXPECT_TRUE(Describe(dst).empty());
  EXPECT_EQ(got.size(), 0u);
  EXPECT_FALSE(PathExists(Entry(two_)));
}

// An entry of the chain dropped and saved again under its key is another entry: its nodes/ may
// give the old inode numbers to other files (ext4 reuses freed inodes), so the entries that
// used the old one are dropped, never restored through the new one.
TEST_F(RootfsCacheChainTest, AnEntryWhoseChainEntryWasSavedAgainIsDropped) {
  ASSERT_TRUE(cache_->Save(two_, work_, work_store_, &shared_, 1).ok());
  ASSERT_TRUE(RemoveAll(Entry(one_)).ok());
  ASSERT_TRUE(cache_->Save(one_, src_, store_, nullptr).ok());
  std::string dst = NewDir("dst");
  oci::MetaStore got;
  EXPECT_EQ(*cache_->RestoreLongest(two_, dst, got, nullptr), 1u);  // the new first entry
  EXPECT_EQ(Describe(dst), Describe(src_));
  EXPECT_FALSE(PathExists(Entry(two_)));
  // Nor does a save build on an entry whose own chain is not what it was.
  ASSERT_TRUE(cache_->Save(two_, work_, work_store_, &shared_, 1).ok());
  std::vector<oci::Digest> three = chain_;
  ASSERT_TRUE(RemoveAll(Entry(one_)).ok());
  ASSERT_TRUE(cache_->Save(one_, src_, store_, nullptr).ok());
  ASSERT_TRUE(cache_->Save(three, work_, work_store_, &shared_, 2).ok());
  EXPECT_EQ(*ReadFile(JoinPath(Entry(three), "chain")), "");
}

TEST_F(RootfsCacheChainTest, ASaveSaysWhenItReplacedAnEntry) {
  bool replaced = true;
  ASSERT_TRUE(cache_->Save(two_, work_, work_store_, &shared_, 1, nullptr, &replaced).ok());
  EXPECT_FALSE(replaced);
  std::vector<uint64_t> relinked;
  ASSERT_TRUE(cache_->Save(two_, work_, work_store_, &shared_, 1, &relinked, &replaced).ok());
  // Its names of the tree's inodes went: their ctimes moved, not only those of `relinked`.
  EXPECT_TRUE(replaced);
  EXPECT_EQ(relinked.size(), 2u);
}

TEST_F(RootfsCacheChainTest, EntriesOfAnOlderOcibuildAreEvicted) {
  ASSERT_TRUE(MakeDirs(JoinPath(cache_dir_, "0123abcd/nodes")).ok());
  ASSERT_TRUE(WriteFile(JoinPath(cache_dir_, "0123abcd/files"), "").ok());
  cache_.reset();
  auto reopened = RootfsCache::Open(cache_dir_);
  ASSERT_TRUE(reopened.ok() && *reopened);
  EXPECT_FALSE(PathExists(JoinPath(cache_dir_, "0123abcd")));
  EXPECT_TRUE(PathExists(Entry(one_)));
}

TEST_F(RootfsCacheChainTest, AFileOfTheParentChangedInPlaceIsLinkedByTheNewEntry) {
  // The step appended to a shared file: the first entry is damaged, the new one must not
  // depend on it for that file.
  {
    UniqueFd fd(::open(JoinPath(work_, "etc/passwd").c_str(), O_WRONLY | O_APPEND));
    ASSERT_TRUE(fd);
    ASSERT_TRUE(WriteAll(fd.get(), "app:x:1000:1000::/home/app:/bin/sh\n", "passwd").ok());
  }
  ASSERT_TRUE(cache_->Save(two_, work_, work_store_, &shared_, 1).ok());
  EXPECT_EQ(CountNames(JoinPath(Entry(two_), "nodes")), 3u);
  // The first entry's restore finds the change and drops it...
  std::string first = NewDir("first");
  oci::MetaStore got1;
  EXPECT_EQ(*cache_->RestoreLongest(one_, first, got1, nullptr), 0u);
  EXPECT_FALSE(PathExists(Entry(one_)));
  // ... which costs the second entry only the nodes it shared: it is dropped too, never
  // restored with a node missing.
  std::string dst = NewDir("dst");
  oci::MetaStore got;
  EXPECT_EQ(*cache_->RestoreLongest(two_, dst, got, nullptr), 0u);
  EXPECT_TRUE(Describe(dst).empty());
}

TEST_F(RootfsCacheChainTest, WithoutAParentOrOnTheSameChainEveryNodeIsLinked) {
  ASSERT_TRUE(cache_->Save(two_, work_, work_store_, &shared_, 0).ok());
  EXPECT_EQ(CountNames(JoinPath(Entry(two_), "nodes")), 4u);
  EXPECT_EQ(*ReadFile(JoinPath(Entry(two_), "chain")), "");
  // A parent that is gone: the same.
  std::vector<oci::Digest> three = chain_;
  ASSERT_TRUE(RemoveAll(Entry(one_)).ok());
  ASSERT_TRUE(cache_->Save(three, work_, work_store_, &shared_, 1).ok());
  EXPECT_EQ(CountNames(JoinPath(Entry(three), "nodes")), 4u);
}

TEST_F(RootfsCacheChainTest, ChainsStopAFewEntriesDeep) {
  // Each save builds on the last, as the steps of a long stage do.
  std::vector<oci::Digest> chain{one_};
  for (int i = 0; i < 6; ++i) {
    size_t parent = chain.size();
    chain.push_back(oci::Digest::OfBytes("step-" + std::to_string(i)));
    ASSERT_TRUE(WriteFile(JoinPath(work_, "f" + std::to_string(i)), "x").ok());
    ASSERT_TRUE(cache_->Save(chain, work_, work_store_, &shared_, parent).ok());
    EXPECT_LE(cache_->NodesDirs(chain).size(), 4u);
    std::string dst = NewDir("dst-" + std::to_string(i));
    oci::MetaStore got;
    ASSERT_EQ(*cache_->RestoreLongest(chain, dst, got, nullptr), chain.size()) << i;
    EXPECT_EQ(Describe(dst), Describe(work_));
  }
}

TEST_F(RootfsCacheChainTest, EvictionKeepsTheEntriesAKeptOneUsesNodesOf) {
  ASSERT_TRUE(cache_->Save(two_, work_, work_store_, &shared_, 1).ok());
  std::vector<oci::Digest> other{oci::Digest::OfBytes("other")};
  ASSERT_TRUE(cache_->Save(other, src_, store_, nullptr).ok());
  auto age = [&](const std::vector<oci::Digest>& c, time_t t) {
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, Entry(c).c_str(), ts, 0), 0);
  };
  age(one_, 1000000);
  age(other, 2000000);
  age(two_, 3000000);
  cache_.reset();  // gives the lock up
  auto reopened = RootfsCache::Open(cache_dir_, 1);
  ASSERT_TRUE(reopened.ok() && *reopened);
  EXPECT_TRUE(PathExists(Entry(two_)));
  EXPECT_TRUE(PathExists(Entry(one_)));  // older than `other`, but the kept entry needs it
  EXPECT_FALSE(PathExists(Entry(other)));
  std::string dst = NewDir("dst");
  oci::MetaStore got;
  ASSERT_EQ(*(*reopened)->RestoreLongest(two_, dst, got, nullptr), 2u);
  EXPECT_EQ(Describe(dst), Describe(work_));
}

}  // namespace
}  // namespace ocibuild::builder
