#include "builder/tty_progress.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "builder/terminal.h"
#include "builder/tty_text.h"
#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

constexpr size_t kTailLines = 30;         // for TailOf (a failed RUN's error message)
constexpr size_t kWindowLines = 6;        // output lines shown under a running step
constexpr size_t kMaxLogBytes = 8 << 20;  // of a step's log kept for the end of a failed build
constexpr size_t kMaxPartial = 64 << 10;  // a "line" without newline is cut here
constexpr int kTickMs = 100;

// SGR colours; BuildKit's choices: finished steps blue, errors red, warnings yellow.
constexpr const char* kBlue = "34";
constexpr const char* kRed = "31";
constexpr const char* kYellow = "33";
constexpr const char* kFaint = "2";

std::string Secs(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", s);
  return buf;
}

// One line of the view: printable text and its colour ("" for none).
struct Line {
  std::string text;
  const char* color = "";
};

// `left`, then `right` flush with the last usable column; `left` is cut to make room.
std::string LeftRight(const std::string& left, const std::string& right, int width) {
  int rw = DisplayWidth(right);
  if (right.empty() || rw + 1 >= width) return FitWidth(left, width);
  std::string l = FitWidth(left, width - rw - 1);
  int pad = width - DisplayWidth(l) - rw;
  return l + std::string(static_cast<size_t>(std::max(pad, 1)), ' ') + right;
}

class TtyProgress final : public Progress {
 public:
  TtyProgress(int fd, ProgressOptions opts)
      : fd_(fd),
        opts_(std::move(opts)),
        now_(opts_.now ? opts_.now : [] { return Clock::now(); }),
        start_(now_()) {
    RefreshSize();
    if (!opts_.live) return;
    int p[2];
    if (::pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0) {
      stop_rd_ = UniqueFd(p[0]);
      stop_wr_ = UniqueFd(p[1]);
    }
    // Only a real terminal resizes; the watcher blocks SIGWINCH in this thread and so in every
    // thread started after it, and the ticker below takes it.
    if (opts_.cols <= 0 && ::isatty(fd_)) {
      auto w = ResizeWatcher::Start();
      if (w.ok()) watcher_ = std::move(*w);
    }
    ticker_ = std::thread([this] { Tick(); });
  }

  ~TtyProgress() override {
    Close(false);
    watcher_.reset();  // restores this thread's signal mask: same thread as the constructor
  }

  void PlanSteps(int n) override {
    std::lock_guard lock(mu_);
    planned_ += n;
  }

  int StepStarted(std::string_view label) override {
    std::lock_guard lock(mu_);
    std::string one(label);
    std::replace(one.begin(), one.end(), '\n', ' ');
    steps_.push_back(Step{Printable(one), StepState::kRunning, now_(), 0, {}, {}, {}, {}, 0, 0});
    DrawLocked(false);
    return static_cast<int>(steps_.size());
  }

  void StepOutput(int step, std::string_view data) override {
    std::lock_guard lock(mu_);
    Step* s = Get(step);
    if (!s) return;
    for (char c : data) {
      if (c == '\n' || s->partial.size() >= kMaxPartial) {
        FlushLine(*s);
        if (c == '\n') continue;
      }
      s->partial += c;
    }
    if (!opts_.live) DrawLocked(false);
  }

  void StepFinished(int step, StepState state) override {
    std::lock_guard lock(mu_);
    Step* s = Get(step);
    if (!s || s->state != StepState::kRunning) return;
    if (!s->partial.empty()) FlushLine(*s);
    s->state = state;
    s->seconds = std::chrono::duration<double>(now_() - s->started).count();
    s->window.clear();
    if (state != StepState::kFailed) {
      s->log.clear();
      s->log.shrink_to_fit();
    }
    const char* prefix = state == StepState::kCached   ? "CACHED "
                         : state == StepState::kFailed ? "ERROR "
                                                       : "";
    pending_.push_back(FinishedLine{" => " + std::string(prefix) + s->label, Secs(s->seconds),
                                    state == StepState::kFailed ? kRed : kBlue});
    DrawLocked(false);
  }

  void Transfer(std::string_view what, uint64_t done, uint64_t total) override {
    std::lock_guard lock(mu_);
    std::string key(what);
    if (total != 0 && done >= total)
      transfers_.erase(key);
    else
      transfers_[key] = {done, total};
    if (!opts_.live) DrawLocked(false);
  }

  void Warning(std::string_view text) override {
    std::lock_guard lock(mu_);
    std::string t = "WARNING: " + std::string(text);
    if (closed_) {  // after the view: plain text
      (void)WriteAll(fd_, Colored(t, kYellow) + "\n", "progress");
      return;
    }
    // Warnings are wrapped, not cut: they are read once and must be whole.
    for (const auto& l : WrapToWidth(PrintableKeepingLines(t), Width()))
      pending_.push_back(FinishedLine{l, "", kYellow});
    DrawLocked(false);
  }

