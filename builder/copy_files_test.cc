#include "builder/copy_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::builder {
namespace {

class CopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("ocibuild-copy-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::move(*d);
    ctx_ = JoinPath(tmp_.path(), "ctx");
    root_ = JoinPath(tmp_.path(), "rootfs");
    ASSERT_TRUE(MakeDirs(ctx_).ok());
    ASSERT_TRUE(MakeDirs(root_).ok());
    Write("Dockerfile", "FROM scratch\n");
    Write("app/main.go", "package main\n");
    Write("app/util.go", "package util\n");
    Write("app/README.md", "readme\n");
    Write("app/node_modules/x/index.js", "x\n");
    Write("run.sh", "#!/bin/sh\n", 0755);
    Write("secret.key", "k\n");
    Write("docs/a.txt", "a\n");
    Write("docs/b.txt", "b\n");
    Write(".dockerignore", "*.key\n**/node_modules\ndocs\n!docs/b.txt\n");
    ASSERT_EQ(::symlink("run.sh", JoinPath(ctx_, "link.sh").c_str()), 0);
    ASSERT_EQ(::symlink("/etc/passwd", JoinPath(ctx_, "escape").c_str()), 0);
    // The rootfs has the usrmerge layout: /bin -> usr/bin.
    ASSERT_TRUE(MakeDirs(JoinPath(root_, "usr/bin")).ok());
    ASSERT_EQ(::symlink("usr/bin", JoinPath(root_, "bin").c_str()), 0);
    auto ctx = BuildContext::Open(ctx_, JoinPath(ctx_, "Dockerfile"));
    ASSERT_TRUE(ctx.ok()) << ctx.error().message;
    context_ = std::make_unique<BuildContext>(std::move(*ctx));
    auto r = oci::RootDir::Open(ctx_);
    ASSERT_TRUE(r.ok());
    ctx_root_ = std::make_unique<oci::RootDir>(std::move(*r));
    auto d2 = oci::RootDir::Open(root_);
    ASSERT_TRUE(d2.ok());
    dst_ = std::make_unique<oci::RootDir>(std::move(*d2));
  }

  void Write(const std::string& rel, const std::string& data, int mode = 0644) {
    std::string p = JoinPath(ctx_, rel);
    ASSERT_TRUE(MakeDirs(p.substr(0, p.rfind('/'))).ok());
    ASSERT_TRUE(WriteFile(p, data, mode).ok());
    ::chmod(p.c_str(), mode);
  }

  Status Copy(std::vector<std::string> sources, std::string dest, CopyOptions opts = {}) {
    CopySourceTree src{ctx_root_.get(), nullptr, context_.get(), {}};
    for (const auto& s : sources) {
      auto m = context_->Resolve(s);
      if (!m.ok()) return std::move(m).error();
      src.matches.insert(src.matches.end(), m->begin(), m->end());
    }
    opts.dest = dest;
    return CopyInto(*dst_, store_, src, opts);
  }

  Status CopyParents(std::vector<std::string> sources, std::string dest, CopyOptions opts) {
    CopySourceTree src{ctx_root_.get(), nullptr, context_.get(), {}};
    for (const auto& s : sources) {
      auto m = context_->Resolve(s, /*parents=*/true);
      if (!m.ok()) return std::move(m).error();
      src.matches.insert(src.matches.end(), m->begin(), m->end());
    }
    opts.dest = dest;
    return CopyInto(*dst_, store_, src, opts);
  }

  std::string Read(const std::string& rel) {
    auto r = ReadFile(JoinPath(root_, rel));
    return r.ok() ? *r : "<missing>";
  }
  oci::FileMeta Meta(const std::string& rel) {
    struct stat st;
    EXPECT_EQ(::lstat(JoinPath(root_, rel).c_str(), &st), 0) << rel;
    return store_.Effective(st);
  }

  TempDir tmp_ = std::move(*TempDir::Create());
  std::string ctx_, root_;
  std::unique_ptr<BuildContext> context_;
  std::unique_ptr<oci::RootDir> ctx_root_, dst_;
  oci::MetaStore store_;
};

