// Where the tracer and the step's threads may run. Every ptrace stop is two wakeups (tracee ->
// tracer -> tracee); across CPUs each one is an inter-processor interrupt to a CPU that has gone
// idle, which on a VM means a halted vCPU: ~40 us per stop on the 2-vCPU Firecracker VM of our
// benchmarks against ~7 us when both sides share a CPU. So the tracer stays on one CPU, and a
// thread that stops often is "packed" on that CPU with it; a thread that rarely stops (a
// decompressor, a compiler crunching) keeps all of its CPUs, so a step's parallel work stays
// parallel. The guest never sees any of it: sched_getaffinity answers what it would have been
// (Tracer::AffinityCall).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace ocibuild::sandbox {

struct PackingThresholds {
  uint64_t window_ns = 50'000'000;  // how often each thread's stop rate is looked at
  uint64_t pack_at = 2000;          // stops per second that make packing a thread pay
  uint64_t spread_below = 500;      // a packed thread this quiet gets its CPUs back
};

class CpuPacking {
 public:
  using Thresholds = PackingThresholds;

  // Inactive (every call a no-op) when `enabled` is false or the caller may run on one CPU only.
  static CpuPacking Create(bool enabled, Thresholds th = {});
  CpuPacking() = default;
  CpuPacking(CpuPacking&& o) noexcept;
  CpuPacking& operator=(CpuPacking&& o) noexcept;
  ~CpuPacking();  // disarms the timer

  bool active() const { return active_; }
  int changes() const { return changes_; }  // threads moved, for the verbose histogram

  // In the tracer, with the step's first thread: pins the tracer to a CPU (the hint-th allowed
  // one modulo their number; hint < 0: the one it runs on), packs `first` there and starts a
  // SIGALRM interval timer so that waitpid returns (EINTR) at least once a window.
  void Start(pid_t first, int hint = -1);
  int cpu() const { return cpu_; }
  // Called after every wakeup of the tracer. True when a window has ended: the caller then calls
  // Rebalance for every thread with its stop count over that window.
  bool WindowEnded(uint64_t now_ns);
  // Packs or spreads one thread by its stops in the window that just ended; returns its state.
  // `own` is the mask the guest set for it (empty: the original), which a spread thread gets.
  bool Rebalance(pid_t tid, bool packed, uint64_t stops, const std::vector<uint8_t>& own);
  // Sets the affinity of one thread for its state.
  void Apply(pid_t tid, bool packed, const std::vector<uint8_t>& own) const;

  // The affinity mask the step started with, as sched_getaffinity returned it (its length is
  // the kernel's cpumask size).
  const std::vector<uint8_t>& original() const { return original_; }

  // The decision, pure for tests: stay or become packed after `stops` stops in `ns`.
  static bool Decide(bool packed, uint64_t stops, uint64_t ns, const Thresholds& th);

 private:
  bool active_ = false;
  bool armed_ = false;
  Thresholds th_;
  std::vector<uint8_t> original_;
  std::vector<uint8_t> single_;  // the tracer's CPU: the packed mask
  int cpu_ = -1;
  uint64_t window_start_ns_ = 0;
  uint64_t last_window_ns_ = 0;
  int changes_ = 0;
};

}  // namespace ocibuild::sandbox
