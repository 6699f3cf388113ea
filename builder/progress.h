// Build progress: what the user sees while a build runs. The executor, the sandbox's output pump
// and the registry's transfer callbacks all report here, from several threads.
//   plain  BuildKit-style lines ("#3 [app 2/5] RUN make", "#3 0.512 <output>", "#3 DONE 1.2s"),
//          for logs and CI (the default when stderr is not a terminal);
//   tty    the same events, with a live footer of running steps and transfers redrawn in place;
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
};

enum class ProgressMode { kPlain, kTty, kQuiet, kGithubActions };

// Writes to `fd` (normally 2). `now` is injectable for tests.
using Clock = std::chrono::steady_clock;
std::unique_ptr<Progress> MakeProgress(ProgressMode mode, int fd);
std::unique_ptr<Progress> MakeProgressForTest(ProgressMode mode, int fd,
                                              std::function<Clock::time_point()> now);

// A GitHub Actions workflow command's data: '%', CR and LF escaped so a value stays on its line.
std::string EscapeWorkflowData(std::string_view text);

}  // namespace ocibuild::builder
