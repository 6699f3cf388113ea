// The --progress=tty view in a real terminal: ocibuild runs in a detached tmux session of a given
// size, and the test reads the screen while it runs and the whole scrollback after it ends
// (capture-pane; -J joins lines the terminal wrapped, so a wrapped line shows as one longer than
// the terminal). testdata/e2e/tty is a multi-stage build with two stages running at once whose
// RUN steps print long lines, tabs, colours, wide characters and progress bars.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "builder/tty_text.h"
#include "tests/integration/integration_testing.h"
#include "tests/registry/registry_fixture.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using builder::DisplayWidth;
using testing::Busybox;
using testing::Env;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out = Split(text, '\n');
  for (auto& l : out)
    while (!l.empty() && l.back() == ' ') l.pop_back();
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

// A detached tmux server of its own (-L), one session running a script.
class Tmux {
 public:
  Tmux(const std::string& dir, int cols, int rows) : dir_(dir) {
    socket_ = "ocibuild-tty-" + std::to_string(::getpid()) + "-" + std::to_string(++seq_);
    std::string conf = JoinPath(dir, "tmux.conf");
    EXPECT_TRUE(WriteFile(conf, "set -g history-limit 100000\nset -g status off\n").ok());
    EXPECT_TRUE(Run({"-f", conf, "new-session", "-d", "-s", "t", "-x", std::to_string(cols), "-y",
                     std::to_string(rows), "sh " + JoinPath(dir, "run.sh")})
                    .ok());
  }
  ~Tmux() { (void)Run({"kill-server"}); }

  Result<std::string> Run(std::vector<std::string> args) {
    std::vector<std::string> argv = {"tmux", "-L", socket_};
    argv.insert(argv.end(), args.begin(), args.end());
    OCIB_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv));
    if (!r.success()) return Error{"tmux " + Join(args, " ") + ": " + r.err};
    return r.out;
  }
  // The screen (or with `history` all of the scrollback too); with `joined`, lines the terminal
  // wrapped are joined back.
  std::vector<std::string> Capture(bool history, bool joined = true, bool escapes = false) {
    std::vector<std::string> args = {"capture-pane", "-p", "-t", "t"};
    if (history) args.insert(args.end(), {"-S", "-", "-E", "-"});
    if (joined) args.push_back("-J");
    if (escapes) args.push_back("-e");
    auto r = Run(args);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? Lines(*r) : std::vector<std::string>{};
  }
  std::string Raw(bool escapes) {
    std::vector<std::string> args = {"capture-pane", "-p", "-t", "t", "-S", "-", "-E", "-"};
    if (escapes) args.push_back("-e");
    auto r = Run(args);
    return r.ok() ? *r : "";
  }

 private:
  std::string dir_, socket_;
  static inline int seq_ = 0;
};

struct Seen {
  int exit_code = -1;
  std::vector<std::string> final_lines;  // scrollback + screen, wrapped lines joined
  std::string final_escapes;             // the same with SGR sequences
  bool saw_window = false;               // an output line under a running step
  bool saw_header = false;
  size_t widest_live = 0;              // widest line on the screen while it ran
  std::vector<std::string> wide_live;  // lines on the screen wider than allowed
  size_t widest_after_resize = 0;
};

