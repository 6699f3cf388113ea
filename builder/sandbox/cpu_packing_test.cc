#include "builder/sandbox/cpu_packing.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ocibuild::sandbox {
namespace {

int CpusOf(pid_t pid) {
  cpu_set_t set;
  if (::sched_getaffinity(pid, sizeof set, &set) != 0) return -1;
  return CPU_COUNT(&set);
}

TEST(CpuPackingDecide, PacksWhenStopsAreFrequentAndSpreadsWhenQuiet) {
  PackingThresholds th;  // pack at 2000/s, spread below 500/s
  const uint64_t s = 1'000'000'000;
  EXPECT_TRUE(CpuPacking::Decide(false, 2000, s, th));
  EXPECT_FALSE(CpuPacking::Decide(false, 1999, s, th));
  EXPECT_TRUE(CpuPacking::Decide(true, 500, s, th));  // hysteresis: stays packed
  EXPECT_FALSE(CpuPacking::Decide(true, 499, s, th));
  EXPECT_TRUE(CpuPacking::Decide(false, 200, s / 10, th));  // rates, not counts
  EXPECT_TRUE(CpuPacking::Decide(true, 0, 0, th));           // no time passed: no change
}

TEST(CpuPacking, DisabledIsInactive) {
  CpuPacking p = CpuPacking::Create(false);
  EXPECT_FALSE(p.active());
  EXPECT_FALSE(p.WindowEnded(1'000'000'000'000));
  EXPECT_TRUE(p.Rebalance(1, true, 0, {}));
  EXPECT_FALSE(p.original().empty());
}

// Start pins the caller (the tracer) and packs the given thread on its CPU; after a window a
// quiet thread gets every CPU back, a busy one is packed again, and a thread with a mask of its
// own gets that one when spread.
TEST(CpuPacking, ThreadsArePackedByTheirOwnStopRate) {
  cpu_set_t before;
  ASSERT_EQ(::sched_getaffinity(0, sizeof before, &before), 0);
  int cpus = CPU_COUNT(&before);
  if (cpus < 2) GTEST_SKIP() << "one CPU: nothing to pack";
  int first = 0;
  while (!CPU_ISSET(first, &before)) ++first;
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  {
    PackingThresholds th;
    th.window_ns = 10'000'000;
    CpuPacking p = CpuPacking::Create(true, th);
    ASSERT_TRUE(p.active());
    p.Start(child);
    EXPECT_EQ(CpusOf(0), 1);
    EXPECT_EQ(CpusOf(child), 1);
    EXPECT_FALSE(p.WindowEnded(1'000'000'000));
    EXPECT_FALSE(p.WindowEnded(1'005'000'000));  // window not over
    EXPECT_TRUE(p.WindowEnded(1'020'000'000));
    EXPECT_TRUE(p.Rebalance(child, true, 1000, {}));  // 1000 stops in 20 ms: stays packed
    EXPECT_EQ(CpusOf(child), 1);
    EXPECT_FALSE(p.Rebalance(child, true, 1, {}));  // 1 stop in 20 ms: spread
    EXPECT_EQ(CpusOf(child), cpus);
    EXPECT_EQ(CpusOf(0), 1);  // the tracer stays where it is
    std::vector<uint8_t> own(p.original().size(), 0);
    own[first / 8] = static_cast<uint8_t>(1u << (first % 8));
    EXPECT_TRUE(p.Rebalance(child, false, 1000, own));  // busy again: packed
    EXPECT_EQ(CpusOf(child), 1);
    EXPECT_FALSE(p.Rebalance(child, true, 0, own));
    EXPECT_EQ(CpusOf(child), 1);  // its own mask: one CPU
    EXPECT_EQ(p.changes(), 3);
  }
  itimerval left;
  ASSERT_EQ(::getitimer(ITIMER_REAL, &left), 0);
  EXPECT_EQ(left.it_interval.tv_usec + left.it_value.tv_usec, 0) << "timer still armed";
  ::sched_setaffinity(0, sizeof before, &before);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

// Steps running at the same time get their tracers on different CPUs through the hint.
TEST(CpuPacking, TheHintPicksTheTracersCpu) {
  cpu_set_t before;
  ASSERT_EQ(::sched_getaffinity(0, sizeof before, &before), 0);
  int cpus = CPU_COUNT(&before);
  if (cpus < 2) GTEST_SKIP() << "one CPU: nothing to pack";
  std::vector<int> allowed;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &before)) allowed.push_back(c);
  for (int hint = 0; hint <= cpus; ++hint) {
    {
      CpuPacking p = CpuPacking::Create(true);
      p.Start(::getpid(), hint);
      EXPECT_EQ(p.cpu(), allowed[static_cast<size_t>(hint % cpus)]) << hint;
      cpu_set_t now;
      ASSERT_EQ(::sched_getaffinity(0, sizeof now, &now), 0);
      EXPECT_EQ(CPU_COUNT(&now), 1);
      EXPECT_TRUE(CPU_ISSET(p.cpu(), &now));
    }
    ::sched_setaffinity(0, sizeof before, &before);
  }
}

}  // namespace
}  // namespace ocibuild::sandbox
