// Class 4: setpriority/getpriority on other processes: PRIO_PROCESS (the victims, ocibuild, the
// harness), PRIO_PGRP (the victims' groups, the step's own group, which may be ocibuild's) and
// PRIO_USER (every process of the user; not tried when the harness runs as root, where it would
// renice the whole machine). Values only ever go up, so that nothing needs privileges to undo.
// Controls: the step's own priority.
#include <sys/resource.h>

#include "probe.h"

int main(void) {
  p_start();
  errno = 0;
  int mine = getpriority(PRIO_PROCESS, 0);
  p_control(errno == 0, "getpriority(self)", "%d", mine);
  p_control(setpriority(PRIO_PROCESS, 0, mine < 3 ? 3 : mine) == 0, "setpriority(self)", "%s",
            p_err(errno));
  pid_t t[64];
  int n = targets(t, 64);
  for (int i = 0; i < n; ++i) {
    errno = 0;
    int p = getpriority(PRIO_PROCESS, t[i]);
    ATT(errno ? -1 : p, "getpriority(PRIO_PROCESS, %d)", (int)t[i]);
    ATT(setpriority(PRIO_PROCESS, t[i], 17), "setpriority(PRIO_PROCESS, %d, 17)", (int)t[i]);
    pid_t pg = getpgid(t[i]);
    if (pg > 1) ATT(setpriority(PRIO_PGRP, pg, 16), "setpriority(PRIO_PGRP, %d, 16)", (int)pg);
  }
  ATT(setpriority(PRIO_PGRP, 0, 15), "setpriority(PRIO_PGRP, own group, 15)");
  errno = 0;
  int u = getpriority(PRIO_USER, 0);
  ATT(errno ? -1 : u, "getpriority(PRIO_USER, self)");
  // One step above the victim's: enough to see, little for other processes of the user.
  long v = hint_long("VICTIM");
  errno = 0;
  int vn = v > 0 ? getpriority(PRIO_PROCESS, (id_t)v) : 0;
  int target = (errno || vn >= 19) ? 19 : vn + 1;
  if (!host_root())
    ATT(setpriority(PRIO_USER, 0, target), "setpriority(PRIO_USER, own uid, %d)", target);
  else
    p_line("ATTEMPT", "setpriority(PRIO_USER) not tried: the harness runs as root");
  p_end();
}
