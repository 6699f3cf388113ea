// Build progress: what the user sees while a build runs. The executor, the sandbox's output pump
// and the registry's transfer callbacks all report here, from several threads.
//   plain  BuildKit-style lines ("#3 [app 2/5] RUN make", "#3 0.512 <output>", "#3 DONE 1.2s"),
//          for logs and CI (the default when stderr is not a terminal);
//   tty    a live view redrawn in place (builder/tty_progress.h): a header with the elapsed time
//          and steps done/total, a line per running step with its last output lines, transfers;
//          finished steps leave one line each above it; a failed step's log is printed in full
//          at the end;
//   quiet  only errors and the final image digest;
//   github plain lines, each step folded into a ::group:: of the GitHub Actions log. A group
//          opens on the step's first output line, or at its end (titled with the result) when
//          it printed nothing, so cached steps read as "[app 2/5] COPY . / (cached)".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace ocibuild::builder {

enum class StepState { kRunning, kDone, kCached, kFailed };

struct StepTiming {
  std::string label;  // "[app 2/5] RUN make"
  StepState state = StepState::kRunning;
  double seconds = 0;
};

struct BuildSummary {
  std::string image_digest;   // manifest digest
  std::string config_digest;  // image ID
  uint64_t image_size = 0;    // compressed layers + config + manifest
  std::vector<std::string> names;
  double total_seconds = 0;
};

class Progress {
 public:
  virtual ~Progress() = default;
  // Adds `n` steps to the number the build is expected to run (the "done/total" of the view).
  virtual void PlanSteps(int n) { (void)n; }
  // Returns the step's number (#N), used by the other calls.
  virtual int StepStarted(std::string_view label) = 0;
  // Output of a RUN step, any chunking; lines are completed internally.
  virtual void StepOutput(int step, std::string_view data) = 0;
  virtual void StepFinished(int step, StepState state) = 0;
  // A blob transfer (push or pull); `total` 0 when unknown. `done == total` ends it.
  virtual void Transfer(std::string_view what, uint64_t done, uint64_t total) = 0;
  virtual void Warning(std::string_view text) = 0;
  virtual void Summary(const BuildSummary& summary) = 0;
  // The last lines of a step's output (for the error message of a failed RUN).
  virtual std::vector<std::string> TailOf(int step, size_t lines) const = 0;
  virtual std::vector<StepTiming> Timings() const = 0;
  // Ends a live view (the final frame, then the full log of each failed step): called before
  // the build's error or summary is printed. Further calls do nothing.
  virtual void Close(bool build_failed) { (void)build_failed; }
};

enum class ProgressMode { kPlain, kTty, kQuiet, kGithubActions };

using Clock = std::chrono::steady_clock;

struct ProgressOptions {
  // tty: colours (the caller decides: only on a terminal, never under NO_COLOR).
  bool color = false;
  // tty: a fixed size instead of the terminal's (tests; or when fd is not a terminal).
  int cols = 0, rows = 0;
  // tty: a thread redraws the view ten times a second and on SIGWINCH; tests draw on events.
  bool live = true;
  std::function<Clock::time_point()> now;  // injectable for tests
};

// Writes to `fd` (normally 2).
std::unique_ptr<Progress> MakeProgress(ProgressMode mode, int fd, ProgressOptions opts = {});
std::unique_ptr<Progress> MakeProgressForTest(ProgressMode mode, int fd,
                                              std::function<Clock::time_point()> now);

// A GitHub Actions workflow command's data: '%', CR and LF escaped so a value stays on its line.
std::string EscapeWorkflowData(std::string_view text);

}  // namespace ocibuild::builder
