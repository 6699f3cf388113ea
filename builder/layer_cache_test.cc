#include "builder/layer_cache.h"

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::builder {
namespace {

TEST(LayerCache, KeysChainAndDependOnEveryField) {
  nlohmann::json a = {{"instr", "RUN"}, {"cmd", {"/bin/sh", "-c", "make"}}, {"env", {"A=1"}}};
  nlohmann::json b = a;
  b["env"] = {"A=2"};
  EXPECT_EQ(ChainKey("p", a), ChainKey("p", a));
  EXPECT_NE(ChainKey("p", a), ChainKey("p", b));
  EXPECT_NE(ChainKey("p", a), ChainKey("q", a));
  // Key order in the JSON does not matter (canonical form).
  nlohmann::json c = {{"env", {"A=1"}}, {"cmd", {"/bin/sh", "-c", "make"}}, {"instr", "RUN"}};
  EXPECT_EQ(ChainKey("p", a), ChainKey("p", c));
  EXPECT_EQ(ChainKey("p", a).substr(0, 7), "sha256:");
}

TEST(LayerCache, HitNeedsTheBlob) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  auto store = oci::DirContentStore::Open(JoinPath(dir->path(), "store"));
  ASSERT_TRUE(store.ok());
  auto cache = LayerCache::Open(JoinPath(dir->path(), "cache"));
  ASSERT_TRUE(cache.ok());

  auto desc = oci::PutBlob(*store, "application/vnd.oci.image.layer.v1.tar+gzip", "layer-bytes");
  ASSERT_TRUE(desc.ok());
  CachedStep s;
  s.layer = *desc;
  s.diff_id = oci::Digest::OfBytes("tar-bytes");
  ASSERT_TRUE(cache->Put("sha256:aaaa", s).ok());
  ASSERT_TRUE(cache->Put("sha256:bbbb", CachedStep{}).ok());

  auto reopened = LayerCache::Open(JoinPath(dir->path(), "cache"));
  auto hit = reopened->Get("sha256:aaaa", *store);
  ASSERT_TRUE(hit.ok());
  ASSERT_TRUE(hit->has_value());
  EXPECT_EQ((*hit)->layer->digest, desc->digest);
  EXPECT_EQ((*hit)->diff_id, s.diff_id);
  auto empty = reopened->Get("sha256:bbbb", *store);
  ASSERT_TRUE(empty->has_value());
  EXPECT_FALSE((*empty)->layer.has_value());
  EXPECT_FALSE(reopened->Get("sha256:cccc", *store)->has_value());
  EXPECT_EQ(reopened->touched().size(), 2u);

  // Without its blob the entry is useless: a miss.
  auto other = oci::DirContentStore::Open(JoinPath(dir->path(), "other"));
  EXPECT_FALSE(reopened->Get("sha256:aaaa", *other)->has_value());
}

TEST(LayerCache, CorruptEntryIsAMiss) {
  auto dir = TempDir::Create();
  auto store = oci::DirContentStore::Open(dir->path());
  auto cache = LayerCache::Open(dir->path());
  ASSERT_TRUE(WriteFile(JoinPath(dir->path(), "steps/dddd.json"), "{not json").ok());
  auto r = cache->Get("sha256:dddd", *store);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST(LayerCache, MemosTravelWithTheExportedEntries) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  auto cache = LayerCache::Open(JoinPath(dir->path(), "a"));
  ASSERT_TRUE(cache.ok());
  EXPECT_FALSE(cache->GetMemo("sha256:m1").has_value());
  ASSERT_TRUE(cache->PutMemo("sha256:m1", "sha256:d1").ok());
  ASSERT_EQ(cache->touched().count("sha256:m1"), 1u);
  // As the cache image's label carries it; an older reader sees an empty step.
  nlohmann::json j = cache->touched().at("sha256:m1").ToJson();
  EXPECT_EQ(j["empty"], true);
  auto back = CachedStep::FromJson(j, "memo");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->memo, "sha256:d1");

  // Another runner's empty cache with the entries imported (--cache-from): the memo is known,
  // and exported again from there.
  auto other = LayerCache::Open(JoinPath(dir->path(), "b"));
  ASSERT_TRUE(other.ok());
  other->Import({{"sha256:m1", *back}});
  EXPECT_EQ(other->GetMemo("sha256:m1"), std::optional<std::string>("sha256:d1"));
  EXPECT_EQ(other->touched().at("sha256:m1").memo, "sha256:d1");
  // A memo read from disk is exported too.
  auto reopened = LayerCache::Open(JoinPath(dir->path(), "a"));
  EXPECT_EQ(reopened->GetMemo("sha256:m1"), std::optional<std::string>("sha256:d1"));
  EXPECT_EQ(reopened->touched().count("sha256:m1"), 1u);
}

}  // namespace
}  // namespace ocibuild::builder
