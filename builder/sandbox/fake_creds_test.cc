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

TEST(FakeCredsTest, KeepCapsLetsSetprivSwitchGidAfterUid) {
  FakeCreds c = FakeCreds::For(0, 0, {});
  c.keepcaps = true;
  EXPECT_EQ(c.SetResUid(1000, 1000, 1000), 0);
  EXPECT_EQ(c.cap_eff, 0u);
  EXPECT_EQ(c.cap_prm, FakeCreds::kAllCaps);
  EXPECT_EQ(c.SetResGid(1000, 1000, 1000), -EPERM);
  EXPECT_EQ(c.SetCaps(FakeCreds::kAllCaps, FakeCreds::kAllCaps, 0), 0);
  EXPECT_EQ(c.SetResGid(1000, 1000, 1000), 0);
  c.OnExec();
  EXPECT_EQ(c.cap_prm, 0u);
}

TEST(FakeCredsTest, WithoutKeepCapsEverythingIsLost) {
  FakeCreds c = FakeCreds::For(0, 0, {});
  EXPECT_EQ(c.SetResUid(1000, 1000, 1000), 0);
  EXPECT_EQ(c.cap_prm, 0u);
  EXPECT_EQ(c.SetCaps(1, 1, 0), -EPERM);
}

}  // namespace
}  // namespace ocibuild::sandbox
