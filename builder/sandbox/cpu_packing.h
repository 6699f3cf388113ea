// Where the tracer and the step's processes may run. Every ptrace stop is two wakeups (tracee ->
// tracer -> tracee); across CPUs each one is an inter-processor interrupt to a CPU that has gone
// idle, which on a VM means a halted vCPU: ~40 us per stop on the 2-vCPU Firecracker VM of our
// benchmarks against ~7 us when both sides share a CPU. So while the step stops often the tracer
// and every tracee are "packed" on one CPU, and when stops get rare (a compiler crunching) the
// step gets all of its CPUs back. The guest never sees the packing: sched_getaffinity answers
// what it would have been (see Tracer::AffinityCall).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace ocibuild::sandbox {

struct PackingThresholds {
  uint64_t window_ns = 50'000'000;  // how often the rate is looked at
  uint64_t pack_at = 2000;          // stops per second that make packing pay
  uint64_t spread_below = 500;      // packed, but this quiet: give the CPUs back
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
  bool packed() const { return packed_; }
  int changes() const { return changes_; }  // for the verbose histogram

  // In the tracer, with the step's first process: packs both on the CPU the tracer runs on and
  // starts a SIGALRM interval timer so that waitpid returns (EINTR) at least once a window.
  void Start(pid_t first);
  // Called after every wakeup of the tracer with the number of stops handled so far and the
  // monotonic time. True when the mode changed: the caller then calls Apply for every tracee.
  bool Tick(uint64_t stops, uint64_t now_ns);
  // Sets the affinity of one thread to the current mode's mask; `own` is its guest-chosen mask
  // (empty: the original), which a spread step gets back.
  void Apply(pid_t tid, const std::vector<uint8_t>& own) const;

  // The affinity mask the step started with, as sched_getaffinity returned it (its length is
  // the kernel's cpumask size).
  const std::vector<uint8_t>& original() const { return original_; }

  // The decision, pure for tests: stay or become packed after `stops` stops in `ns`.
  static bool Decide(bool packed, uint64_t stops, uint64_t ns, const Thresholds& th);

 private:
  bool active_ = false;
  bool armed_ = false;
  bool packed_ = false;
  Thresholds th_;
  std::vector<uint8_t> original_;
  std::vector<uint8_t> single_;  // one CPU: the packed mask
  uint64_t window_start_ns_ = 0;
  uint64_t window_stops_ = 0;
  int changes_ = 0;
};

}  // namespace ocibuild::sandbox
