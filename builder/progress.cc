#include "builder/progress.h"

#include <unistd.h>

#include <cstdio>
#include <deque>
#include <set>

#include "builder/tty_progress.h"
#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

constexpr size_t kTailLines = 30;

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

class StreamProgress : public Progress {
 public:
  StreamProgress(ProgressMode mode, int fd, std::function<Clock::time_point()> now)
      : mode_(mode), fd_(fd), now_(std::move(now)), start_(now_()) {}

  int StepStarted(std::string_view label) override {
    std::lock_guard lock(mu_);
    int n = static_cast<int>(steps_.size()) + 1;
    steps_.push_back(Step{std::string(label), StepState::kRunning, now_(), 0, {}, {}});
    if (mode_ == ProgressMode::kGithubActions) {
      // The header waits for the step's first line (or its end): see OpenGroup.
      CloseGroup();
      pending_group_ = n;
    } else if (mode_ != ProgressMode::kQuiet) {
      Emit("#" + std::to_string(n) + " " + std::string(label));
    }
    return n;
  }

  void StepOutput(int step, std::string_view data) override {
    std::lock_guard lock(mu_);
    Step* s = Get(step);
    if (!s) return;
    for (char c : data) {
      if (c == '\n') {
        FlushLine(step, *s);
      } else if (c != '\r') {
        s->partial += c;
      }
    }
  }

  void StepFinished(int step, StepState state) override {
    std::lock_guard lock(mu_);
    Step* s = Get(step);
    if (!s) return;
    if (!s->partial.empty()) FlushLine(step, *s);
    s->state = state;
    s->seconds = std::chrono::duration<double>(now_() - s->started).count();
    std::string id = "#" + std::to_string(step) + " ";
    if (mode_ == ProgressMode::kGithubActions) {
      FinishGroup(step, *s);
      return;
    }
    if (state == StepState::kCached) {
      if (mode_ != ProgressMode::kQuiet) Emit(id + "CACHED");
    } else if (state == StepState::kFailed) {
      Emit(id + "ERROR after " + Seconds(s->seconds));
    } else if (mode_ != ProgressMode::kQuiet) {
      Emit(id + "DONE " + Seconds(s->seconds));
    }
    if (mode_ != ProgressMode::kQuiet) Emit("");
  }

  void Transfer(std::string_view what, uint64_t done, uint64_t total) override {
    std::lock_guard lock(mu_);
    std::string key(what);
    bool finished = total != 0 && done >= total;
    // Plain logs get one line per transfer at the end, not a line per chunk, and not one per
    // progress callback after the last byte (curl keeps calling while the registry answers).
    if (!finished || (mode_ != ProgressMode::kPlain && mode_ != ProgressMode::kGithubActions))
      return;
    if (!reported_.insert(key).second) return;
    if (mode_ == ProgressMode::kGithubActions && pending_group_) OpenGroup(pending_group_);
    Emit("  " + key + " " + HumanBytes(total) + " done");
  }

  void Warning(std::string_view text) override {
    std::lock_guard lock(mu_);
    Emit("WARNING: " + std::string(text));
    if (mode_ == ProgressMode::kGithubActions) Emit("::warning::" + EscapeWorkflowData(text));
  }

  void Summary(const BuildSummary& sum) override {
    std::lock_guard lock(mu_);
    if (mode_ == ProgressMode::kGithubActions) CloseGroup();
    if (mode_ == ProgressMode::kQuiet) {
      if (!sum.image_digest.empty()) Emit(sum.image_digest);
      return;
    }
    std::string out = "Build complete in " + Seconds(sum.total_seconds);
    if (!sum.image_digest.empty()) out += "\n  image digest:  " + sum.image_digest;
    if (!sum.config_digest.empty()) out += "\n  image ID:      " + sum.config_digest;
    if (sum.image_size) out += "\n  size:          " + HumanBytes(sum.image_size);
    for (const auto& n : sum.names) out += "\n  name:          " + n;
    out += "\n  steps:";
    for (const auto& s : steps_) {
      const char* st = s.state == StepState::kCached   ? "cached"
                       : s.state == StepState::kFailed ? "FAILED"
                       : s.state == StepState::kDone   ? "done"
                                                       : "running";
      char buf[64];
      std::snprintf(buf, sizeof buf, "%7.1fs %-7s ", s.seconds, st);
      out += "\n   " + std::string(buf) + s.label;
    }
    Emit(out);
  }

