#include "builder/tty_progress.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "builder/tty_text.h"
#include "util/fs.h"

namespace ocibuild::builder {
namespace {

using ::testing::HasSubstr;

// Just enough of a terminal to replay what the view writes: printable text, CR, LF (as a tty's
// output processing turns it into CR LF), cursor up, erase line, erase below, SGR ignored; a line
// written past the last column wraps (and is counted), the top line scrolls into the scrollback.
class Screen {
 public:
  Screen(int cols, int rows) : cols_(cols), rows_(rows), lines_(static_cast<size_t>(rows)) {}

  void Feed(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      char c = s[i];
      if (c == '\x1b' && i + 1 < s.size() && s[i + 1] == '[') {
        size_t j = i + 2;
        while (j < s.size() && !(s[j] >= 0x40 && s[j] <= 0x7E)) ++j;
        std::string param(s.substr(i + 2, j - i - 2));
        char fin = j < s.size() ? s[j] : 0;
        int n = param.empty() ? 1 : std::atoi(param.c_str());
        if (fin == 'A') {
          row_ = std::max(0, row_ - n);
          ++ups_;
        } else if (fin == 'K' && param == "2") {
          lines_[row_].clear();
        } else if (fin == 'J') {
          lines_[row_] = FitWidth(lines_[row_], col_);
          for (int r = row_ + 1; r < rows_; ++r) lines_[r].clear();
        }
        i = j + 1;
        continue;
      }
      if (c == '\r') {
        col_ = 0;
        ++i;
        continue;
      }
      if (c == '\n') {
        NewLine();
        ++i;
        continue;
      }
      size_t len = 1;
      auto b = static_cast<unsigned char>(c);
      if (b >= 0xF0)
        len = 4;
      else if (b >= 0xE0)
        len = 3;
      else if (b >= 0xC0)
        len = 2;
      std::string ch(s.substr(i, len));
      int w = DisplayWidth(ch);
      if (col_ + w > cols_) {
        ++wraps_;
        NewLine();
      }
      std::string& line = lines_[row_];
      line = FitWidth(line, col_);
      line.append(static_cast<size_t>(std::max(0, col_ - DisplayWidth(line))), ' ');
      line += ch;
      col_ += w;
      i += len;
    }
  }

  // Scrollback and screen, trailing empty lines dropped.
  std::vector<std::string> All() const {
    std::vector<std::string> out = scrollback_;
    out.insert(out.end(), lines_.begin(), lines_.end());
    while (!out.empty() && out.back().empty()) out.pop_back();
    return out;
  }
  const std::vector<std::string>& Visible() const { return lines_; }
  int wraps() const { return wraps_; }
  int ups() const { return ups_; }

 private:
  void NewLine() {
    col_ = 0;
    if (row_ + 1 < rows_) {
      ++row_;
      return;
    }
    scrollback_.push_back(lines_.front());
    lines_.erase(lines_.begin());
    lines_.emplace_back();
  }

  int cols_, rows_;
  int row_ = 0, col_ = 0;
  int wraps_ = 0, ups_ = 0;
  std::vector<std::string> lines_;
  std::vector<std::string> scrollback_;
};

// A pipe the view writes to, replayed into a Screen as it goes.
struct Term {
  Term(int cols, int rows, bool color = false) : screen(cols, rows) {
    int p[2];
    EXPECT_EQ(::pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
    rd = UniqueFd(p[0]);
    wr = UniqueFd(p[1]);
    ProgressOptions o;
    o.cols = cols;
    o.rows = rows;
    o.color = color;
    o.live = false;
    o.now = [this] { return Clock::time_point(std::chrono::milliseconds(100 * ticks++)); };
    progress = MakeTtyProgress(wr.get(), o);
  }
  // Replays what was written so far.
  Screen& Sync() {
    char buf[65536];
    for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) > 0;) {
      raw.append(buf, static_cast<size_t>(n));
      screen.Feed(std::string_view(buf, static_cast<size_t>(n)));
    }
    return screen;
  }
  int Count(const std::string& needle) {
    int n = 0;
    for (const auto& l : Sync().All()) n += l.find(needle) != std::string::npos;
    return n;
  }
  UniqueFd rd, wr;
  Screen screen;
  std::string raw;
  int ticks = 0;
  std::unique_ptr<Progress> progress;
};