TEST_F(CopyTest, FileToPathAndIntoDirectory) {
  ASSERT_TRUE(Copy({"run.sh"}, "/usr/local/bin/start").ok());
  EXPECT_EQ(Read("usr/local/bin/start"), "#!/bin/sh\n");
  EXPECT_EQ(Meta("usr/local/bin/start").mode & 07777, 0755u);
  ASSERT_TRUE(Copy({"run.sh"}, "/opt/").ok());
  EXPECT_EQ(Read("opt/run.sh"), "#!/bin/sh\n");
  // An existing directory without a trailing slash is a directory too.
  ASSERT_TRUE(Copy({"/run.sh"}, "/opt").ok());
}

TEST_F(CopyTest, DirectoryContentsAndDockerignore) {
  ASSERT_TRUE(Copy({"."}, "/src/").ok());
  EXPECT_EQ(Read("src/app/main.go"), "package main\n");
  EXPECT_EQ(Read("src/secret.key"), "<missing>");
  EXPECT_EQ(Read("src/app/node_modules/x/index.js"), "<missing>");
  EXPECT_EQ(Read("src/docs/a.txt"), "<missing>");
  EXPECT_EQ(Read("src/docs/b.txt"), "b\n");  // re-included by "!docs/b.txt"
  // Symlinks inside a copied directory stay links, even ones pointing outside.
  char buf[64] = {};
  ASSERT_GT(::readlink(JoinPath(root_, "src/escape").c_str(), buf, sizeof buf - 1), 0);
  EXPECT_STREQ(buf, "/etc/passwd");
  EXPECT_EQ(Meta("src").uid, 0u);
}

TEST_F(CopyTest, SeveralFilesToAFileDestinationLeaveTheLast) {
  // BuildKit copies each match in turn with no "destination must be a directory" error: the
  // last file wins (its behaviour, matched on purpose).
  ASSERT_TRUE(Copy({"app/*.go"}, "/dst").ok());
  EXPECT_EQ(Read("dst"), "package util\n");
  ASSERT_TRUE(Copy({"app/*.go"}, "/dir/").ok());
  EXPECT_EQ(Read("dir/main.go"), "package main\n");
  EXPECT_EQ(Read("dir/util.go"), "package util\n");
  EXPECT_EQ(Read("dir/README.md"), "<missing>");
  // One wildcard match to a file name.
  ASSERT_TRUE(Copy({"app/m*.go"}, "/single.go").ok());
  EXPECT_EQ(Read("single.go"), "package main\n");
}

TEST_F(CopyTest, EmptyWildcardCopiesNothing) {
  ASSERT_TRUE(Copy({"run.sh", "*.lock"}, "/w/").ok());
  EXPECT_EQ(Read("w/run.sh"), "#!/bin/sh\n");
}

TEST_F(CopyTest, ParentsPivot) {
  Write("a/b/c/d/f.txt", "f\n");
  Write("a/b2/c/d/g.txt", "g\n");
  CopyOptions o;
  ASSERT_TRUE(CopyParents({"a/b/./c/d"}, "/out/", o).ok());
  EXPECT_EQ(Read("out/c/d/f.txt"), "f\n");
  EXPECT_EQ(Read("out/a"), "<missing>");
  ASSERT_TRUE(CopyParents({"a/*/./c/**/*.txt"}, "/w/", o).ok());
  EXPECT_EQ(Read("w/c/d/f.txt"), "f\n");
  EXPECT_EQ(Read("w/c/d/g.txt"), "g\n");
  ASSERT_TRUE(CopyParents({"a/b/c"}, "/full/", o).ok());
  EXPECT_EQ(Read("full/a/b/c/d/f.txt"), "f\n");
  EXPECT_FALSE(CopyParents({"a/b/./nope"}, "/x/", o).ok());
  EXPECT_TRUE(CopyParents({"a/b/./nope*"}, "/x/", o).ok());
}

TEST_F(CopyTest, SymbolicChmodAndCreatedParents) {
  CopyOptions o;
  o.chmod = *ChmodSpec::Parse("770");
  ASSERT_TRUE(Copy({"run.sh"}, "/made/here/run.sh", o).ok());
  EXPECT_EQ(Meta("made").mode & 07777, 0770u);
  EXPECT_EQ(Meta("made/here/run.sh").mode & 07777, 0770u);
  o.chmod = *ChmodSpec::Parse("go-rx");
  ASSERT_TRUE(Copy({"run.sh"}, "/sym/run.sh", o).ok());
  EXPECT_EQ(Meta("sym").mode & 07777, 0755u);
  EXPECT_EQ(Meta("sym/run.sh").mode & 07777, 0700u);
}

