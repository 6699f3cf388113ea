#include "builder/precompressor.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::builder {
namespace {

struct stat StatOf(const std::string& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st;
}

struct timespec Now() {
  struct timespec t;
  ::clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

TEST(Precompressor, CompressesBigFilesTheStepWroteOnly) {
  auto dir = TempDir::Create("ocibuild-precompress-");
  ASSERT_TRUE(dir.ok());
  std::string root = JoinPath(dir->path(), "rootfs");
  ASSERT_TRUE(MakeDirs(root + "/usr/lib").ok());
  std::string big(oci::PrecompressedFiles::kMinSize + 1000, 'b');
  // Written before the step: not its output.
  ASSERT_TRUE(WriteFile(root + "/usr/lib/old", big).ok());
  ::usleep(30'000);
  struct timespec since = Now();
  ::usleep(30'000);
  ASSERT_TRUE(WriteFile(root + "/usr/lib/new", big).ok());
  ASSERT_TRUE(WriteFile(root + "/usr/lib/small", "tiny").ok());
  ASSERT_EQ(::symlink("new", (root + "/usr/lib/link").c_str()), 0);

  auto out = oci::PrecompressedFiles::Create(dir->path());
  ASSERT_TRUE(out.ok()) << out.error().message;
  {
    Precompressor::Options o;
    o.interval = std::chrono::milliseconds(5);
    o.settle = std::chrono::milliseconds(0);
    Precompressor pc(root, **out, since, o);
    for (int i = 0; i < 2000 && pc.passes() < 3; ++i) ::usleep(5'000);
    ASSERT_GE(pc.passes(), 3);
  }
  EXPECT_TRUE((*out)->Has(StatOf(root + "/usr/lib/new")));
  EXPECT_FALSE((*out)->Has(StatOf(root + "/usr/lib/old")));
  EXPECT_FALSE((*out)->Has(StatOf(root + "/usr/lib/small")));
  EXPECT_EQ((*out)->files(), 1u);
  auto b = (*out)->Block(StatOf(root + "/usr/lib/new"), 0);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->in_len, big.size());
  EXPECT_EQ(b->crc, oci::ParallelGzip::Crc32(big));
}

// A file whose ctime is within `settle` of now may still be being written: left for later.
TEST(Precompressor, LeavesFilesStillBeingWritten) {
  auto dir = TempDir::Create("ocibuild-precompress-");
  ASSERT_TRUE(dir.ok());
  struct timespec since = Now();
  ::usleep(30'000);
  ASSERT_TRUE(
      WriteFile(dir->path() + "/f", std::string(oci::PrecompressedFiles::kMinSize, 'x')).ok());
  auto out = oci::PrecompressedFiles::Create(dir->path());
  ASSERT_TRUE(out.ok());
  {
    Precompressor::Options o;
    o.interval = std::chrono::milliseconds(5);
    o.settle = std::chrono::hours(1);
    Precompressor pc(dir->path(), **out, since, o);
    for (int i = 0; i < 2000 && pc.passes() < 3; ++i) ::usleep(5'000);
  }
  EXPECT_EQ((*out)->files(), 0u);
}

}  // namespace
}  // namespace ocibuild::builder
