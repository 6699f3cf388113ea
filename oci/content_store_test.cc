#include "oci/content_store.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::oci {
namespace {

std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d) return names;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

class ContentStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("ocimodel-store-");
    ASSERT_TRUE(t.ok()) << t.error().message;
    tmp_.emplace(std::move(*t));
    auto s = DirContentStore::Open(tmp_->path());
    ASSERT_TRUE(s.ok()) << s.error().message;
    store_.emplace(std::move(*s));
  }
  std::string BlobDir() { return tmp_->path() + "/blobs/sha256"; }
  std::optional<TempDir> tmp_;
  std::optional<DirContentStore> store_;
};

TEST_F(ContentStoreTest, PutReadHas) {
  auto d = PutBlob(*store_, "text/plain", "hello");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->digest.str(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(d->size, 5);
  EXPECT_TRUE(store_->Has(d->digest).value());
  EXPECT_EQ(store_->Size(d->digest).value(), 5);
  EXPECT_EQ(ReadBlob(*store_, d->digest).value(), "hello");
  EXPECT_EQ(ReadFile(store_->BlobPath(d->digest)).value(), "hello");
  EXPECT_EQ(List(BlobDir()), std::vector<std::string>{d->digest.hex()});
  // Idempotent.
  EXPECT_TRUE(PutBlob(*store_, "text/plain", "hello").ok());
  EXPECT_EQ(List(BlobDir()).size(), 1u);
}

TEST_F(ContentStoreTest, MissingBlobNamesDigestAndStore) {
  Digest d = Digest::OfBytes("nope");
  EXPECT_FALSE(store_->Has(d).value());
  auto r = store_->Open(d);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "blob " + d.str() + " not found in " + tmp_->path());
  EXPECT_EQ(r.error().sys_errno, ENOENT);
  EXPECT_EQ(ReadBlob(*store_, d).error().message,
            "blob " + d.str() + " not found in " + tmp_->path());
}

TEST_F(ContentStoreTest, StreamingWriterVerifies) {
  auto w = store_->NewWriter();
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write("hel").ok());
  ASSERT_TRUE((*w)->Write("lo").ok());
  EXPECT_EQ((*w)->written(), 5);
  // In flight: only the temporary file exists.
  auto during = List(BlobDir());
  ASSERT_EQ(during.size(), 1u);
  EXPECT_EQ(during[0].substr(0, 5), ".tmp-");
  Digest wrong = Digest::OfBytes("other");
  auto c = (*w)->Commit(wrong);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().message,
            "blob digest mismatch: expected " + wrong.str() +
                ", got sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824 "
                "(5 bytes)");
  EXPECT_TRUE(List(BlobDir()).empty()) << "failed commit must not leave files";
  EXPECT_EQ((*w)->Commit().error().message, "blob writer: already committed");
  EXPECT_EQ((*w)->Write("x").error().message, "blob writer: write after commit");

  auto w2 = store_->NewWriter();
  ASSERT_TRUE(w2.ok());
  ASSERT_TRUE((*w2)->Write("hello").ok());
  auto c2 = (*w2)->Commit(Digest::OfBytes("hello"), 4);
  ASSERT_FALSE(c2.ok());
  EXPECT_EQ(c2.error().message, "blob size mismatch for " + Digest::OfBytes("hello").str() +
                                    ": expected 4 bytes, got 5");

  auto w3 = store_->NewWriter();
  ASSERT_TRUE((*w3)->Write("hello").ok());
  auto c3 = (*w3)->Commit(Digest::OfBytes("hello"), 5);
  ASSERT_TRUE(c3.ok()) << c3.error().message;
  EXPECT_EQ(*c3, Digest::OfBytes("hello"));
  EXPECT_EQ(List(BlobDir()), std::vector<std::string>{Digest::OfBytes("hello").hex()});
}

TEST_F(ContentStoreTest, AbandonedWriterLeavesNothing) {
  {
    auto w = store_->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write("partial").ok());
  }
  EXPECT_TRUE(List(BlobDir()).empty());
}

TEST_F(ContentStoreTest, DetectsCorruption) {
  auto d = PutBlob(*store_, "text/plain", "hello");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(WriteFile(store_->BlobPath(d->digest), "HELLO").ok());
  EXPECT_EQ(ReadBlob(*store_, d->digest).error().message, "blob " + d->digest.str() +
                                                              " is corrupt: content hashes to " +
                                                              Digest::OfBytes("HELLO").str());
  EXPECT_EQ(ReadBlob(*store_, d->digest, 3).error().message,
            "blob " + d->digest.str() + " is 5 bytes, more than the 3 allowed here");
}

TEST_F(ContentStoreTest, CopyAndPutFile) {
  auto other_dir = TempDir::Create("ocimodel-store2-");
  ASSERT_TRUE(other_dir.ok());
  auto other = DirContentStore::Open(other_dir->path());
  ASSERT_TRUE(other.ok());
  std::string src = tmp_->path() + "/file";
  ASSERT_TRUE(WriteFile(src, std::string(200000, 'z')).ok());
  auto d = PutFile(*store_, "application/octet-stream", src);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->size, 200000);
  EXPECT_EQ(d->digest, Digest::OfBytes(std::string(200000, 'z')));
  ASSERT_TRUE(CopyBlob(*store_, *other, *d).ok());
  EXPECT_TRUE(other->Has(d->digest).value());
  Descriptor lying = *d;
  lying.digest = Digest::OfBytes("y");
  EXPECT_EQ(CopyBlob(*store_, *other, lying).error().message,
            "blob " + lying.digest.str() + " not found in " + tmp_->path());
  Descriptor short_size = DescribeBytes("a/b", "hello");
  ASSERT_TRUE(PutBlob(*store_, "a/b", "hello").ok());
  short_size.size = 2;
  EXPECT_EQ(CopyBlob(*store_, *other, short_size).error().message,
            "blob size mismatch for " + short_size.digest.str() + ": expected 2 bytes, got 5");
}

}  // namespace
}  // namespace ocibuild::oci
