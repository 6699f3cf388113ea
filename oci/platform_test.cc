#include "oci/platform.h"

#include <gtest/gtest.h>

namespace ocibuild::oci {
namespace {

Platform P(std::string os, std::string arch, std::string variant = "") {
  Platform p;
  p.os = std::move(os);
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  return p;
}

TEST(Platform, ParsesAndNormalises) {
  struct Case {
    std::string in, want;
  };
  const Case cases[] = {
      {"linux/amd64", "linux/amd64"},       {"linux/x86_64", "linux/amd64"},
      {"linux/x86-64", "linux/amd64"},      {"linux/amd64/v1", "linux/amd64"},
      {"linux/amd64/v3", "linux/amd64/v3"}, {"Linux/AMD64", "linux/amd64"},
      {"linux/aarch64", "linux/arm64/v8"},  {"linux/arm64", "linux/arm64/v8"},
      {"linux/arm64/8", "linux/arm64/v8"},  {"linux/arm64/v9.0", "linux/arm64/v9"},
      {"linux/arm", "linux/arm/v7"},        {"linux/arm/7", "linux/arm/v7"},
      {"linux/arm/6", "linux/arm/v6"},      {"linux/armhf", "linux/arm/v7"},
      {"linux/armel", "linux/arm/v6"},      {"linux/armv7l", "linux/arm/v7"},
      {"linux/i686", "linux/386"},          {"linux/ppc64le", "linux/ppc64le"},
      {"linux/riscv64", "linux/riscv64"},   {"windows/amd64", "windows/amd64"},
      {"macos/arm64", "darwin/arm64/v8"},
  };
  for (const Case& c : cases) {
    auto p = Platform::Parse(c.in);
    ASSERT_TRUE(p.ok()) << c.in << ": " << p.error().message;
    EXPECT_EQ(p->str(), c.want) << c.in;
  }
}

TEST(Platform, LoneComponentTakesTheRestFromTheHost) {
  Platform host = Platform::Host();
  EXPECT_EQ(host.os, "linux");
  EXPECT_EQ(Platform::Parse("linux")->str(), host.str());
  EXPECT_EQ(Platform::Parse("arm64")->str(), "linux/arm64/v8");
  EXPECT_EQ(Platform::Parse("windows")->architecture, host.architecture);
}

TEST(Platform, RejectsMalformed) {
  EXPECT_EQ(Platform::Parse("").error().message, "invalid platform \"\": empty");
  EXPECT_EQ(Platform::Parse("linux/").error().message,
            "invalid platform \"linux/\": empty or invalid component \"\"");
  EXPECT_EQ(Platform::Parse("linux/arm/v7/x").error().message,
            "invalid platform \"linux/arm/v7/x\": want os/arch[/variant]");
  EXPECT_EQ(Platform::Parse("linux/am d64").error().message,
            "invalid platform \"linux/am d64\": empty or invalid component \"am d64\"");
}

TEST(Platform, FromUnameMachine) {
  EXPECT_EQ(Platform::FromUnameMachine("x86_64").str(), "linux/amd64");
  EXPECT_EQ(Platform::FromUnameMachine("aarch64").str(), "linux/arm64/v8");
  EXPECT_EQ(Platform::FromUnameMachine("armv7l").str(), "linux/arm/v7");
  EXPECT_EQ(Platform::FromUnameMachine("armv6l").str(), "linux/arm/v6");
  EXPECT_EQ(Platform::FromUnameMachine("i686").str(), "linux/386");
  EXPECT_EQ(Platform::FromUnameMachine("s390x").str(), "linux/s390x");
}

TEST(Platform, MatchesTable) {
  struct Case {
    Platform want, have;
    bool match;
  };
  const Case cases[] = {
      {P("linux", "amd64"), P("linux", "amd64"), true},
      {P("linux", "amd64"), P("linux", "x86_64"), true},
      {P("linux", "arm64"), P("linux", "arm64", "v8"), true},
      {P("linux", "arm64", "v8"), P("linux", "aarch64"), true},
      {P("linux", "arm"), P("linux", "arm", "v7"), true},
      {P("linux", "arm", "v7"), P("linux", "armhf"), true},
      {P("linux", "arm", "v7"), P("linux", "arm", "v6"), false},
      {P("linux", "arm", "v6"), P("linux", "arm", "v7"), false},
      {P("linux", "amd64"), P("windows", "amd64"), false},
      {P("linux", "amd64"), P("linux", "arm64"), false},
      {P("linux", "amd64", "v2"), P("linux", "amd64"), false},
  };
  for (const Case& c : cases)
    EXPECT_EQ(PlatformMatches(c.want, c.have), c.match) << c.want.str() << " vs " << c.have.str();
}

std::vector<std::string> Strs(const std::vector<Platform>& ps) {
  std::vector<std::string> out;
  for (const Platform& p : ps) out.push_back(p.str());
  return out;
}

TEST(Platform, CompatibleOrder) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Strs(CompatiblePlatforms(P("linux", "arm", "v7"))),
            (V{"linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}));
  EXPECT_EQ(Strs(CompatiblePlatforms(P("linux", "arm", "v5"))), (V{"linux/arm/v5"}));
  EXPECT_EQ(Strs(CompatiblePlatforms(P("linux", "arm64"))),
            (V{"linux/arm64/v8", "linux/arm/v8", "linux/arm/v7", "linux/arm/v6", "linux/arm/v5"}));
  EXPECT_EQ(Strs(CompatiblePlatforms(P("linux", "amd64", "v3"))),
            (V{"linux/amd64/v3", "linux/amd64/v2", "linux/amd64", "linux/386"}));
  EXPECT_EQ(Strs(CompatiblePlatforms(P("linux", "amd64"))), (V{"linux/amd64", "linux/386"}));
  EXPECT_EQ(Strs(CompatiblePlatforms(P("linux", "s390x"))), (V{"linux/s390x"}));
}

TEST(Platform, SelectPrefersExactThenCompatible) {
  std::vector<Platform> list = {P("linux", "386"), P("linux", "arm", "v6"), P("linux", "amd64"),
                                P("linux", "arm", "v7")};
  EXPECT_EQ(SelectPlatform(list, P("linux", "amd64")), 2u);
  EXPECT_EQ(SelectPlatform(list, P("linux", "arm", "v7")), 3u);
  EXPECT_EQ(SelectPlatform(list, P("linux", "arm64")), 3u);  // arm/v7 beats arm/v6
  EXPECT_EQ(SelectPlatform(list, P("linux", "arm64"), /*strict=*/true), std::nullopt);
  EXPECT_EQ(SelectPlatform(list, P("linux", "amd64", "v2")), 2u);
  EXPECT_EQ(SelectPlatform(list, P("linux", "riscv64")), std::nullopt);
  EXPECT_EQ(SelectPlatform({P("linux", "386")}, P("linux", "amd64")), 0u);
  EXPECT_EQ(SelectPlatform({P("linux", "386")}, P("linux", "amd64"), true), std::nullopt);
}

TEST(Platform, JsonRoundTrip) {
  Platform p = P("windows", "amd64");
  p.os_version = "10.0.17763.5576";
  p.os_features = {"win32k"};
  EXPECT_EQ(CanonicalJson(p.ToJson()),
            R"({"architecture":"amd64","os":"windows","os.features":["win32k"],)"
            R"("os.version":"10.0.17763.5576"})");
  auto back = Platform::FromJson(p.ToJson(), "platform");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, p);
  EXPECT_EQ(Platform::FromJson(Json{{"os", "linux"}}, "x").error().message,
            "x: \"os\" and \"architecture\" are required");
  EXPECT_EQ(Platform::FromJson(Json{{"os", "linux"}, {"architecture", 5}}, "x").error().message,
            "x: field \"architecture\" must be a string");
}

}  // namespace
}  // namespace ocibuild::oci
