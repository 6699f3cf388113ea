#include "builder/sandbox/cpu_packing.h"

#include <sched.h>
#include <signal.h>
#include <sys/time.h>

#include <utility>

#include "util/sys/affinity.h"

namespace ocibuild::sandbox {
namespace {

// Only there to make waitpid return: the tracer re-checks the rate after every wakeup.
void OnAlarm(int) {}

int CountCpus(const std::vector<uint8_t>& mask) {
  int n = 0;
  for (uint8_t b : mask) n += __builtin_popcount(b);
  return n;
}

bool HasCpu(const std::vector<uint8_t>& mask, int cpu) {
  return cpu >= 0 && static_cast<size_t>(cpu) / 8 < mask.size() && (mask[cpu / 8] >> (cpu % 8)) & 1;
}

}  // namespace

CpuPacking CpuPacking::Create(bool enabled, Thresholds th) {
  CpuPacking p;
  p.th_ = th;
  p.original_ = sys::GetOwnAffinity();
  p.active_ = enabled && CountCpus(p.original_) > 1;
  return p;
}

CpuPacking::CpuPacking(CpuPacking&& o) noexcept { *this = std::move(o); }

CpuPacking& CpuPacking::operator=(CpuPacking&& o) noexcept {
  active_ = o.active_;
  armed_ = std::exchange(o.armed_, false);
  th_ = o.th_;
  original_ = std::move(o.original_);
  single_ = std::move(o.single_);
  cpu_ = o.cpu_;
  window_start_ns_ = o.window_start_ns_;
  last_window_ns_ = o.last_window_ns_;
  changes_ = o.changes_;
  return *this;
}

CpuPacking::~CpuPacking() {
  if (!armed_) return;
  itimerval off = {};
  ::setitimer(ITIMER_REAL, &off, nullptr);
}

void CpuPacking::Start(pid_t first, int hint) {
  if (!active_) return;
  int cpu = ::sched_getcpu();
  if (hint >= 0 || !HasCpu(original_, cpu)) {
    int skip = hint >= 0 ? hint % CountCpus(original_) : 0;
    for (cpu = 0; !HasCpu(original_, cpu) || skip-- > 0; ++cpu) {
    }
  }
  cpu_ = cpu;
  single_.assign(original_.size(), 0);
  single_[cpu / 8] = static_cast<uint8_t>(1u << (cpu % 8));
  struct sigaction sa = {};
  sa.sa_handler = OnAlarm;  // no SA_RESTART: waitpid must return
  ::sigaction(SIGALRM, &sa, nullptr);
  itimerval every = {};
  every.it_interval.tv_sec = static_cast<time_t>(th_.window_ns / 1'000'000'000);
  every.it_interval.tv_usec = static_cast<suseconds_t>(th_.window_ns % 1'000'000'000 / 1000);
  every.it_value = every.it_interval;
  armed_ = ::setitimer(ITIMER_REAL, &every, nullptr) == 0;
  (void)sys::SetAffinity(0, single_.data(), single_.size());
  Apply(first, true, {});
}

bool CpuPacking::Decide(bool packed, uint64_t stops, uint64_t ns, const Thresholds& th) {
  if (ns == 0) return packed;
  uint64_t per_s = stops * 1'000'000'000 / ns;
  return packed ? per_s >= th.spread_below : per_s >= th.pack_at;
}

bool CpuPacking::WindowEnded(uint64_t now_ns) {
  if (!active_) return false;
  if (window_start_ns_ == 0) window_start_ns_ = now_ns;
  if (now_ns - window_start_ns_ < th_.window_ns) return false;
  last_window_ns_ = now_ns - window_start_ns_;
  window_start_ns_ = now_ns;
  return true;
}

bool CpuPacking::Rebalance(pid_t tid, bool packed, uint64_t stops,
                           const std::vector<uint8_t>& own) {
  if (!active_) return packed;
  bool now = Decide(packed, stops, last_window_ns_, th_);
  if (now != packed) {
    ++changes_;
    Apply(tid, now, own);
  }
  return now;
}

void CpuPacking::Apply(pid_t tid, bool packed, const std::vector<uint8_t>& own) const {
  if (!active_) return;
  const std::vector<uint8_t>& m = packed ? single_ : own.empty() ? original_ : own;
  // ESRCH (the thread just exited) is fine: there is nothing left to place.
  (void)sys::SetAffinity(tid, m.data(), m.size());
}

}  // namespace ocibuild::sandbox