  void Summary(const BuildSummary& sum) override {
    Close(false);
    std::lock_guard lock(mu_);
    std::string out = "Build complete in " + Secs(sum.total_seconds) + "\n";
    // A value that does not fit after its label goes on a line of its own; a digest is never
    // cut (only a terminal narrower than one wraps it).
    auto field = [&](const std::string& label, const std::string& value) {
      std::string line = "  " + label + std::string(15 - label.size(), ' ') + value;
      if (DisplayWidth(line) <= Width())
        out += line + "\n";
      else
        out += "  " + label + "\n    " + value + "\n";
    };
    if (!sum.image_digest.empty()) field("image digest:", sum.image_digest);
    if (!sum.config_digest.empty()) field("image ID:", sum.config_digest);
    if (sum.image_size) field("size:", HumanBytes(sum.image_size));
    for (const auto& n : sum.names) field("name:", n);
    (void)WriteAll(fd_, out, "progress");
  }

  std::vector<std::string> TailOf(int step, size_t lines) const override {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    if (step < 1 || step > static_cast<int>(steps_.size())) return out;
    const Step& s = steps_[step - 1];
    std::string partial = StripCr(s.partial);
    size_t want = partial.empty() ? lines : (lines ? lines - 1 : 0);
    size_t from = s.tail.size() > want ? s.tail.size() - want : 0;
    out.assign(s.tail.begin() + static_cast<long>(from), s.tail.end());
    if (!partial.empty() && lines) out.push_back(partial);
    return out;
  }

  std::vector<StepTiming> Timings() const override {
    std::lock_guard lock(mu_);
    std::vector<StepTiming> out;
    for (const auto& s : steps_) out.push_back(StepTiming{s.label, s.state, s.seconds});
    return out;
  }

