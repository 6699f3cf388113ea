// Class 4: prlimit64 on processes outside the step (the victims' and the harness's limits are
// compared by the harness). Controls: the step's own limits.
#include <sys/resource.h>

#include "probe.h"

int main(void) {
  p_start();
  struct rlimit old;
  p_control(prlimit(0, RLIMIT_NOFILE, NULL, &old) == 0, "prlimit(self, get)", "%s", p_err(errno));
  struct rlimit lower = {old.rlim_cur > 512 ? 512 : old.rlim_cur, old.rlim_max};
  p_control(prlimit(0, RLIMIT_NOFILE, &lower, NULL) == 0, "prlimit(self, set)", "%s", p_err(errno));
  pid_t t[64];
  int n = targets(t, 64);
  for (int i = 0; i < n; ++i) {
    struct rlimit got;
    ATT(prlimit(t[i], RLIMIT_NOFILE, NULL, &got), "prlimit(%d, NOFILE, get)", (int)t[i]);
    struct rlimit core = {0, 0};
    ATT(prlimit(t[i], RLIMIT_CORE, &core, NULL), "prlimit(%d, CORE, 0)", (int)t[i]);
    struct rlimit nofile = {100, 100};
    ATT(prlimit(t[i], RLIMIT_NOFILE, &nofile, NULL), "prlimit(%d, NOFILE, 100)", (int)t[i]);
    struct rlimit stack = {1 << 20, 1 << 20};
    ATT(prlimit(t[i], RLIMIT_STACK, &stack, NULL), "prlimit(%d, STACK, 1M)", (int)t[i]);
  }
  p_end();
}
