#include "builder/sandbox/fake_creds.h"

#include <gtest/gtest.h>

namespace ocibuild::sandbox {
namespace {

TEST(FakeCredsTest, RootDropsForGood) {
  FakeCreds c = FakeCreds::For(0, 0, {});
  EXPECT_EQ(c.SetGroups({42}), 0);
  EXPECT_EQ(c.SetResGid(42, 42, 42), 0);
  EXPECT_EQ(c.SetResUid(42, 42, 42), 0);
  EXPECT_EQ(c.euid, 42u);
  EXPECT_EQ(c.fsuid, 42u);
  // apt checks exactly this after dropping to _apt.
  EXPECT_EQ(c.SetUid(0), -EPERM);
  EXPECT_EQ(c.SetGroups({}), -EPERM);
}

TEST(FakeCredsTest, SavedIdAllowsRegain) {
  FakeCreds c = FakeCreds::For(0, 0, {});
  EXPECT_EQ(c.SetResUid(FakeCreds::kKeep, 1000, FakeCreds::kKeep), 0);
  EXPECT_EQ(c.euid, 1000u);
  EXPECT_EQ(c.SetResUid(FakeCreds::kKeep, 0, FakeCreds::kKeep), 0);
  EXPECT_EQ(c.euid, 0u);
}

TEST(FakeCredsTest, SetReUidUpdatesSaved) {
  FakeCreds c = FakeCreds::For(0, 0, {});
  EXPECT_EQ(c.SetReUid(1000, 1000), 0);
  EXPECT_EQ(c.suid, 1000u);
  EXPECT_EQ(c.SetReUid(0, FakeCreds::kKeep), -EPERM);
}

TEST(FakeCredsTest, FsUidReturnsOld) {
  FakeCreds c = FakeCreds::For(0, 0, {});
  EXPECT_EQ(c.SetFsUid(5), 0u);
  EXPECT_EQ(c.SetFsUid(FakeCreds::kKeep), 5u);
}

}  // namespace
}  // namespace ocibuild::sandbox