class TtyView : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!registry::testing::HaveTool("tmux")) GTEST_SKIP() << "needs tmux (Debian package tmux)";
    if (Busybox().empty()) GTEST_SKIP() << "no static busybox on this machine";
    auto d = TempDir::Create("ocibuild-tty-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    ctx_ = JoinPath(tmp_->path(), "ctx");
    ASSERT_EQ(
        testing::Exec({"cp", "-r", JoinPath(Env("OCIBUILD_SOURCE_DIR"), "testdata/e2e/tty"), ctx_})
            .exit_code,
        0);
    ASSERT_EQ(testing::Exec({"cp", Busybox(), JoinPath(ctx_, "busybox")}).exit_code, 0);
  }

  // Runs the build in a cols x rows terminal, watching the screen every 100 ms; `resize_to`
  // (when not 0) is the width the window is given once output windows show.
  Seen Watch(int cols, int rows, std::string extra_env = "", std::string dockerfile = "",
             int resize_to = 0) {
    Seen seen;
    std::string dir = JoinPath(tmp_->path(), "w" + std::to_string(++runs_));
    EXPECT_TRUE(MakeDirs(dir).ok());
    std::string done = JoinPath(dir, "done");
    std::string pid = JoinPath(dir, "pid");
    std::string script = "unset NO_COLOR\nexport TERM=screen\n" + extra_env +
                         "\nOCIBUILD_ROOT=" + JoinPath(dir, "state") + " " +
                         Env("OCIBUILD_BINARY") +
                         (dockerfile.empty() ? "" : " -f " + JoinPath(ctx_, dockerfile)) + " " +
                         ctx_ + " &\necho $! > " + pid + "\nwait $!\necho $? > " + done +
                         ".tmp && mv " + done + ".tmp " + done + "\nsleep 600\n";
    EXPECT_TRUE(WriteFile(JoinPath(dir, "run.sh"), script).ok());
    Tmux tmux(dir, cols, rows);
    bool resized = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    while (!PathExists(done) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (PathExists(done)) break;
      for (const auto& l : tmux.Capture(false)) {
        size_t w = static_cast<size_t>(DisplayWidth(l));
        if (l.rfind(" => => # ", 0) == 0) seen.saw_window = true;
        if (l.rfind("[+] Building ", 0) == 0) seen.saw_header = true;
        if (resized) {
          seen.widest_after_resize = std::max(seen.widest_after_resize, w);
          continue;
        }
        // The summary's digests (once the build is over) may be wider than a narrow terminal.
        if (l.rfind("    sha256:", 0) == 0) continue;
        seen.widest_live = std::max(seen.widest_live, w);
        if (w > static_cast<size_t>(cols - 1)) seen.wide_live.push_back(l);
      }
      if (resize_to && seen.saw_window && !resized) {
        // Stopped while the window changes, so no frame drawn for the old width is still on
        // its way to the terminal when it reflows (a race no program can see; after it the
        // view may leave one stale frame behind).
        auto p = ReadFile(pid);
        EXPECT_TRUE(p.ok());
        pid_t child = p.ok() ? std::stoi(*p) : 0;
        if (child > 0) ::kill(child, SIGSTOP);
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        EXPECT_TRUE(tmux.Run({"resize-window", "-t", "t", "-x", std::to_string(resize_to)}).ok());
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        if (child > 0) ::kill(child, SIGCONT);
        resized = true;
      }
    }
    EXPECT_TRUE(PathExists(done)) << "the build did not end within 180 s";
    auto code = ReadFile(done);
    if (code.ok()) seen.exit_code = std::stoi(*code);
    seen.final_lines = tmux.Capture(true);
    seen.final_escapes = tmux.Raw(true);
    return seen;
  }

  // Each finished step's line (" => [stage n/m] ...", " => [stage] FROM <stage>", CACHED or
  // ERROR) at most once, and the lines of `want` steps found; no output window or running line
  // left behind.
  void ExpectStepsOnce(const Seen& s, size_t want) {
    static const std::regex kStep(R"(^ => (CACHED |ERROR )?(\[[^\]]+\] .*?) +[0-9.]+s$)");
    std::map<std::string, int> count;
    for (const auto& l : s.final_lines) {
      EXPECT_EQ(l.rfind(" => => ", 0), std::string::npos) << "left behind: " << l;
      std::smatch m;
      if (std::regex_match(l, m, kStep)) ++count[m[2].str()];
    }
    for (const auto& [label, n] : count) EXPECT_EQ(n, 1) << label;
    EXPECT_EQ(count.size(), want) << Join(s.final_lines, "\n");
  }

  // No line the terminal wrapped, but the summary's digests in a terminal narrower than one;
  // up to `end` lines (the view's; what follows it, a failed step's log and the error, is
  // printed whole).
  void ExpectNothingWrapped(const Seen& s, int cols, size_t end = SIZE_MAX) {
    for (size_t i = 0; i < s.final_lines.size() && i < end; ++i) {
      const std::string& l = s.final_lines[i];
      if (DisplayWidth(l) <= cols - 1) continue;
      bool digest = l.rfind("    sha256:", 0) == 0 && cols < 76;
      EXPECT_TRUE(digest) << "wrapped at " << cols << " columns: " << l;
    }
  }

  std::unique_ptr<TempDir> tmp_;
  std::string ctx_;
  int runs_ = 0;
};