// Wider than the terminal, with wide characters, a tab, colours, and a progress bar's carriage
// return before it.
std::string Long(const std::string& tag, int i) {
  return "  10% [==     ]\r" + tag + " line " + std::to_string(i) +
         ": a line wider than the terminal, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e,\ttabs, "
         "\x1b[32mcolour\x1b[0m ...........................";
}

bool HasSgr(const std::string& raw) {
  for (size_t i = raw.find("\x1b["); i != std::string::npos; i = raw.find("\x1b[", i + 1)) {
    size_t j = i + 2;
    while (j < raw.size() && (std::isdigit(static_cast<unsigned char>(raw[j])) || raw[j] == ';'))
      ++j;
    if (j < raw.size() && raw[j] == 'm') return true;
  }
  return false;
}

TEST(TtyProgress, FinishedStepsLeaveOneLineEachAndNothingWraps) {
  Term t(60, 14);
  Progress& p = *t.progress;
  p.PlanSteps(5);
  int from = p.StepStarted("[tools 1/2] FROM scratch");
  p.StepFinished(from, StepState::kDone);
  int left = p.StepStarted("[left 2/2] RUN [\"/bin/busybox\", \"sh\", \"-c\", \"for i in 1 2 3\"]");
  int right = p.StepStarted("[right 2/2] RUN make all");
  for (int i = 1; i <= 40; ++i) {
    p.StepOutput(left, Long("left", i) + "\n");
    p.StepOutput(right, Long("right", i) + "\n");
    if (i == 20) {
      // While they run: the header, both steps, and the last output lines of each, cut.
      const auto& v = t.Sync().Visible();
      std::string screen;
      for (const auto& l : v) screen += l + "\n";
      EXPECT_THAT(screen, HasSubstr("[+] Building "));
      EXPECT_THAT(screen, HasSubstr("(1/5)"));
      EXPECT_THAT(screen, HasSubstr(" => [right 2/2] RUN make all"));
      EXPECT_THAT(screen, HasSubstr(" => => # left line 20: a line wider than the terminal, "
                                    "\xe6\x97\xa5\xe6\x9c\xac"));
      EXPECT_THAT(screen, HasSubstr(" => => # right line 20: "));
      EXPECT_THAT(screen, ::testing::Not(HasSubstr("left line 14:")));  // out of the window
      for (const auto& l : v) EXPECT_LE(DisplayWidth(l), 59) << l;
    }
  }
  p.StepFinished(left, StepState::kDone);
  p.StepFinished(right, StepState::kDone);
  int cached = p.StepStarted("[stage-3 2/2] COPY --from=left /x /x");
  p.StepFinished(cached, StepState::kCached);
  p.Close(false);
  Screen& s = t.Sync();
  EXPECT_EQ(s.wraps(), 0);
  EXPECT_GT(s.ups(), 40);  // redrawn in place, not appended
  EXPECT_EQ(t.Count(" => [tools 1/2] FROM scratch"), 1);
  EXPECT_EQ(t.Count(" => [left 2/2] RUN"), 1);
  EXPECT_EQ(t.Count(" => [right 2/2] RUN make all"), 1);
  EXPECT_EQ(t.Count(" => CACHED [stage-3 2/2] COPY --from=left /x /x"), 1);
  EXPECT_EQ(t.Count("=> => #"), 0);  // output windows are gone with the view
  EXPECT_EQ(t.Count(" FINISHED"), 1);
  auto all = s.All();
  ASSERT_FALSE(all.empty());
  EXPECT_THAT(all.back(), ::testing::MatchesRegex(R"(\[\+\] Building [0-9.]+s \(4/5\) FINISHED)"));
  for (const auto& l : all) EXPECT_LE(DisplayWidth(l), 59) << l;
  EXPECT_FALSE(HasSgr(t.raw));  // no colours unless asked for
}

