#include "cli/state_root.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::cli {
namespace {

TEST(StateRoot, ExplicitRootIsCreatedAndKept) {
  auto tmp = TempDir::Create();
  ASSERT_TRUE(tmp.ok());
  std::string root = JoinPath(tmp->path(), "a/b/root");
  auto r = ChooseStateRoot({{"OCIBUILD_ROOT", root}, {"HOME", tmp->path()}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->path, root);
  EXPECT_EQ(r->source, "OCIBUILD_ROOT");
  EXPECT_TRUE(PathExists(root));
  // An explicit choice that cannot be used is an error, not a silent fallback.
  auto bad = ChooseStateRoot({{"OCIBUILD_ROOT", "/proc/1/ocibuild"}, {"HOME", tmp->path()}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("OCIBUILD_ROOT=/proc/1/ocibuild cannot be used"),
            std::string::npos)
      << bad.error().message;
}

TEST(StateRoot, XdgThenHomeThenTmp) {
  auto tmp = TempDir::Create();
  ASSERT_TRUE(tmp.ok());
  auto xdg = ChooseStateRoot(
      {{"XDG_CACHE_HOME", JoinPath(tmp->path(), "xdg")}, {"HOME", JoinPath(tmp->path(), "home")}});
  ASSERT_TRUE(xdg.ok());
  EXPECT_EQ(xdg->path, JoinPath(tmp->path(), "xdg/ocibuild"));
  auto home = ChooseStateRoot({{"HOME", JoinPath(tmp->path(), "home")}});
  ASSERT_TRUE(home.ok());
  EXPECT_EQ(home->path, JoinPath(tmp->path(), "home/.cache/ocibuild"));
  EXPECT_EQ(home->source, "HOME");
  // Nothing can be created under /proc: the temp fallback is taken, and the reason kept.
  auto fallback = ChooseStateRoot({{"HOME", "/proc/1/nohome"}, {"TMPDIR", tmp->path()}});
  ASSERT_TRUE(fallback.ok()) << fallback.error().message;
  EXPECT_EQ(fallback->path, JoinPath(tmp->path(), "ocibuild-" + std::to_string(::getuid())));
  EXPECT_EQ(fallback->source, "TMPDIR");
  EXPECT_NE(fallback->skipped.find("/proc/1/nohome"), std::string::npos) << fallback->skipped;
}

}  // namespace
}  // namespace ocibuild::cli