  void Close(bool build_failed) override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
    }
    if (ticker_.joinable()) {
      if (stop_wr_) (void)!::write(stop_wr_.get(), "x", 1);
      ticker_.join();
    }
    std::lock_guard lock(mu_);
    bool failed = build_failed;
    for (const auto& s : steps_) failed |= s.state == StepState::kFailed;
    final_status_ = failed ? "ERROR" : "FINISHED";
    DrawLocked(true);
    // The whole log of each failed step: the view only ever showed its last lines.
    std::string out;
    for (const auto& s : steps_) {
      if (s.state != StepState::kFailed || (s.log.empty() && s.partial.empty())) continue;
      out += "------\n" + Colored(" > " + s.label + ":", kRed) + "\n";
      if (s.log_dropped) out += "[" + std::to_string(s.log_dropped) + " earlier lines not kept]\n";
      for (const auto& l : s.log) out += l + "\n";
      out += "------\n";
    }
    if (!out.empty()) (void)WriteAll(fd_, out, "progress");
  }

 private:
  struct Step {
    std::string label;  // printable, one line
    StepState state;
    Clock::time_point started;
    double seconds;
    std::string partial;
    std::deque<std::string> tail;    // raw lines, for TailOf
    std::deque<std::string> window;  // printable lines shown under the running step
    std::vector<std::string> log;    // "0.512 text": printed in full if the step fails
    size_t log_bytes;
    size_t log_dropped;
  };
  struct FinishedLine {
    std::string left, right;
    const char* color;
  };

  static std::string StripCr(const std::string& s) {
    std::string out;
    for (char c : s)
      if (c != '\r') out += c;
    return out;
  }

  static std::string PrintableKeepingLines(const std::string& text) {
    std::string out;
    for (const auto& l : Split(text, '\n')) out += (out.empty() ? "" : "\n") + Printable(l);
    return out;
  }

  Step* Get(int step) {
    if (step < 1 || step > static_cast<int>(steps_.size())) return nullptr;
    return &steps_[step - 1];
  }

  void FlushLine(Step& s) {
    s.tail.push_back(StripCr(s.partial));
    if (s.tail.size() > kTailLines) s.tail.pop_front();
    std::string shown = Printable(s.partial);
    char t[32];
    std::snprintf(t, sizeof t, "%.3f ", std::chrono::duration<double>(now_() - s.started).count());
    s.log.push_back(t + shown);
    s.log_bytes += s.log.back().size();
    while (s.log_bytes > kMaxLogBytes && !s.log.empty()) {
      s.log_bytes -= s.log.front().size();
      s.log.erase(s.log.begin());
      ++s.log_dropped;
    }
    s.window.push_back(std::move(shown));
    if (s.window.size() > kWindowLines) s.window.pop_front();
    s.partial.clear();
  }

  void RefreshSize() {
    if (opts_.cols > 0) {
      size_ = TermSize{opts_.cols, opts_.rows > 0 ? opts_.rows : 24};
    } else if (auto sz = QueryTermSize(fd_)) {
      size_ = *sz;
    }
  }

  // Usable columns: one less than the terminal has, so no line ever reaches the last column
  // (where terminals differ on when they wrap).
  int Width() const { return std::max(size_.cols - 1, 1); }

  std::string Colored(const std::string& text, const char* color) const {
    if (!opts_.color || !color || !*color) return text;
    return std::string("\x1b[") + color + "m" + text + "\x1b[0m";
  }

  std::string Header() const {
    int done = 0;
    for (const auto& s : steps_) done += s.state != StepState::kRunning;
    int total = std::max(planned_, static_cast<int>(steps_.size()));
    double t = std::chrono::duration<double>(now_() - start_).count();
    return "[+] Building " + Secs(t) + " (" + std::to_string(done) + "/" + std::to_string(total) +
           ")";
  }

  std::vector<Line> Live() const {
    const int width = Width();
    // Never taller than the screen less a line: the cursor cannot go back above its top.
    const size_t max_lines = static_cast<size_t>(std::max(size_.rows - 1, 2));
    std::vector<Line> out;
    out.push_back(Line{FitWidth(Header(), width), ""});
    std::vector<const Step*> running;
    for (const auto& s : steps_)
      if (s.state == StepState::kRunning) running.push_back(&s);
    const size_t items = running.size() + transfers_.size();
    const size_t room = max_lines - 1;
    size_t shown_items = items;
    if (items > room) shown_items = room > 0 ? room - 1 : 0;
    size_t per_window = 0;
    if (items <= room && !running.empty())
      per_window = std::min(kWindowLines, (room - items) / running.size());
    const auto now = now_();
    size_t n = 0;
    for (const Step* s : running) {
      if (n++ >= shown_items) break;
      double t = std::chrono::duration<double>(now - s->started).count();
      out.push_back(Line{LeftRight(" => " + s->label, Secs(t), width), ""});
      std::vector<std::string> lines(s->window.begin(), s->window.end());
      if (!s->partial.empty()) {
        std::string p = Printable(s->partial);
        if (!p.empty()) lines.push_back(std::move(p));
      }
      size_t from = lines.size() > per_window ? lines.size() - per_window : 0;
      for (size_t i = from; i < lines.size(); ++i)
        out.push_back(Line{FitWidth(" => => # " + lines[i], width), kFaint});
    }
    for (const auto& [what, dt] : transfers_) {
      if (n++ >= shown_items) break;
      std::string amount = HumanBytes(dt.first) + (dt.second ? " / " + HumanBytes(dt.second) : "");
      out.push_back(Line{LeftRight(" => => " + Printable(what), amount, width), ""});
    }
    if (shown_items < items)
      out.push_back(
          Line{FitWidth(" => ... " + std::to_string(items - shown_items) + " more", width), ""});
    return out;
  }

  // Rewrites the view in place; with `final`, the view gives way to the final header.
  void DrawLocked(bool final) {
    if (closed_ && !final) return;
    // Asked on every frame, not only on SIGWINCH: a frame drawn between a resize and its
    // signal would otherwise go back up by the old width's count.
    RefreshSize();
    const int width = Width();
    std::string out = "\r";
    // Back to the view's first line. A terminal that reflows lines on a narrower resize has
    // spread each old line over ceil(width / cols) rows.
    int up = 0;
    for (int w : live_widths_) up += std::max(1, (w + size_.cols - 1) / size_.cols);
    if (up > 0) out += "\x1b[" + std::to_string(up) + "A";
    for (const auto& f : pending_)
      out += "\x1b[2K" + Colored(LeftRight(f.left, f.right, width), f.color) + "\n";
    pending_.clear();
    std::vector<Line> live;
    if (final) {
      std::string h = Header() + " " + final_status_;
      live_widths_.clear();
      out +=
          "\x1b[2K" + Colored(FitWidth(h, width), final_status_ == "ERROR" ? kRed : kBlue) + "\n";
    } else {
      live = Live();
    }
    live_widths_.clear();
    for (const auto& l : live) {
      out += "\x1b[2K" + Colored(l.text, l.color) + "\n";
      live_widths_.push_back(DisplayWidth(l.text));
    }
    out += "\x1b[J";
    (void)WriteAll(fd_, out, "progress");
  }

  void Tick() {
    ResizeWatcher::Unblock();
    for (;;) {
      pollfd p[2] = {{stop_rd_.get(), POLLIN, 0}, {watcher_ ? watcher_->fd() : -1, POLLIN, 0}};
      int r = ::poll(p, 2, kTickMs);
      if (r > 0 && (p[0].revents & POLLIN)) return;
      if (watcher_) watcher_->Drain();  // a resize: redraw now (DrawLocked asks the size)
      std::lock_guard lock(mu_);
      if (closed_) return;
      DrawLocked(false);
    }
  }

  const int fd_;
  const ProgressOptions opts_;
  const std::function<Clock::time_point()> now_;
  const Clock::time_point start_;
  mutable std::mutex mu_;
  TermSize size_;
  std::vector<Step> steps_;
  int planned_ = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> transfers_;
  std::vector<FinishedLine> pending_;  // lines to write above the view on the next draw
  std::vector<int> live_widths_;       // display widths of the view's lines as last drawn
  std::string final_status_;
  bool closed_ = false;
  std::unique_ptr<ResizeWatcher> watcher_;
  UniqueFd stop_rd_, stop_wr_;
  std::thread ticker_;
};

}  // namespace

std::unique_ptr<Progress> MakeTtyProgress(int fd, ProgressOptions opts) {
  return std::make_unique<TtyProgress>(fd, std::move(opts));
}

}  // namespace ocibuild::builder