TEST(TtyProgress, ViewIsNeverTallerThanTheScreen) {
  Term t(50, 6);
  Progress& p = *t.progress;
  std::vector<int> steps;
  for (int i = 0; i < 5; ++i) steps.push_back(p.StepStarted("[s" + std::to_string(i) + "] RUN x"));
  p.Transfer("pull sha256:0123456789ab", 1 << 20, 10 << 20);
  for (int k = 0; k < 10; ++k)
    for (int s : steps) p.StepOutput(s, "output " + std::to_string(k) + "\n");
  const auto& v = t.Sync().Visible();
  // Header, three of six items, "... 3 more": five of six lines, the last left free.
  EXPECT_EQ(v[0].substr(0, 13), "[+] Building ");
  EXPECT_EQ(v[1].substr(0, 13), " => [s0] RUN ");
  EXPECT_EQ(v[3].substr(0, 13), " => [s2] RUN ");
  EXPECT_EQ(v[4], " => ... 3 more");
  EXPECT_EQ(v[5], "");
  for (int s : steps) p.StepFinished(s, StepState::kDone);
  p.Close(false);
  // Nothing of the view reached the scrollback: only the finished lines and the header.
  auto all = t.Sync().All();
  EXPECT_EQ(all.size(), 6u);
  for (const auto& l : all) EXPECT_EQ(l.find("output"), std::string::npos) << l;
  EXPECT_EQ(t.screen.wraps(), 0);
}

TEST(TtyProgress, FailedStepsLogIsPrintedInFullAtTheEnd) {
  Term t(40, 10);
  Progress& p = *t.progress;
  int s = p.StepStarted("[app 2/2] RUN make");
  for (int i = 0; i < 200; ++i) p.StepOutput(s, "compiling unit " + std::to_string(i) + "\n");
  p.StepOutput(s, "error: no rule to make target");
  p.StepFinished(s, StepState::kFailed);
  EXPECT_EQ(p.TailOf(s, 2),
            (std::vector<std::string>{"compiling unit 199", "error: no rule to make target"}));
  p.Close(true);
  auto all = t.Sync().All();
  std::string text;
  for (const auto& l : all) text += l + "\n";
  EXPECT_EQ(t.Count(" => ERROR [app 2/2] RUN make"), 1);
  EXPECT_THAT(text, HasSubstr(") ERROR\n------\n > [app 2/2] RUN make:\n"));
  // Every line, once, each as "<seconds> <text>".
  for (int i = 0; i < 200; ++i) {
    const std::string want = " compiling unit " + std::to_string(i);
    int n = 0;
    for (const auto& l : all) n += l.size() > want.size() && l.ends_with(want);
    EXPECT_EQ(n, 1) << i;
  }
  EXPECT_THAT(text, HasSubstr(" error: no rule to make target\n------\n"));
}

TEST(TtyProgress, ColoursOnlyWhenAsked) {
  Term t(80, 10, /*color=*/true);
  Progress& p = *t.progress;
  p.StepFinished(p.StepStarted("[1/1] FROM scratch"), StepState::kDone);
  p.Warning("careful");
  p.Close(false);
  t.Sync();
  EXPECT_THAT(t.raw, HasSubstr("\x1b[34m => [1/1] FROM scratch"));
  EXPECT_THAT(t.raw, HasSubstr("\x1b[33mWARNING: careful"));
}

TEST(TtyProgress, LongWarningsAreWrappedNotCut) {
  Term t(30, 10);
  t.progress->Warning("the quick brown fox jumps over the lazy dog, twice over");
  t.progress->Close(false);
  auto all = t.Sync().All();
  ASSERT_GE(all.size(), 3u);
  EXPECT_EQ(all[0], "WARNING: the quick brown fox ");
  EXPECT_EQ(all[1], "jumps over the lazy dog, twic");
  EXPECT_EQ(all[2], "e over");
  EXPECT_EQ(t.screen.wraps(), 0);
}

}  // namespace
}  // namespace ocibuild::builder
