#include "builder/github_actions.h"

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::builder {
namespace {

TEST(GithubActions, InactiveOutsideActions) {
  GithubActions gha(GithubActions::EnvMap{{"GITHUB_REPOSITORY", "o/r"}});
  EXPECT_FALSE(gha.active());
  EXPECT_EQ(gha.Group("x"), "");
  EXPECT_EQ(gha.ErrorAnnotation("Dockerfile", 1, 1, "boom"), "");
  EXPECT_TRUE(gha.SetOutput("digest", "x").ok());
  EXPECT_TRUE(gha.DefaultLabels({}, "2026-01-01T00:00:00Z").empty());
}

TEST(GithubActions, WorkflowCommandsAreEscaped) {
  GithubActions gha(GithubActions::EnvMap{{"GITHUB_ACTIONS", "true"}});
  EXPECT_EQ(gha.Group("[app 1/3] RUN make\nall"), "::group::[app 1/3] RUN make%0Aall\n");
  EXPECT_EQ(gha.EndGroup(), "::endgroup::\n");
  EXPECT_EQ(gha.ErrorAnnotation("dir/Docker,file:x", 3, 5, "100% broken\nhere"),
            "::error file=dir/Docker%2Cfile%3Ax,line=3,col=5::100%25 broken%0Ahere\n");
  EXPECT_EQ(gha.Mask("tok1\ntok2\n"), "::add-mask::tok1\n::add-mask::tok2\n");
}

TEST(GithubActions, OutputsAndSummaryAppend) {
  auto dir = TempDir::Create();
  ASSERT_TRUE(dir.ok());
  std::string out = JoinPath(dir->path(), "output"), sum = JoinPath(dir->path(), "summary");
  GithubActions gha(GithubActions::EnvMap{
      {"GITHUB_ACTIONS", "true"}, {"GITHUB_OUTPUT", out}, {"GITHUB_STEP_SUMMARY", sum}});
  ASSERT_TRUE(gha.SetOutput("digest", "sha256:abc").ok());
  ASSERT_TRUE(gha.SetOutput("metadata", "{\n  \"a\": 1\n}").ok());
  ASSERT_TRUE(gha.AppendSummary("## Image\n").ok());
  std::string text = *ReadFile(out);
  EXPECT_EQ(text.substr(0, 18), "digest=sha256:abc\n");
  // metadata<<DELIM\n{...}\nDELIM\n
  size_t lt = text.find("metadata<<");
  ASSERT_NE(lt, std::string::npos);
  std::string delim = text.substr(lt + 10, text.find('\n', lt) - lt - 10);
  EXPECT_EQ(text.substr(lt), "metadata<<" + delim + "\n{\n  \"a\": 1\n}\n" + delim + "\n");
  EXPECT_EQ(*ReadFile(sum), "## Image\n");
}

TEST(GithubActions, MissingOutputFileIsAnError) {
  GithubActions gha(GithubActions::EnvMap{{"GITHUB_ACTIONS", "true"}});
  EXPECT_EQ(gha.SetOutput("digest", "x").error().message, "GITHUB_OUTPUT is not set");
}

TEST(GithubActions, DefaultLabelsRespectUserLabels) {
  GithubActions gha(GithubActions::EnvMap{{"GITHUB_ACTIONS", "true"},
                                          {"GITHUB_SERVER_URL", "https://github.com"},
                                          {"GITHUB_REPOSITORY", "org/app"},
                                          {"GITHUB_SHA", "0123abc"}});
  auto labels =
      gha.DefaultLabels({{"org.opencontainers.image.revision", "mine"}}, "2026-11-24T00:00:00Z");
  ASSERT_EQ(labels.size(), 2u);
  EXPECT_EQ(labels[0], (std::pair<std::string, std::string>{"org.opencontainers.image.source",
                                                            "https://github.com/org/app"}));
  EXPECT_EQ(labels[1].first, "org.opencontainers.image.created");
}

}  // namespace
}  // namespace ocibuild::builder

namespace ocibuild::builder {
namespace {

TEST(GithubActions, SummaryHasTheImageAndAStepTable) {
  BuildSummary sum;
  sum.image_digest = "sha256:aaa";
  sum.config_digest = "sha256:bbb";
  sum.image_size = 2048;
  sum.names = {"ghcr.io/o/r:1"};
  sum.total_seconds = 3.25;
  std::vector<StepTiming> steps = {{"[app 1/2] RUN a | b", StepState::kDone, 1.5},
                                   {"[app 2/2] COPY . /", StepState::kCached, 0}};
  std::string md = GithubActions::SummaryMarkdown(sum, steps);
  EXPECT_NE(md.find("| image | `ghcr.io/o/r:1` |"), std::string::npos) << md;
  EXPECT_NE(md.find("| digest | `sha256:aaa` |"), std::string::npos) << md;
  EXPECT_NE(md.find("| size | 2.0 kB |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `[app 1/2] RUN a \\| b` | done | 1.5s |"), std::string::npos) << md;
  EXPECT_NE(md.find("| `[app 2/2] COPY . /` | cached | 0.0s |"), std::string::npos) << md;
  EXPECT_NE(md.find("1 of 2 steps cached."), std::string::npos) << md;
}

TEST(GithubActions, AnnotationPathIsRelativeToTheWorkspace) {
  GithubActions gha(
      GithubActions::EnvMap{{"GITHUB_ACTIONS", "true"}, {"GITHUB_WORKSPACE", "/home/r/work"}});
  EXPECT_EQ(gha.AnnotationPath("/home/r/work/app/Dockerfile"), "app/Dockerfile");
  EXPECT_EQ(gha.AnnotationPath("./Dockerfile"), "Dockerfile");
  EXPECT_EQ(gha.AnnotationPath("/elsewhere/Dockerfile"), "/elsewhere/Dockerfile");
  EXPECT_EQ(gha.AnnotationPath("/home/r/workx/Dockerfile"), "/home/r/workx/Dockerfile");
}

}  // namespace
}  // namespace ocibuild::builder
