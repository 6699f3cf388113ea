#include "builder/progress.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::builder {
namespace {

// Captures what a Progress writes, with a clock that advances 0.5 s per reading.
struct Capture {
  Capture() {
    auto d = TempDir::Create();
    dir = std::move(*d);
    path = JoinPath(dir.path(), "out");
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  ~Capture() { ::close(fd); }
  std::string Text() { return *ReadFile(path); }
  std::function<Clock::time_point()> FakeClock() {
    return [this] { return Clock::time_point(std::chrono::milliseconds(500 * ticks++)); };
  }
  TempDir dir = std::move(*TempDir::Create());
  std::string path;
  int fd;
  int ticks = 0;
};

TEST(Progress, PlainLooksLikeBuildKit) {
  Capture c;
  auto p = MakeProgressForTest(ProgressMode::kPlain, c.fd, c.FakeClock());
  int a = p->StepStarted("[app 1/2] RUN make");
  p->StepOutput(a, "cc -o x x.c\nld");
  p->StepOutput(a, "ok\n");
  p->StepFinished(a, StepState::kDone);
  int b = p->StepStarted("[app 2/2] COPY . /src");
  p->StepFinished(b, StepState::kCached);
  p->Transfer("sha256:abc", 10, 100);
  p->Transfer("sha256:abc", 100, 100);
  p->Transfer("sha256:abc", 100, 100);  // curl calls again while the server answers
  EXPECT_EQ(c.Text(),
            "#1 [app 1/2] RUN make\n"
            "#1 0.500 cc -o x x.c\n"
            "#1 1.000 ldok\n"
            "#1 DONE 1.5s\n"
            "\n"
            "#2 [app 2/2] COPY . /src\n"
            "#2 CACHED\n"
            "\n"
            "  sha256:abc 100 B done\n");
  auto timings = p->Timings();
  ASSERT_EQ(timings.size(), 2u);
  EXPECT_EQ(timings[0].state, StepState::kDone);
  EXPECT_DOUBLE_EQ(timings[0].seconds, 1.5);
  EXPECT_EQ(timings[1].state, StepState::kCached);
}

TEST(Progress, GithubActionsFoldsEachStepIntoAGroup) {
  Capture c;
  auto p = MakeProgressForTest(ProgressMode::kGithubActions, c.fd, c.FakeClock());
  int a = p->StepStarted("[app 1/3] RUN make");
  p->StepOutput(a, "100%\n");
  p->StepFinished(a, StepState::kDone);
  int b = p->StepStarted("[app 2/3] COPY . /src");
  p->StepFinished(b, StepState::kCached);
  int d = p->StepStarted("[app 3/3] RUN false");
  p->StepFinished(d, StepState::kFailed);
  EXPECT_EQ(c.Text(),
            "::group::[app 1/3] RUN make\n"
            "#1 [app 1/3] RUN make\n"
            "#1 0.500 100%\n"
            "::endgroup::\n"
            "#1 DONE 1.0s\n"
            "::group::[app 2/3] COPY . /src (cached)\n"
            "#2 [app 2/3] COPY . /src\n"
            "#2 CACHED\n"
            "::endgroup::\n"
            "::group::[app 3/3] RUN false (ERROR after 0.5s)\n"
            "#3 [app 3/3] RUN false\n"
            "#3 ERROR after 0.5s\n"
            "::endgroup::\n");
}

TEST(Progress, TailKeepsLastLinesForErrors) {
  Capture c;
  auto p = MakeProgressForTest(ProgressMode::kQuiet, c.fd, c.FakeClock());
  int s = p->StepStarted("RUN false");
  for (int i = 0; i < 50; ++i) p->StepOutput(s, "line " + std::to_string(i) + "\n");
  p->StepOutput(s, "partial");
  auto tail = p->TailOf(s, 3);
  EXPECT_EQ(tail, (std::vector<std::string>{"line 48", "line 49", "partial"}));
  p->StepFinished(s, StepState::kFailed);
  // Quiet mode still reports failures.
  EXPECT_EQ(c.Text(), "#1 ERROR after 0.5s\n");
}

TEST(Progress, SummaryListsStepsAndDigest) {
  Capture c;
  auto p = MakeProgressForTest(ProgressMode::kPlain, c.fd, c.FakeClock());
  p->StepFinished(p->StepStarted("[1/1] FROM scratch"), StepState::kDone);
  BuildSummary s;
  s.image_digest = "sha256:1111";
  s.config_digest = "sha256:2222";
  s.image_size = 2500000;
  s.names = {"localhost:5000/x:1"};
  s.total_seconds = 3.25;
  p->Summary(s);
  std::string out = c.Text();
  EXPECT_NE(out.find("Build complete in 3.2s\n  image digest:  sha256:1111\n  image ID:      "
                     "sha256:2222\n  size:          2.5 MB\n  name:          localhost:5000/x:1\n"
                     "  steps:\n       0.5s done    [1/1] FROM scratch\n"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace ocibuild::builder
