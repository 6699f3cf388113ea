#include "builder/user_db.h"

#include <gtest/gtest.h>

namespace ocibuild::builder {
namespace {

const char kPasswd[] =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "_apt:x:42:65534::/nonexistent:/usr/sbin/nologin\n"
    "app:x:1000:1000::/home/app:/bin/sh\n"
    "broken line\n"
    "# comment\n";
const char kGroup[] =
    "root:x:0:\n"
    "daemon:x:1:\n"
    "staff:x:50:app,other\n"
    "app:x:1000:\n"
    "docker:x:999:app\n"
    "nogroup:x:65534:\n";

UserDb Db() { return UserDb::Parse(kPasswd, kGroup); }

TEST(UserDb, NameTakesPrimaryGroupAndMemberships) {
  auto id = Db().ResolveUser("app");
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->uid, 1000u);
  EXPECT_EQ(id->gid, 1000u);
  EXPECT_EQ(id->groups, (std::vector<uint32_t>{50, 999}));
  EXPECT_EQ(id->home, "/home/app");
}

TEST(UserDb, EmptyIsRoot) {
  auto id = Db().ResolveUser("");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->uid, 0u);
  EXPECT_EQ(id->home, "/root");
}

TEST(UserDb, RootWithoutPasswdFile) {
  auto id = UserDb::Parse("", "").ResolveUser("");
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(id->uid, 0u);
  EXPECT_EQ(id->gid, 0u);
  EXPECT_EQ(id->home, "/");
}

TEST(UserDb, NumericUserNeedNotExist) {
  auto id = Db().ResolveUser("4242");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->uid, 4242u);
  EXPECT_EQ(id->gid, 0u);
  EXPECT_EQ(id->home, "/");
  auto known = Db().ResolveUser("42");
  ASSERT_TRUE(known.ok());
  EXPECT_EQ(known->gid, 65534u);
}

TEST(UserDb, ExplicitGroup) {
  auto id = Db().ResolveUser("app:staff");
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->gid, 50u);
  EXPECT_TRUE(id->groups.empty());
  auto num = Db().ResolveUser("1000:7");
  ASSERT_TRUE(num.ok());
  EXPECT_EQ(num->gid, 7u);
}

TEST(UserDb, Errors) {
  EXPECT_EQ(Db().ResolveUser("nobody").error().message,
            "unable to find user nobody: no matching entries in passwd file");
  EXPECT_EQ(Db().ResolveUser("app:wheel").error().message,
            "unable to find group wheel: no matching entries in group file");
  EXPECT_EQ(Db().ResolveUser(":0").error().message, "invalid user \":0\": empty user name");
}

TEST(UserDb, Chown) {
  EXPECT_EQ(*Db().ResolveChown("app"), (std::pair<uint32_t, uint32_t>{1000, 1000}));
  EXPECT_EQ(*Db().ResolveChown("_apt"), (std::pair<uint32_t, uint32_t>{42, 42}));
  EXPECT_EQ(*Db().ResolveChown("app:docker"), (std::pair<uint32_t, uint32_t>{1000, 999}));
  EXPECT_EQ(*Db().ResolveChown("10:11"), (std::pair<uint32_t, uint32_t>{10, 11}));
  EXPECT_EQ(Db().ResolveChown("ghost:1").error().message,
            "invalid --chown \"ghost:1\": unable to find user ghost: no matching entries in "
            "passwd file");
}

}  // namespace
}  // namespace ocibuild::builder