  std::vector<std::string> TailOf(int step, size_t lines) const override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    if (step < 1 || step > static_cast<int>(steps_.size())) return out;
    const Step& s = steps_[step - 1];
    size_t want = s.partial.empty() ? lines : (lines ? lines - 1 : 0);
    size_t from = s.tail.size() > want ? s.tail.size() - want : 0;
    out.assign(s.tail.begin() + static_cast<long>(from), s.tail.end());
    if (!s.partial.empty() && lines) out.push_back(s.partial);
    return out;
  }

  std::vector<StepTiming> Timings() const override {
    std::lock_guard lock(mu_);
    std::vector<StepTiming> out;
    for (const auto& s : steps_) out.push_back(StepTiming{s.label, s.state, s.seconds});
    return out;
  }

 private:
  struct Step {
    std::string label;
    StepState state;
    Clock::time_point started;
    double seconds;
    std::string partial;
    std::deque<std::string> tail;
  };

  Step* Get(int step) {
    if (step < 1 || step > static_cast<int>(steps_.size())) return nullptr;
    return &steps_[step - 1];
  }

  // GitHub Actions: at most one group is open (the log cannot nest or interleave them).
  void OpenGroup(int step) {
    if (open_group_ == step) return;
    CloseGroup();
    const Step& s = steps_[step - 1];
    Emit("::group::" + EscapeWorkflowData(s.label));
    Emit("#" + std::to_string(step) + " " + s.label);
    open_group_ = step;
    if (pending_group_ == step) pending_group_ = 0;
  }

  void CloseGroup() {
    if (open_group_ == 0) return;
    open_group_ = 0;
    Emit("::endgroup::");
  }

  // Ends a step's group; a step that printed nothing gets its whole group here, titled with
  // its result. The result line also follows the group, so it shows while the group is folded.
  void FinishGroup(int step, const Step& s) {
    std::string result = s.state == StepState::kCached   ? "CACHED"
                         : s.state == StepState::kFailed ? "ERROR after " + Seconds(s.seconds)
                                                         : "DONE " + Seconds(s.seconds);
    std::string id = "#" + std::to_string(step) + " ";
    if (open_group_ == step) {
      CloseGroup();
      Emit(id + result);
      return;
    }
    if (pending_group_ == step) pending_group_ = 0;
    CloseGroup();
    std::string outcome = s.state == StepState::kCached   ? "cached"
                          : s.state == StepState::kFailed ? result
                                                          : Seconds(s.seconds);
    Emit("::group::" + EscapeWorkflowData(s.label + " (" + outcome + ")"));
    Emit(id + s.label);
    Emit(id + result);
    Emit("::endgroup::");
  }

  void FlushLine(int step, Step& s) {
    s.tail.push_back(s.partial);
    if (s.tail.size() > kTailLines) s.tail.pop_front();
    // A step that runs alongside another one's open group prints outside it, with its #N.
    if (mode_ == ProgressMode::kGithubActions && (pending_group_ == step || open_group_ == 0) &&
        s.state == StepState::kRunning)
      OpenGroup(step);
    if (mode_ != ProgressMode::kQuiet) {
      double t = std::chrono::duration<double>(now_() - s.started).count();
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", t);
      Emit("#" + std::to_string(step) + " " + buf + " " + s.partial);
    }
    s.partial.clear();
  }

  void Emit(const std::string& line) { (void)WriteAll(fd_, line + "\n", "progress"); }

  const ProgressMode mode_;
  const int fd_;
  const std::function<Clock::time_point()> now_;
  const Clock::time_point start_;
  mutable std::mutex mu_;
  std::vector<Step> steps_;
  std::set<std::string> reported_;  // finished transfers already given their line
  int open_group_ = 0;              // step whose ::group:: is open (GitHub Actions), 0 for none
  int pending_group_ = 0;           // step started, its group not opened yet
};

}  // namespace

std::unique_ptr<Progress> MakeProgress(ProgressMode mode, int fd, ProgressOptions opts) {
  if (mode == ProgressMode::kTty) return MakeTtyProgress(fd, std::move(opts));
  auto now = opts.now ? opts.now : [] { return Clock::now(); };
  return std::make_unique<StreamProgress>(mode, fd, std::move(now));
}

std::unique_ptr<Progress> MakeProgressForTest(ProgressMode mode, int fd,
                                              std::function<Clock::time_point()> now) {
  ProgressOptions o;
  o.now = std::move(now);
  o.live = false;
  o.cols = 80;
  o.rows = 24;
  return MakeProgress(mode, fd, std::move(o));
}

std::string EscapeWorkflowData(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '%')
      out += "%25";
    else if (c == '\r')
      out += "%0D";
    else if (c == '\n')
      out += "%0A";
    else
      out += c;
  }
  return out;
}

}  // namespace ocibuild::builder
