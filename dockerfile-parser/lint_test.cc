#include "dockerfile-parser/lint.h"

#include <gtest/gtest.h>

namespace ocibuild::dockerfile {
namespace {

std::vector<std::string> Rules(const std::string& text, const std::string& check = "") {
  auto f = ParseDockerfile(text);
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error().message);
  if (!f.ok()) return {};
  auto cfg = ParseCheckConfig(check);
  EXPECT_TRUE(cfg.ok());
  std::vector<std::string> out;
  for (const auto& w : Lint(*f, *cfg)) out.push_back(w.rule + "@" + std::to_string(w.line));
  return out;
}

TEST(Lint, BuildKitRules) {
  EXPECT_EQ(Rules("FROM scratch AS Build\nCMD echo hi\n"),
            (std::vector<std::string>{"StageNameCasing@1", "JSONArgsRecommended@2"}));
  EXPECT_EQ(Rules("FROM scratch as a\n"), std::vector<std::string>{"FromAsCasing@1"});
  EXPECT_EQ(Rules("FROM scratch AS a\nFROM scratch AS a\n"),
            std::vector<std::string>{"DuplicateStageName@2"});
  EXPECT_EQ(Rules("FROM scratch\nrun true\nRUN true\nRUN true\n"),
            std::vector<std::string>{"ConsistentInstructionCasing@2"});
  EXPECT_EQ(Rules("FROM scratch\nMAINTAINER me\nENV A b\nWORKDIR app\nEXPOSE 80/TCP\n"),
            (std::vector<std::string>{"MaintainerDeprecated@2", "LegacyKeyValueFormat@3",
                                      "WorkdirRelativePath@4", "ExposeProtoCasing@5"}));
  EXPECT_EQ(Rules("FROM scratch\nARG API_TOKEN\nENV DB_PASSWORD=x\n"),
            (std::vector<std::string>{"SecretsUsedInArgOrEnv@2", "SecretsUsedInArgOrEnv@3"}));
  EXPECT_EQ(Rules("FROM scratch\nCMD [\"a\"]\nCMD [\"b\"]\n"),
            std::vector<std::string>{"MultipleInstructionsDisallowed@3"});
  EXPECT_EQ(Rules("FROM alpine:$V\n"), std::vector<std::string>{"UndefinedArgInFrom@1"});
  EXPECT_TRUE(Rules("ARG V=1\nFROM alpine:$V\n").empty());
  EXPECT_EQ(
      Rules("FROM --platform=linux/amd64 alpine\nFROM --platform=$TARGETPLATFORM alpine\n"),
      (std::vector<std::string>{"FromPlatformFlagConstDisallowed@1", "RedundantTargetPlatform@2"}));
}

TEST(Lint, CheckDirectiveSkipsAndErrors) {
  EXPECT_TRUE(Rules("FROM scratch\nCMD echo\n", "skip=JSONArgsRecommended").empty());
  EXPECT_TRUE(Rules("FROM scratch AS X\nCMD echo\n", "skip=all").empty());
  auto c = ParseCheckConfig("skip=A,B;error=true");
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->error);
  EXPECT_EQ(c->skip.size(), 2u);
  EXPECT_FALSE(ParseCheckConfig("frobnicate=1").ok());
  auto f = ParseDockerfile("FROM scratch\nCMD echo hi\n");
  ASSERT_TRUE(f.ok());
  auto w = Lint(*f, {});
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].url, "https://docs.docker.com/go/dockerfile/rule/json-args-recommended/");
  EXPECT_NE(FormatLintLocation(*f, w[0]).find("   2 | >>> CMD echo hi"), std::string::npos)
      << FormatLintLocation(*f, w[0]);
}

}  // namespace
}  // namespace ocibuild::dockerfile
