#include "util/sys/inode_flags.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::sys {

TEST(InodeFlags, TopDirIsSetAndReadBackWhereTheFilesystemHasIt) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  UniqueFd fd(::open(dir->path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  int r = SetTopDir(fd.get());
  if (r == -ENOTTY || r == -EOPNOTSUPP || r == -EINVAL)
    GTEST_SKIP() << "no inode flags on the filesystem of " << dir->path();
  ASSERT_EQ(r, 0) << "SetTopDir: " << std::strerror(-r);
  EXPECT_EQ(HasTopDir(fd.get()), 1);
  EXPECT_EQ(SetTopDir(fd.get()), 0);  // already set: still fine
  // A hint for the allocator only: the directory works as before.
  std::string sub = JoinPath(dir->path(), "sub");
  ASSERT_EQ(::mkdir(sub.c_str(), 0755), 0);
  EXPECT_TRUE(WriteFileAtomic(JoinPath(sub, "f"), "x").ok());
}

TEST(InodeFlags, ABadDescriptorIsAnError) {
  EXPECT_EQ(SetTopDir(-1), -EBADF);
}

}  // namespace ocibuild::sys
