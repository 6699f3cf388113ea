// Class 4: scheduling of processes outside the step: sched_setaffinity, sched_setscheduler,
// sched_setattr, ioprio_set (PROCESS, PGRP, and USER when not root). The harness compares the
// victims' and its own affinity, policy and io priority. Controls: the step's own.
#include <linux/ioprio.h>

#include "probe.h"

struct ocib_sched_attr {
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
  uint32_t sched_util_min, sched_util_max;
};

int main(void) {
  p_start();
  cpu_set_t mine;
  CPU_ZERO(&mine);
  p_control(sched_getaffinity(0, sizeof mine, &mine) == 0, "sched_getaffinity(self)", "%s",
            p_err(errno));
  p_control(sched_setaffinity(0, sizeof mine, &mine) == 0, "sched_setaffinity(self)", "%s",
            p_err(errno));
  p_control(
      syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 6)) == 0,
      "ioprio_set(self)", "%s", p_err(errno));
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(0, &one);
  pid_t t[64];
  int n = targets(t, 64);
  for (int i = 0; i < n; ++i) {
    pid_t p = t[i];
    cpu_set_t got;
    ATT(sched_getaffinity(p, sizeof got, &got), "sched_getaffinity(%d)", (int)p);
    ATT(sched_setaffinity(p, sizeof one, &one), "sched_setaffinity(%d, {0})", (int)p);
    struct sched_param sp = {0};
    ATT(sched_setscheduler(p, SCHED_IDLE, &sp), "sched_setscheduler(%d, SCHED_IDLE)", (int)p);
    struct ocib_sched_attr at;
    memset(&at, 0, sizeof at);
    at.size = sizeof at;
    at.sched_policy = SCHED_BATCH;
    at.sched_nice = 19;
    ATT(syscall(SYS_sched_setattr, p, &at, 0), "sched_setattr(%d, SCHED_BATCH)", (int)p);
    ATT(syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, p, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_IDLE, 0)),
        "ioprio_set(PROCESS %d, IDLE)", (int)p);
    pid_t pg = getpgid(p);
    if (pg > 1)
      ATT(syscall(SYS_ioprio_set, IOPRIO_WHO_PGRP, pg, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7)),
          "ioprio_set(PGRP %d, BE 7)", (int)pg);
  }
  if (!host_root())
    ATT(syscall(SYS_ioprio_set, IOPRIO_WHO_USER, getuid(), IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 7)),
        "ioprio_set(USER, BE 7)");
  else
    p_line("ATTEMPT", "ioprio_set(IOPRIO_WHO_USER) not tried: the harness runs as root");
  p_end();
}
