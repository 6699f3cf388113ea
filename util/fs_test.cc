#include "util/fs.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <thread>

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

// Whatever the file's size says: a large file, an empty one, and /proc files (size 0, content
// all the same) and pipes are read whole.
TEST(Fs, ReadFileReadsWholeFilesWhateverTheirStatedSize) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  std::string big(3 * 65536 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
  std::string p = JoinPath(dir->path(), "big");
  ASSERT_TRUE(WriteFileAtomic(p, big).ok());
  EXPECT_EQ(*ReadFile(p), big);
  ASSERT_TRUE(WriteFileAtomic(p, "").ok());
  EXPECT_EQ(*ReadFile(p), "");
  auto status = ReadFile("/proc/self/status");
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->find("\nPid:"), std::string::npos);
  EXPECT_NE(status->find("\nVmPeak:"), std::string::npos);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    for (int i = 0; i < 4; ++i) (void)!::write(fds[1], big.data(), big.size());
    ::close(fds[1]);
  });
  auto piped = ReadFile("/proc/self/fd/" + std::to_string(fds[0]));
  writer.join();
  ::close(fds[0]);
  ASSERT_TRUE(piped.ok());
  EXPECT_EQ(*piped, big + big + big + big);
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

namespace ocibuild {

TEST(Fs, ReadDirNamesThroughAnOPathDescriptor) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  ASSERT_TRUE(WriteFile(JoinPath(dir->path(), "b"), "").ok());
  ASSERT_TRUE(MakeDirs(JoinPath(dir->path(), "a")).ok());
  UniqueFd fd(::open(dir->path().c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd);
  auto names = ReadDirNames(fd.get(), "/d");
  ASSERT_TRUE(names.ok()) << names.error().message;
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "b"}));
  // The caller's descriptor is still usable afterwards.
  struct stat st;
  EXPECT_EQ(::fstatat(fd.get(), "a", &st, 0), 0);
  UniqueFd file(::open(JoinPath(dir->path(), "b").c_str(), O_PATH | O_CLOEXEC));
  EXPECT_EQ(ReadDirNames(file.get(), "/d/b").error().message, "open /d/b: Not a directory");
}

}  // namespace ocibuild
