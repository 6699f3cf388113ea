#include "oci/metastore.h"

#include <sys/sysmacros.h>

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::oci {

TEST(MetaStore, RoundTripsThroughDisk) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  MetaStore s;
  FileMeta m;
  m.uid = 1000;
  m.gid = 42;
  m.mode = S_IFCHR | 0620;
  m.rdev = makedev(4, 1);
  m.xattrs["security.capability"] = std::string("\x01\x00\x00\x02", 4);
  s.Set(12345, m);
  std::string path = JoinPath(dir->path(), "rootfs.meta");
  ASSERT_TRUE(s.Save(path).ok());
  auto loaded = MetaStore::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_NE(loaded->Find(12345), nullptr);
  EXPECT_EQ(*loaded->Find(12345), m);
  EXPECT_EQ(loaded->size(), 1u);
}

TEST(MetaStore, MissingIsEmptyCorruptIsError) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  auto empty = MetaStore::Load(JoinPath(dir->path(), "none"));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
  std::string bad = JoinPath(dir->path(), "bad");
  ASSERT_TRUE(WriteFile(bad, "garbage").ok());
  auto r = MetaStore::Load(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(bad), std::string::npos);
}

TEST(MetaStore, EffectiveDefaultsToRootWithHostMode) {
  MetaStore s;
  struct stat st {};
  st.st_ino = 7;
  st.st_mode = S_IFREG | 0644;
  st.st_uid = 1234;
  FileMeta e = s.Effective(st);
  EXPECT_EQ(e.uid, 0u);
  EXPECT_EQ(e.mode, static_cast<uint32_t>(S_IFREG | 0644));
  s.Virtualize(&st);
  EXPECT_EQ(st.st_uid, 0u);
}

}  // namespace ocibuild::oci