TEST_F(TtyView, EachFinishedStepOnceAndNothingWrapsAt60And80And200Columns) {
  for (int cols : {60, 80, 200}) {
    SCOPED_TRACE(std::to_string(cols) + " columns");
    Seen s = Watch(cols, 30);
    ASSERT_EQ(s.exit_code, 0) << Join(s.final_lines, "\n");
    EXPECT_TRUE(s.saw_header);
    EXPECT_TRUE(s.saw_window);  // the last lines of the running steps were shown
    EXPECT_TRUE(s.wide_live.empty()) << s.wide_live.front();
    ExpectStepsOnce(s, 10);
    ExpectNothingWrapped(s, cols);
    int finished = 0;
    for (const auto& l : s.final_lines)
      finished += std::regex_match(l, std::regex(R"(\[\+\] Building [0-9.]+s \(10/10\) FINISHED)"));
    EXPECT_EQ(finished, 1) << Join(s.final_lines, "\n");
    // Colours on a terminal: finished steps in blue.
    EXPECT_NE(s.final_escapes.find("\x1b[34m"), std::string::npos);
    std::printf("%d columns: %zu lines in the scrollback, widest live line %zu\n", cols,
                s.final_lines.size(), s.widest_live);
  }
}

TEST_F(TtyView, NoColourUnderNoColor) {
  Seen s = Watch(80, 30, "export NO_COLOR=1");
  ASSERT_EQ(s.exit_code, 0);
  ExpectStepsOnce(s, 10);
  std::smatch m;
  EXPECT_FALSE(std::regex_search(s.final_escapes, m, std::regex("\x1b\\[[0-9;]*m")))
      << m.str(0).substr(1);
}

TEST_F(TtyView, FollowsTheTerminalWidthOnResize) {
  // Wider on SIGWINCH: output lines cut at 59 columns are then shown up to 199.
  Seen s = Watch(60, 30, "", "", 200);
  ASSERT_EQ(s.exit_code, 0);
  EXPECT_GT(s.widest_after_resize, 100u);
  ExpectStepsOnce(s, 10);
  ExpectNothingWrapped(s, 200);
  // Narrower: the terminal reflows what the view drew; the view still finds its first line.
  Seen n = Watch(200, 30, "", "", 70);
  ASSERT_EQ(n.exit_code, 0);
  ExpectStepsOnce(n, 10);
}

TEST_F(TtyView, FailedStepsWholeLogAtTheEnd) {
  Seen s = Watch(80, 24, "", "Dockerfile.fail");
  EXPECT_EQ(s.exit_code, 1);
  ExpectStepsOnce(s, 3);
  std::string text = Join(s.final_lines, "\n");
  size_t box = text.find("------\n > [stage-0 2/2] RUN");
  ASSERT_NE(box, std::string::npos) << text;
  for (int i = 1; i <= 50; ++i) {
    std::regex line("\n[0-9.]+ failing step output " + std::to_string(i) + "\n");
    EXPECT_TRUE(std::regex_search(text.substr(box), line)) << i;
  }
  EXPECT_NE(text.find("giving up\n------\n", box), std::string::npos);
  // The error follows the log.
  EXPECT_NE(text.find("ocibuild: ", box), std::string::npos);
  EXPECT_NE(text.find(") ERROR"), std::string::npos);
  size_t box_line = 0;
  while (box_line < s.final_lines.size() && s.final_lines[box_line] != "------") ++box_line;
  ExpectNothingWrapped(s, 80, box_line);
}

}  // namespace
}  // namespace ocibuild
