#include "dockerfile-parser/stage_graph.h"

#include <gtest/gtest.h>

#include <chrono>

#include "dockerfile-parser/plan.h"

namespace ocibuild::dockerfile {
namespace {

PlanOptions Amd64(std::map<std::string, std::string> args = {}, std::string target = "") {
  PlanOptions o;
  o.build_args = std::move(args);
  o.target = std::move(target);
  o.target_platform = "linux/amd64";
  o.build_platform = "linux/amd64";
  return o;
}

BuildPlan MustPlan(std::string_view df, const PlanOptions& o) {
  auto r = PlanDockerfile(df, "Dockerfile", o);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? std::move(r).value() : BuildPlan{};
}

std::vector<std::string> Names(const BuildPlan& p) {
  std::vector<std::string> out;
  for (const auto& s : p.stages) out.push_back(s.display_name);
  return out;
}

std::string FirstLine(const Result<BuildPlan>& r) {
  if (r.ok()) return "ok";
  return r.error().message.substr(0, r.error().message.find('\n'));
}

constexpr char kMulti[] =
    "FROM golang:1.22 AS build\n"
    "RUN go build -o /out/app\n"
    "FROM alpine AS docs\n"
    "RUN make docs\n"
    "FROM build AS test\n"
    "RUN go test ./...\n"
    "FROM scratch\n"
    "COPY --from=build /out/app /app\n";

TEST(StageGraph, UnusedStagesArePruned) {
  BuildPlan p = MustPlan(kMulti, Amd64());
  EXPECT_EQ(Names(p), (std::vector<std::string>{"build", "stage-3"}));
  EXPECT_EQ(p.target, 3);
  EXPECT_EQ(p.stages[1].base.kind, StageBase::Kind::kScratch);
  ASSERT_EQ(p.stages[1].deps.size(), 1u);
  EXPECT_EQ(p.stages[1].deps[0].stage, 0);
}

TEST(StageGraph, TargetSelectsItsAncestry) {
  BuildPlan p = MustPlan(kMulti, Amd64({}, "TEST"));
  EXPECT_EQ(Names(p), (std::vector<std::string>{"build", "test"}));
  EXPECT_EQ(p.stages[1].base.kind, StageBase::Kind::kStage);
  EXPECT_EQ(p.stages[1].base.stage, 0);
}

TEST(StageGraph, UnknownTargetSuggests) {
  EXPECT_EQ(FirstLine(PlanDockerfile(kMulti, "Dockerfile", Amd64({}, "tset"))),
            "target stage \"tset\" could not be found (did you mean test?)");
}

TEST(StageGraph, CopyFromIndexAndImage) {
  BuildPlan p = MustPlan(
      "FROM a\nRUN x\nFROM b\nCOPY --from=0 /x /x\nCOPY --from=nginx:latest /etc/nginx /n\n",
      Amd64());
  EXPECT_EQ(Names(p), (std::vector<std::string>{"stage-0", "stage-1"}));
  ASSERT_EQ(p.stages[1].deps.size(), 2u);
  EXPECT_EQ(p.stages[1].deps[0].stage, 0);
  EXPECT_EQ(p.stages[1].deps[1].stage, -1);
  EXPECT_EQ(p.stages[1].deps[1].image, "nginx:latest");
}

TEST(StageGraph, CopyFromErrors) {
  EXPECT_EQ(FirstLine(PlanDockerfile("FROM a\nCOPY --from=5 /x /x\n", "Dockerfile", Amd64())),
            "Dockerfile:2:6: invalid stage index 5");
  EXPECT_EQ(FirstLine(PlanDockerfile("FROM a AS first\nCOPY --from=later /x /x\nFROM b AS later\n",
                                     "Dockerfile", Amd64({}, "first"))),
            "Dockerfile:2:6: cannot copy from stage \"later\", it needs to be defined before "
            "current stage \"first\"");
  // Not needed by the target: no error (BuildKit only dispatches what the target needs).
  EXPECT_TRUE(PlanDockerfile("FROM a AS first\nCOPY --from=later /x /x\nFROM b AS later\n",
                             "Dockerfile", Amd64())
                  .ok());
  EXPECT_EQ(FirstLine(PlanDockerfile("FROM a\nCOPY --from=later /x /x\nFROM b AS later\n",
                                     "Dockerfile", Amd64({}, "stage-0"))),
            "target stage \"stage-0\" could not be found");
  EXPECT_EQ(FirstLine(PlanDockerfile("FROM a\nCOPY --from=$X /x /x\n", "Dockerfile", Amd64())),
            "Dockerfile:2:6: variable expansion is not supported for --from, define a new stage "
            "with FROM using ARG from global scope as a workaround");
}

TEST(StageGraph, MountFromLaterStageIsAnError) {
  auto r = PlanDockerfile(
      "FROM a AS first\nRUN --mount=type=bind,from=second,target=/s x\n"
      "FROM b AS second\nRUN y\n",
      "Dockerfile", Amd64({}, "first"));
  EXPECT_EQ(FirstLine(r),
            "Dockerfile:2:23: cannot mount from stage \"second\" to \"/s\", stage needs to be "
            "defined before current command");
}

TEST(StageGraph, MountFromNamesStagesOnly) {
  BuildPlan p = MustPlan("FROM a\nFROM b\nRUN --mount=from=0,target=/z x\n", Amd64());
  ASSERT_EQ(p.stages.size(), 1u);
  ASSERT_EQ(p.stages[0].deps.size(), 1u);
  EXPECT_EQ(p.stages[0].deps[0].image, "0");
}

// BuildKit's TestDockerfileCircularDependencies, same messages.
TEST(StageGraph, SelfReferenceIsCircular) {
  EXPECT_EQ(FirstLine(PlanDockerfile("FROM busybox AS stage0\nCOPY --from=stage0 f1 /sub/\n",
                                     "Dockerfile", Amd64())),
            "Dockerfile:2:6: circular dependency detected on stage: stage0");
}

TEST(StageGraph, CycleThroughSeveralStages) {
  constexpr char kDf[] =
      "FROM busybox AS stage0\nCOPY --from=stage2 f1 /sub/\n"
      "FROM busybox AS stage1\nCOPY --from=stage0 f2 /sub/\n"
      "FROM busybox AS stage2\nCOPY --from=stage1 f2 /sub/\n";
  EXPECT_EQ(FirstLine(PlanDockerfile(kDf, "Dockerfile", Amd64())),
            "Dockerfile:2:6: circular dependency detected on stage: stage0");
}

TEST(StageGraph, CycleViaMountAndFrom) {
  auto r = PlanDockerfile(
      "FROM a AS one\nRUN --mount=from=two,target=/t x\n"
      "FROM one AS two\nRUN y\n",
      "Dockerfile", Amd64({}, "two"));
  EXPECT_EQ(FirstLine(r), "Dockerfile:2:13: circular dependency detected on stage: one");
}

TEST(StageGraph, FromOnlySeesEarlierStages) {
  BuildPlan p = MustPlan("FROM alpine AS alpine\nRUN x\n", Amd64());
  EXPECT_EQ(p.stages[0].base.kind, StageBase::Kind::kImage);
  EXPECT_EQ(p.stages[0].base.image, "alpine");
}

TEST(StageGraph, DuplicateStageName) {
  EXPECT_EQ(FirstLine(PlanDockerfile("FROM a AS x\nFROM b AS X\n", "Dockerfile", Amd64())),
            "Dockerfile:2:1: duplicate stage name \"x\" (first defined on line 1)");
}

TEST(StageGraph, LongChainsNeitherRecurseNorGoQuadratic) {
  std::string df = "FROM alpine AS s0\n";
  for (int i = 1; i < 20000; ++i) {
    df += "FROM s" + std::to_string(i - 1) + " AS s" + std::to_string(i) + "\n";
    df += "COPY --from=s" + std::to_string(i / 2) + " /a /a\n";
  }
  auto t0 = std::chrono::steady_clock::now();
  BuildPlan p = MustPlan(df, Amd64());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(p.stages.size(), 20000u);
  EXPECT_EQ(p.stages.front().display_name, "s0");
  EXPECT_EQ(p.stages.back().display_name, "s19999");
  EXPECT_LT(secs, 10.0);
}

TEST(GlobalArgs, ExpandFromAndPlatform) {
  constexpr char kDf[] =
      "ARG BASE=alpine\nARG TAG=3.19\n"
      "FROM --platform=$BUILDPLATFORM ${BASE}:${TAG} AS build\nARG TARGETARCH\n"
      "FROM $BASE\nCOPY --from=build /a /a\n";
  PlanOptions o = Amd64({{"TAG", "3.20"}});
  o.target_platform = "linux/arm64";
  BuildPlan p = MustPlan(kDf, o);
  ASSERT_EQ(p.stages.size(), 2u);
  EXPECT_EQ(p.stages[0].base.image, "alpine:3.20");
  EXPECT_EQ(p.stages[0].platform.ToString(), "linux/amd64");
  EXPECT_EQ(p.stages[1].base.image, "alpine");
  EXPECT_EQ(p.stages[1].platform.ToString(), "linux/arm64");
  EXPECT_EQ(p.global_args.Get("TARGETARCH"), std::optional<std::string>("arm64"));
  EXPECT_EQ(p.global_args.Get("BUILDPLATFORM"), std::optional<std::string>("linux/amd64"));
  // An unnamed target stage is "default" (BuildKit).
  EXPECT_EQ(p.global_args.Get("TARGETSTAGE"), std::optional<std::string>("default"));
  // A stage re-declares a global/predefined ARG to see it.
  ShellLex lex;
  auto vals = ResolveStageArg(std::get<ArgInstr>(p.stages[0].steps[0].instr), p, Env{}, lex);
  ASSERT_TRUE(vals.ok());
  EXPECT_EQ((*vals)[0].second, std::optional<std::string>("arm64"));
}

TEST(GlobalArgs, PredefinedPlatformArgs) {
  PlanOptions o = Amd64();
  o.target_platform = "linux/arm/v7";
  BuildPlan p = MustPlan("FROM a\n", o);
  EXPECT_EQ(p.global_args.Get("TARGETPLATFORM"), std::optional<std::string>("linux/arm/v7"));
  EXPECT_EQ(p.global_args.Get("TARGETOS"), std::optional<std::string>("linux"));
  EXPECT_EQ(p.global_args.Get("TARGETARCH"), std::optional<std::string>("arm"));
  EXPECT_EQ(p.global_args.Get("TARGETVARIANT"), std::optional<std::string>("v7"));
  EXPECT_EQ(p.global_args.Get("BUILDOS"), std::optional<std::string>("linux"));
  EXPECT_EQ(p.global_args.Get("BUILDARCH"), std::optional<std::string>("amd64"));
}

TEST(GlobalArgs, ProxySourceDateEpochAndUnused) {
  BuildPlan p =
      MustPlan("ARG USED\nFROM a\nARG LOCAL\n", Amd64({{"http_proxy", "http://p:3128"},
                                                       {"SOURCE_DATE_EPOCH", "1700000000"},
                                                       {"USED", "1"},
                                                       {"LOCAL", "2"},
                                                       {"NOPE", "3"}}));
  ASSERT_EQ(p.proxy_env.size(), 1u);
  EXPECT_EQ(p.proxy_env[0].first, "http_proxy");
  EXPECT_EQ(p.source_date_epoch, std::optional<int64_t>(1700000000));
  ASSERT_EQ(p.warnings.size(), 1u);
  EXPECT_EQ(p.warnings[0], "one or more build args were not consumed: NOPE");
  EXPECT_EQ(
      FirstLine(PlanDockerfile("FROM a\n", "Dockerfile", Amd64({{"SOURCE_DATE_EPOCH", "soon"}}))),
      "invalid SOURCE_DATE_EPOCH: soon");
}

TEST(GlobalArgs, StageArgResolution) {
  BuildPlan p = MustPlan("ARG G=global\nFROM a\nARG G\nARG D=$X-d\nARG NONE\n", Amd64());
  ShellLex lex;
  const auto& steps = p.stages[0].steps;
  auto g = ResolveStageArg(std::get<ArgInstr>(steps[0].instr), p, Env{}, lex);
  EXPECT_EQ((*g)[0].second, std::optional<std::string>("global"));
  auto d = ResolveStageArg(std::get<ArgInstr>(steps[1].instr), p, Env{{"X", "x"}}, lex);
  EXPECT_EQ((*d)[0].second, std::optional<std::string>("x-d"));
  auto n = ResolveStageArg(std::get<ArgInstr>(steps[2].instr), p, Env{}, lex);
  EXPECT_EQ((*n)[0].second, std::nullopt);
}

TEST(GlobalArgs, BlankBaseAndBadPlatform) {
  EXPECT_EQ(FirstLine(PlanDockerfile("ARG B\nFROM $B\n", "Dockerfile", Amd64())),
            "Dockerfile:2:6: base name ($B) should not be blank");
  EXPECT_EQ(FirstLine(PlanDockerfile("FROM --platform=$NOPE a\n", "Dockerfile", Amd64())),
            "Dockerfile:1:6: empty platform value from expression $NOPE");
  EXPECT_EQ(
      FirstLine(PlanDockerfile("FROM --platform=linux/amd64/v1/x a\n", "Dockerfile", Amd64())),
      "Dockerfile:1:6: failed to parse platform linux/amd64/v1/x: "
      "\"linux/amd64/v1/x\": cannot parse platform: too many components");
}

TEST(Platforms, Normalisation) {
  EXPECT_EQ(ParseBuildPlatform("linux/aarch64")->ToString(), "linux/arm64");
  EXPECT_EQ(ParseBuildPlatform("linux/arm64/v8")->ToString(), "linux/arm64");
  EXPECT_EQ(ParseBuildPlatform("linux/arm")->ToString(), "linux/arm/v7");
  EXPECT_EQ(ParseBuildPlatform("x86_64")->ToString(), "linux/amd64");
  EXPECT_EQ(ParseBuildPlatform("linux/armhf")->ToString(), "linux/arm/v7");
  EXPECT_EQ(PlatformFromUname("aarch64").ToString(), "linux/arm64");
  EXPECT_EQ(PlatformFromUname("armv7l").ToString(), "linux/arm/v7");
  EXPECT_EQ(PlatformFromUname("x86_64").ToString(), "linux/amd64");
  EXPECT_FALSE(ParseBuildPlatform("").ok());
  EXPECT_EQ(ParseBuildPlatform("beos/x").error().message,
            "\"beos/x\": unknown operating system or architecture");
}

TEST(FormatPlan, ShowsStagesAndSteps) {
  BuildPlan p = MustPlan(kMulti, Amd64());
  EXPECT_EQ(FormatPlan(p),
            "Dockerfile: Dockerfile\n"
            "Build platform: linux/amd64\n"
            "Target platform: linux/amd64\n"
            "Target: stage-3\n"
            "Stages to build: 2\n"
            "\n"
            "[0] build (line 1)\n"
            "    FROM image golang:1.22 [linux/amd64]\n"
            "       2: RUN go build -o /out/app\n"
            "\n"
            "[3] stage-3 (line 7)\n"
            "    FROM scratch [linux/amd64]\n"
            "    needs stage build (COPY, line 8)\n"
            "       8: COPY --from=build /out/app /app\n");
}

TEST(Lint, LegacyFormsAndMaintainer) {
  constexpr char kDf[] = "FROM a\nENV K v\nLABEL k v\nMAINTAINER me\nENV K=v\n";
  BuildPlan p = MustPlan(kDf, Amd64());
  EXPECT_EQ(p.warnings,
            (std::vector<std::string>{
                "Dockerfile:2: LegacyKeyValueFormat: \"ENV key=value\" should be used instead "
                "of legacy \"ENV key value\" format",
                "Dockerfile:3: LegacyKeyValueFormat: \"LABEL key=value\" should be used instead "
                "of legacy \"LABEL key value\" format",
                "Dockerfile:4: MaintainerDeprecated: Maintainer instruction is deprecated in "
                "favor of using label"}));
  BuildPlan skipped = MustPlan(std::string("# check=skip=LegacyKeyValueFormat\n") + kDf, Amd64());
  ASSERT_EQ(skipped.warnings.size(), 1u);
  EXPECT_EQ(skipped.check, "skip=LegacyKeyValueFormat");
  EXPECT_TRUE(MustPlan(std::string("# check=skip=all\n") + kDf, Amd64()).warnings.empty());
}

TEST(FormatPlan, ResolvedBasesImagesAndWarnings) {
  BuildPlan p = MustPlan(
      "ARG V=3.20\nFROM --platform=linux/arm64 alpine:$V\n"
      "RUN --mount=type=bind,from=busybox,target=/b true\n",
      Amd64({{"NOPE", "1"}}));
  EXPECT_EQ(FormatPlan(p),
            "Dockerfile: Dockerfile\n"
            "Build platform: linux/amd64\n"
            "Target platform: linux/amd64\n"
            "Target: stage-0\n"
            "Stages to build: 1\n"
            "\n"
            "[0] stage-0 (line 2)\n"
            "    FROM image alpine:3.20 (from alpine:$V) [linux/arm64]\n"
            "    needs image busybox (RUN mount, line 3)\n"
            "       3: RUN --mount=type=bind,target=/b,from=busybox true\n"
            "\n"
            "warning: one or more build args were not consumed: NOPE\n");
}

}  // namespace
}  // namespace ocibuild::dockerfile

namespace ocibuild::dockerfile {
namespace {

TEST(Syntax, OnlyTheDockerfileFrontend) {
  for (const char* ok : {"docker/dockerfile:1", "docker/dockerfile:1.7", "docker/dockerfile:1.7.1",
                         "docker/dockerfile:1-labs", "docker.io/docker/dockerfile:1",
                         "docker/dockerfile-upstream:master", "docker/dockerfile",
                         "docker/dockerfile:1@sha256:"
                         "9857836c9ee4268391bb5b09f9f157f3c91bb15821bb77969642813b0d00518d"})
    EXPECT_TRUE(IsDockerfileFrontend(ok)) << ok;
  for (const char* bad : {"foobar", "docker/dockerfile:0.9", "example.com/my/frontend:1",
                          "docker/dockerfile:1@md5:abc"})
    EXPECT_FALSE(IsDockerfileFrontend(bad)) << bad;
  auto p = PlanDockerfile("#syntax=foobar\nFROM scratch\n", "Dockerfile", {});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message.substr(0, 14), "Dockerfile:1:9");
}

}  // namespace
}  // namespace ocibuild::dockerfile
