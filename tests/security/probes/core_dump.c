// Core dumps: the kernel writes a core where core_pattern says, relative to the crashing process's
// cwd on the host. A process that chdir'ed through a mapped prefix into a host directory and
// crashes leaves a file there (core_pattern on a CI box is often plain "core").
#include <sys/prctl.h>
#include <sys/resource.h>

#include "probe.h"

static void crash_in(const char* dir) {
  pid_t c = fork();
  if (c == 0) {
    struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &r);
    prctl(PR_SET_DUMPABLE, 1);
    if (ATT(chdir(dir), "chdir(%s)", dir) != 0) _exit(0);
    volatile int* p = NULL;
    *p = 1;
    _exit(0);
  }
  int st = 0;
  waitpid(c, &st, 0);
  ATT(WIFSIGNALED(st) ? 0 : -1, "crash in %s: signal %d core %d", dir,
      WIFSIGNALED(st) ? WTERMSIG(st) : 0, WIFSIGNALED(st) ? WCOREDUMP(st) : 0);
}

int main(void) {
  p_start();
  char pat[256];
  ATT(read_path("/proc/sys/kernel/core_pattern", pat, sizeof pat), "read core_pattern");
  p_line("ATTEMPT", "core_pattern: %s", pat);
  mkdir("/tmp", 01777);
  crash_in("/tmp");
  crash_in(p_strf("/proc/self/root%s/host", T()));
  crash_in(p_strf("/proc/..%s/host", T()));
  crash_in(p_strf("/proc/self/cwd/../../../../../../../../../../../../../..%s/host", T()));
  p_end();
}