TEST_F(CopyTest, MissingAndIgnoredSourcesAreErrors) {
  auto st = Copy({"nope.txt"}, "/x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message.substr(0, 45), "\"/nope.txt\": not found in the build context (");
  EXPECT_FALSE(Copy({"secret.key"}, "/x").ok());
}

TEST_F(CopyTest, ChownChmodGoToTheStore) {
  CopyOptions o;
  o.chown = std::make_pair(1000u, 1000u);
  o.chmod = *ChmodSpec::Parse("0640");
  ASSERT_TRUE(Copy({"app"}, "/home/app/src", o).ok());
  oci::FileMeta f = Meta("home/app/src/main.go");
  EXPECT_EQ(f.uid, 1000u);
  EXPECT_EQ(f.gid, 1000u);
  EXPECT_EQ(f.mode & 07777, 0640u);
  // Created parents belong to the --chown user too; the host copy stays usable.
  EXPECT_EQ(Meta("home/app").uid, 1000u);
  struct stat st;
  ASSERT_EQ(::stat(JoinPath(root_, "home/app/src/main.go").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0600, 0600u);
}

TEST_F(CopyTest, ZeroModeFileStaysReadableOnHost) {
  Write("locked", "x\n", 0644);
  CopyOptions o;
  o.chmod = *ChmodSpec::Parse("0");
  ASSERT_TRUE(Copy({"locked"}, "/etc/shadow", o).ok());
  EXPECT_EQ(Meta("etc/shadow").mode & 07777, 0u);
  EXPECT_EQ(Read("etc/shadow"), "x\n");
}

TEST_F(CopyTest, ParentsAndExcludes) {
  CopyOptions o;
  // With --parents, as in BuildKit, exclude patterns are relative to the pivot (here the
  // context root), not to each source.
  o.excludes = {"**/*.md"};
  ASSERT_TRUE(CopyParents({"app"}, "/p/", o).ok());
  EXPECT_EQ(Read("p/app/main.go"), "package main\n");
  EXPECT_EQ(Read("p/app/README.md"), "<missing>");
}

TEST_F(CopyTest, WritesThroughRootfsSymlinksStayInside) {
  // /bin is a symlink to usr/bin in the rootfs: the copy lands in usr/bin, inside the root.
  ASSERT_TRUE(Copy({"run.sh"}, "/bin/").ok());
  EXPECT_EQ(Read("usr/bin/run.sh"), "#!/bin/sh\n");
  // A rootfs symlink pointing at the host's /etc still resolves inside the root.
  ASSERT_EQ(::symlink("/etc", JoinPath(root_, "hostetc").c_str()), 0);
  ASSERT_TRUE(Copy({"run.sh"}, "/hostetc/ocibuild-test-must-not-exist").ok());
  EXPECT_FALSE(PathExists("/etc/ocibuild-test-must-not-exist"));
  EXPECT_EQ(Read("etc/ocibuild-test-must-not-exist"), "#!/bin/sh\n");
}

TEST_F(CopyTest, SymlinkSourceIsFollowedInsideTheContext) {
  ASSERT_TRUE(Copy({"link.sh"}, "/l").ok());
  EXPECT_EQ(Read("l"), "#!/bin/sh\n");
  // "escape" -> /etc/passwd resolves inside the context, where there is no etc/passwd.
  EXPECT_FALSE(Copy({"escape"}, "/e").ok());
}

TEST_F(CopyTest, ContextDigestTracksContents) {
  auto m = context_->Resolve("app");
  ASSERT_TRUE(m.ok());
  auto d1 = context_->Digest(*m, {});
  ASSERT_TRUE(d1.ok()) << d1.error().message;
  EXPECT_EQ(*context_->Digest(*m, {}), *d1);
  Write("app/main.go", "package main // changed\n");
  auto d2 = context_->Digest(*m, {});
  EXPECT_NE(*d2, *d1);
  // Ignored files do not count.
  Write("app/node_modules/x/index.js", "changed\n");
  EXPECT_EQ(*context_->Digest(*m, {}), *d2);
  EXPECT_NE(*context_->Digest(*m, {"*.md"}), *d2);
}

}  // namespace
}  // namespace ocibuild::builder
