#include "util/fs.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

namespace ocibuild {

TEST(Fs, AtomicWriteAndRead) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  std::string p = JoinPath(dir->path(), "f");
  ASSERT_TRUE(WriteFileAtomic(p, "hello").ok());
  ASSERT_TRUE(WriteFileAtomic(p, "world").ok());
  auto r = ReadFile(p);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "world");
}

TEST(Fs, ErrorsNameThePath) {
  auto r = ReadFile("/nonexistent/ocibuild-test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "open /nonexistent/ocibuild-test: No such file or directory");
  EXPECT_EQ(r.error().sys_errno, ENOENT);
}

TEST(Fs, TempDirRemovesReadOnlyTrees) {
  std::string path;
  {
    auto dir = TempDir::Create();
    ASSERT_TRUE(dir.ok());
    path = dir->path();
    ASSERT_TRUE(MakeDirs(JoinPath(path, "a/b/c")).ok());
    ASSERT_TRUE(WriteFile(JoinPath(path, "a/b/c/f"), "x", 0).ok());
    ::chmod(JoinPath(path, "a/b/c").c_str(), 0555);
    ::chmod(JoinPath(path, "a/b").c_str(), 0);
  }
  EXPECT_FALSE(PathExists(path));
}

TEST(Fs, JoinPath) {
  EXPECT_EQ(JoinPath("/a/", "/b"), "/a/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
}

}  // namespace ocibuild
