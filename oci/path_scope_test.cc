// PathScope and the scoped layer unpack (ApplyOptions::scope): the scope's part of a tree
// unpacked with a filter is exactly that part of the tree unpacked whole, or the apply says it
// cannot be.
#include "oci/path_scope.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "oci/layer_applier.h"
#include "oci/layer_testing.h"
#include "util/fs.h"

namespace ocibuild::oci {
namespace {

using testing::Dir;
using testing::File;
using testing::Hardlink;
using testing::MakeTar;
using testing::Symlink;
using testing::TarEntry;

TEST(PathScope, RootsAncestorsAndAttachPoints) {
  PathScope s({"usr/src/app", "etc/passwd", "usr/src/app/sub"});
  EXPECT_EQ(s.roots(), (std::vector<std::string>{"etc/passwd", "usr/src/app"}));
  EXPECT_TRUE(s.Contains("usr/src/app"));
  EXPECT_TRUE(s.Contains("usr/src/app/x/y"));
  EXPECT_FALSE(s.Contains("usr/src/application"));
  EXPECT_FALSE(s.Contains("usr/src"));
  EXPECT_TRUE(s.IsAncestor("usr/src"));
  EXPECT_TRUE(s.IsAncestor("usr"));
  EXPECT_TRUE(s.IsAncestor(""));
  EXPECT_TRUE(s.IsAncestor("etc"));
  EXPECT_FALSE(s.IsAncestor("usr/src/app"));
  EXPECT_FALSE(s.Relevant("usr/lib"));
  EXPECT_FALSE(s.Relevant("etc/group"));
  EXPECT_EQ(s.AttachPoint("usr/lib/x"), "usr");
  EXPECT_EQ(s.AttachPoint("bin"), "");
  EXPECT_EQ(s.AttachPoint("usr/src/other/deep"), "usr/src");
  EXPECT_TRUE(s.Covers(PathScope({"usr/src/app/y"})));
  EXPECT_FALSE(s.Covers(PathScope({"usr/src/app", "etc/group"})));
  PathScope u = Union(s, PathScope({"etc"}));
  EXPECT_EQ(u.roots(), (std::vector<std::string>{"etc", "usr/src/app"}));
  EXPECT_TRUE(PathScope().empty());
  EXPECT_FALSE(PathScope().Relevant(""));
}

// Few roots are scanned, many looked up by hash: both answer as the definitions say, for names
// that share prefixes without being below one another ("app" and "app2", "a-b" sorting between
// "a" and "a/z").
TEST(PathScope, ScanAndLookupAgreeWithTheDefinitions) {
  const std::vector<std::string> names = {"",      "a",      "a-b",     "a/z",  "a/z/q", "app",
                                          "app2",  "app/x",  "app/x/y", "b",    "b/c",   "b/c/d",
                                          "a-b/c", "app2/x", "c",       "c/d/e"};
  auto below = [](const std::string& p, const std::string& r) {
    return r.empty() || p == r ||
           (p.size() > r.size() && p.compare(0, r.size(), r) == 0 && p[r.size()] == '/');
  };
  std::vector<std::vector<std::string>> cases = {{"a"},          {"a", "a-b"}, {"app/x"},
                                                 {"b/c", "a/z"}, {""},         {"c/d/e", "app2"}};
  std::vector<std::string> many;  // more roots than are scanned
  for (int i = 0; i < 20; ++i) many.push_back("m/" + std::to_string(i));
  many.push_back("a/z");
  many.push_back("app");
  cases.push_back(many);
  for (const auto& roots : cases) {
    PathScope s(roots);
    for (const auto& p : names) {
      bool contains = false, ancestor = false;
      for (const auto& r : s.roots()) {
        contains |= below(p, r);
        ancestor |= r != p && below(r, p);
      }
      ancestor &= !contains;
      EXPECT_EQ(s.Contains(p), contains) << "\"" << p << "\" in " << roots.size() << " roots";
      EXPECT_EQ(s.IsAncestor(p), ancestor) << "\"" << p << "\" in " << roots.size() << " roots";
    }
  }
}

class ScopedApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("ocibuild-scoped-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    for (const char* n : {"full", "scoped"}) {
      std::string p = dir_->path() + "/" + n;
      ASSERT_EQ(::mkdir(p.c_str(), 0755), 0);
      auto r = RootDir::Open(p);
      ASSERT_TRUE(r.ok());
      (n[0] == 'f' ? full_ : scoped_) = std::make_unique<RootDir>(std::move(*r));
    }
  }
  // Applies the layer to both trees; returns the scoped apply's stats.
  ApplyStats Apply(const std::vector<TarEntry>& entries, const PathScope& scope) {
    std::string tar = MakeTar(entries);
    UniqueFd a(testing::FdOf(dir_->path(), tar));
    EXPECT_TRUE(ApplyLayer(*full_, full_store_, a.get()).ok());
    UniqueFd b(testing::FdOf(dir_->path(), tar));
    ApplyOptions opts;
    opts.scope = &scope;
    auto st = ApplyLayer(*scoped_, scoped_store_, b.get(), opts);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return st.ok() ? *st : ApplyStats{};
  }
  // What a path is in a tree: type, image mode, owner, mtime, content or link target. The root
  // directory's mtime is left out: no layer records it, so it is the time of each unpack (the
  // two trees' differ when their unpacks straddle a second).
  std::string Describe(const RootDir& root, const MetaStore& store, const std::string& rel) {
    struct stat st;
    std::string p = root.path() + "/" + rel;
    if (::lstat(p.c_str(), &st) != 0) return "missing";
    FileMeta m = store.Effective(st);
    std::string out =
        std::to_string(m.mode) + " " + std::to_string(m.uid) + ":" + std::to_string(m.gid);
    if (!rel.empty()) out += " " + std::to_string(st.st_mtim.tv_sec);
    if (S_ISREG(st.st_mode)) {
      auto data = ReadFile(p);
      out += " " + (data.ok() ? *data : std::string("?"));
    }
    if (S_ISLNK(st.st_mode)) {
      char buf[256];
      ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
      out += " -> " + std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
    }
    return out;
  }
  void ExpectSame(const std::vector<std::string>& paths) {
    for (const auto& p : paths)
      EXPECT_EQ(Describe(*scoped_, scoped_store_, p), Describe(*full_, full_store_, p)) << p;
  }
  bool InScoped(const std::string& rel) {
    struct stat st;
    return ::lstat((scoped_->path() + "/" + rel).c_str(), &st) == 0;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<RootDir> full_, scoped_;
  MetaStore full_store_, scoped_store_;
};

TEST_F(ScopedApplyTest, KeepsTheScopeAndTheWayThereExactlyAndNothingElse) {
  PathScope scope({"usr/src/app"});
  auto st = Apply({Dir("usr", 0755), Dir("usr/src", 0700, 5, 6), Dir("usr/src/app", 0750, 1000),
                   File("usr/src/app/f", "one", 0600, 7, 8), Dir("usr/src/other"),
                   File("usr/src/other/x", "no"), Dir("usr/lib"), File("usr/lib/libc", "no"),
                   Dir("bin"), File("bin/sh", "no")},
                  scope);
  EXPECT_FALSE(st.out_of_scope);
  ExpectSame({"", "usr", "usr/src", "usr/src/app", "usr/src/app/f"});
  EXPECT_FALSE(InScoped("usr/src/other"));
  EXPECT_FALSE(InScoped("usr/lib"));
  EXPECT_FALSE(InScoped("bin"));
  // An upper layer: whiteouts inside the scope and on the way apply, opaque directories too.
  st = Apply({Dir("usr"), Dir("usr/src", 0711), Dir("usr/src/app"), File("usr/src/app/.wh.f", ""),
              File("usr/src/app/g", "two"), File("usr/src/.wh.other", ""), Dir("usr/lib"),
              File("usr/lib/.wh..wh..opq", "")},
             scope);
  EXPECT_FALSE(st.out_of_scope);
  ExpectSame({"usr", "usr/src", "usr/src/app", "usr/src/app/f", "usr/src/app/g"});
  st = Apply({Dir("usr"), Dir("usr/src"), File("usr/src/.wh..wh..opq", ""), Dir("usr/src/app"),
              File("usr/src/app/h", "three")},
             scope);
  EXPECT_FALSE(st.out_of_scope);
  ExpectSame({"usr", "usr/src", "usr/src/app", "usr/src/app/g", "usr/src/app/h"});
  // The directory on the way replaced by a file, then by a directory again.
  st = Apply({Dir("usr"), File("usr/src", "file")}, scope);
  EXPECT_FALSE(st.out_of_scope);
  ExpectSame({"usr", "usr/src", "usr/src/app"});
}

TEST_F(ScopedApplyTest, AHardlinkIntoTheScopeFromOutsideGivesUp) {
  PathScope scope({"app"});
  auto st = Apply({Dir("a"), File("a/h", "x"), Dir("app"), Hardlink("app/h", "a/h")}, scope);
  EXPECT_TRUE(st.out_of_scope);
}

TEST_F(ScopedApplyTest, AHardlinkFromOutsideToTheScopeIsACrossLink) {
  PathScope scope({"app"});
  auto st = Apply({Dir("app"), File("app/h", "x"), Hardlink("app/i", "app/h"), Dir("z"),
                   Hardlink("z/h", "app/h")},
                  scope);
  EXPECT_FALSE(st.out_of_scope);
  EXPECT_EQ(st.cross_links, std::vector<std::string>{"app/h"});
  ExpectSame({"app", "app/h", "app/i"});
  EXPECT_FALSE(InScoped("z"));
}

TEST_F(ScopedApplyTest, AChangeNextToAnUnlistedDirectoryOnTheWayGivesUp) {
  PathScope scope({"usr/src/app"});
  Apply({Dir("usr"), Dir("usr/src"), Dir("usr/src/app")}, scope);
  // usr/src gains a child outside the scope, and the layer does not say what usr/src is now:
  // the full tree's usr/src has the unpack's time as its mtime.
  auto st = Apply({File("usr/src/other", "x")}, scope);
  EXPECT_TRUE(st.out_of_scope);
  // Listed, it is exact; at the root, no layer carries the root's metadata anyway.
  EXPECT_FALSE(
      Apply({Dir("usr/src"), File("usr/src/more", "x"), File("top", "x")}, scope).out_of_scope);
  EXPECT_TRUE(Apply({File("usr/.wh.gone", "")}, scope).out_of_scope);
}

TEST_F(ScopedApplyTest, SymlinksOnTheWayAreUnpackedForTheCallerToSee) {
  PathScope scope({"app/x"});
  auto st = Apply({Dir("opt"), Symlink("app", "/opt")}, scope);
  EXPECT_FALSE(st.out_of_scope);
  ExpectSame({"app"});
  EXPECT_FALSE(InScoped("opt"));
}

}  // namespace
}  // namespace ocibuild::oci
