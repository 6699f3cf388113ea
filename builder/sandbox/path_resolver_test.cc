#include "builder/sandbox/path_resolver.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

namespace ocibuild::sandbox {
namespace {

class PathResolverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("ocibuild-resolver-");
    ASSERT_TRUE(t.ok());
    tmp_ = std::move(*t);
    root_ = tmp_.path() + "/root";
    ASSERT_TRUE(MakeDirs(root_ + "/usr/lib").ok());
    ASSERT_TRUE(MakeDirs(root_ + "/etc").ok());
    ASSERT_TRUE(WriteFile(root_ + "/etc/passwd", "x").ok());
    ASSERT_EQ(::symlink("usr/lib", (root_ + "/lib").c_str()), 0);
    ASSERT_EQ(::symlink("/etc", (root_ + "/usr/etc-abs").c_str()), 0);
    ASSERT_EQ(::symlink("../../../../../etc/passwd", (root_ + "/usr/lib/up").c_str()), 0);
    ASSERT_EQ(::symlink("loop2", (root_ + "/loop1").c_str()), 0);
    ASSERT_EQ(::symlink("loop1", (root_ + "/loop2").c_str()), 0);
    ASSERT_EQ(::symlink("/nonexistent/x", (root_ + "/dangling").c_str()), 0);
    auto r = PathResolver::Create(root_, {{"/proc", "/proc"}, {"/etc/resolv.conf", "/tmp/rc"}});
    ASSERT_TRUE(r.ok()) << r.error().message;
    resolver_ = std::make_unique<PathResolver>(std::move(*r));
    root_ = resolver_->rootfs();
  }

  std::string Host(std::string_view path, std::string_view base = "/", bool follow = true) {
    std::string host, guest;
    Status st = resolver_->Resolve(path, base, follow, &host, &guest);
    if (!st.ok()) return "error:" + std::to_string(st.error().sys_errno);
    return host;
  }

  TempDir tmp_ = std::move(*TempDir::Create("ocibuild-resolver-unused-"));
  std::string root_;
  std::unique_ptr<PathResolver> resolver_;
};

TEST_F(PathResolverTest, AbsoluteAndRelative) {
  EXPECT_EQ(Host("/etc/passwd"), root_ + "/etc/passwd");
  EXPECT_EQ(Host("passwd", "/etc"), root_ + "/etc/passwd");
  EXPECT_EQ(Host("/"), root_ + "/");
  EXPECT_EQ(Host(".", "/usr"), root_ + "/usr");
}

TEST_F(PathResolverTest, DotDotStopsAtRoot) {
  EXPECT_EQ(Host("/../../etc/passwd"), root_ + "/etc/passwd");
  EXPECT_EQ(Host("../../../etc", "/usr/lib"), root_ + "/etc");
}

TEST_F(PathResolverTest, SymlinksResolveInGuest) {
  EXPECT_EQ(Host("/lib/up"), root_ + "/etc/passwd");
  EXPECT_EQ(Host("/usr/etc-abs/passwd"), root_ + "/etc/passwd");
  EXPECT_EQ(Host("/lib", "/", false), root_ + "/lib");
  EXPECT_EQ(Host("/lib", "/", true), root_ + "/usr/lib");
  EXPECT_EQ(Host("/lib/", "/", false), root_ + "/usr/lib/");
  EXPECT_EQ(Host("/dangling"), root_ + "/nonexistent/x");
}

TEST_F(PathResolverTest, SymlinkLoopIsEloop) {
  EXPECT_EQ(Host("/loop1"), "error:" + std::to_string(ELOOP));
  EXPECT_EQ(Host("/loop1", "/", false), root_ + "/loop1");
}

TEST_F(PathResolverTest, MissingComponentsAreLeftToTheKernel) {
  EXPECT_EQ(Host("/nope/../etc"), root_ + "/nope/../etc");
  EXPECT_EQ(Host("/etc/passwd/x"), root_ + "/etc/passwd/x");
}

TEST_F(PathResolverTest, MappingsArePassedThrough) {
  EXPECT_EQ(Host("/proc/self/fd/3"), "/proc/self/fd/3");
  EXPECT_EQ(Host("/etc/resolv.conf"), "/tmp/rc");
  EXPECT_EQ(Host("/usr/../proc"), "/proc");
}

TEST_F(PathResolverTest, ToGuest) {
  std::string g;
  ASSERT_TRUE(resolver_->ToGuest(root_ + "/etc/passwd", &g));
  EXPECT_EQ(g, "/etc/passwd");
  ASSERT_TRUE(resolver_->ToGuest(root_, &g));
  EXPECT_EQ(g, "/");
  ASSERT_TRUE(resolver_->ToGuest("/proc/1/status", &g));
  EXPECT_EQ(g, "/proc/1/status");
  EXPECT_FALSE(resolver_->ToGuest("/usr/bin", &g));
  EXPECT_FALSE(resolver_->ToGuest(root_ + "x/etc", &g));
}

TEST_F(PathResolverTest, LongPathIsEnametoolong) {
  std::string p;
  while (p.size() < 5000) p += "/abcdefghij";
  EXPECT_EQ(Host(p), "error:" + std::to_string(ENAMETOOLONG));
}

}  // namespace
}  // namespace ocibuild::sandbox

namespace ocibuild::sandbox {
namespace {

// The cache answers for directories it has seen; only Clear (the tracer's reaction to rename and
// rmdir) makes a replaced directory visible again.
TEST_F(PathResolverTest, DirCacheSkipsKnownDirectoriesUntilCleared) {
  DirCache dirs;
  std::string host;
  ASSERT_TRUE(MakeDirs(root_ + "/a/b").ok());
  ASSERT_TRUE(resolver_->Resolve("/a/b/f", "/", true, &host, nullptr, nullptr, &dirs).ok());
  EXPECT_EQ(host, root_ + "/a/b/f");
  EXPECT_TRUE(dirs.Has("/a"));
  EXPECT_TRUE(dirs.Has("/a/b"));
  EXPECT_FALSE(dirs.Has("/a/b/f"));
  ASSERT_EQ(::rename((root_ + "/a").c_str(), (root_ + "/gone").c_str()), 0);
  ASSERT_EQ(::symlink("/usr", (root_ + "/a").c_str()), 0);
  ASSERT_TRUE(resolver_->Resolve("/a/lib", "/", true, &host, nullptr, nullptr, &dirs).ok());
  EXPECT_EQ(host, root_ + "/a/lib");  // stale, as expected without Clear
  dirs.Clear();
  ASSERT_TRUE(resolver_->Resolve("/a/lib", "/", true, &host, nullptr, nullptr, &dirs).ok());
  EXPECT_EQ(host, root_ + "/usr/lib");
  // Through a symlink the cache holds the resolved directory, never the link.
  ASSERT_TRUE(resolver_->Resolve("/lib/x", "/", true, &host, nullptr, nullptr, &dirs).ok());
  EXPECT_EQ(host, root_ + "/usr/lib/x");
  EXPECT_FALSE(dirs.Has("/lib"));
  EXPECT_TRUE(dirs.Has("/usr/lib"));
}

}  // namespace
}  // namespace ocibuild::sandbox
