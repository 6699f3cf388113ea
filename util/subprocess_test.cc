#include "util/subprocess.h"

#include <gtest/gtest.h>

namespace ocibuild {

TEST(Subprocess, CapturesOutputAndExitCode) {
  auto r = RunProcess({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(Subprocess, FeedsStdin) {
  SpawnOptions o;
  o.stdin_data = std::string(200000, 'a');
  auto r = RunProcess({"wc", "-c"}, o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->out, "200000\n");
}

TEST(Subprocess, MissingProgramIsAnError) {
  auto r = RunProcess({"/nonexistent/prog"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("exec /nonexistent/prog"), std::string::npos);
}

TEST(Subprocess, ChildIsKilledOnDestruction) {
  pid_t pid;
  {
    auto c = Child::Start({"sleep", "100"});
    ASSERT_TRUE(c.ok());
    pid = c->pid();
    EXPECT_TRUE(c->Running());
  }
  EXPECT_NE(::kill(pid, 0), 0);
}

TEST(Subprocess, ShellQuote) {
  EXPECT_EQ(ShellQuote({"echo", "a b", "it's"}), "echo 'a b' 'it'\\''s'");
}

}  // namespace ocibuild
