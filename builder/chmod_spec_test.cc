#include "builder/chmod_spec.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

namespace ocibuild::builder {
namespace {

uint32_t On(const char* spec, uint32_t mode) {
  auto c = ChmodSpec::Parse(spec);
  EXPECT_TRUE(c.ok()) << spec << ": " << (c.ok() ? "" : c.error().message);
  return c.ok() ? c->Apply(mode) : 0;
}

TEST(ChmodSpec, Octal) {
  EXPECT_EQ(On("755", S_IFREG | 0600), 0755u);
  EXPECT_EQ(On("0", S_IFREG | 0644), 0u);
  EXPECT_EQ(On("4755", S_IFREG | 0644), 04755u);
  EXPECT_EQ(*ChmodSpec::Parse("0644")->octal(), 0644u);
}

TEST(ChmodSpec, NumericLookingButInvalidKeepsBuildKitsMessage) {
  for (const char* bad : {"64a", "10000", "9", "0x1"}) {
    auto c = ChmodSpec::Parse(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_EQ(c.error().message, std::string("invalid chmod parameter: '") + bad +
                                     "'. it should be octal string and between 0 and 07777");
  }
  EXPECT_FALSE(ChmodSpec::Parse("abc").ok());
  EXPECT_FALSE(ChmodSpec::Parse("u+").ok() && false);
  EXPECT_FALSE(ChmodSpec::Parse("u+rw,").ok());
  EXPECT_FALSE(ChmodSpec::Parse("").ok());
}

TEST(ChmodSpec, SymbolicAsChmod) {
  EXPECT_EQ(On("go-w", S_IFREG | 0666), 0644u);
  EXPECT_EQ(On("u=rw,g=r,o=r", S_IFREG | 0777), 0644u);
  EXPECT_EQ(On("a+X", S_IFREG | 0666), 0666u);
  EXPECT_EQ(On("a+X", S_IFREG | 0744), 0755u);
  EXPECT_EQ(On("go-w", S_IFDIR | 0124), 0104u);
  EXPECT_EQ(On("u+rw,g+r,o-x,o+w", S_IFDIR | 0124), 0766u);
  EXPECT_EQ(On("a+X", S_IFDIR | 0124), 0135u);
  EXPECT_EQ(On("+x", S_IFREG | 0644), 0755u);
  EXPECT_EQ(On("u=rwx,go=", S_IFREG | 0644), 0700u);
  EXPECT_EQ(On("g=u", S_IFREG | 0640), 0660u);
  EXPECT_EQ(On("u+s,g+s", S_IFREG | 0755), 06755u);
  EXPECT_EQ(On("+t", S_IFDIR | 0777), 01777u);
  EXPECT_EQ(On("u+r-w", S_IFREG | 0200), 0400u);
}

}  // namespace
}  // namespace ocibuild::builder
