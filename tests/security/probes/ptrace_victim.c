// Class 4: ptrace of processes outside the step (attach, seize, peek, poke the victim's secret),
// and of the step's own processes (which must not let the step escape its tracer either).
#include <sys/ptrace.h>

#include "probe.h"

static void attack(pid_t pid, int poke) {
  long rc = ptrace(PTRACE_SEIZE, pid, 0, 0);
  ATT(rc, "ptrace(PTRACE_SEIZE, %d)", (int)pid);
  if (rc != 0) {
    rc = ptrace(PTRACE_ATTACH, pid, 0, 0);
    ATT(rc, "ptrace(PTRACE_ATTACH, %d)", (int)pid);
    if (rc != 0) return;
    waitpid(pid, NULL, __WALL);
  } else {
    ptrace(PTRACE_INTERRUPT, pid, 0, 0);
    waitpid(pid, NULL, __WALL);
  }
  p_escape("ptrace attached to %d", (int)pid);
  static char mb[1 << 20];
  // Only the victims are scanned word by word: stopping ocibuild or the harness for long would
  // only hang the test.
  if (poke && read_path(p_strf("/proc/%d/maps", (int)pid), mb, sizeof mb) > 0) {
    char* line = mb;
    while (line && *line) {
      char* next = strchr(line, '\n');
      if (next) *next++ = 0;
      unsigned long lo, hi;
      char perms[8];
      if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[0] == 'r' && perms[1] == 'w' &&
          hi - lo < (64u << 20)) {
        for (unsigned long a = lo; a + 16 < hi; a += 8) {
          errno = 0;
          long word = ptrace(PTRACE_PEEKDATA, pid, (void*)a, 0);
          if (errno) break;
          if (memcmp(&word, "VICTIM-S", 8) == 0) {
            long w2 = ptrace(PTRACE_PEEKDATA, pid, (void*)(a + 8), 0);
            if (memcmp(&w2, "ECRET:", 6) == 0) {
              p_loot("ptrace peek", &w2, 8);
              if (poke) {
                long pw;
                memcpy(&pw, "PWNED!!!", 8);
                ATT(ptrace(PTRACE_POKEDATA, pid, (void*)(a + 16), (void*)pw), "PTRACE_POKEDATA");
              }
            }
          }
        }
      }
      line = next;
    }
  }
  ptrace(PTRACE_DETACH, pid, 0, 0);
}

int main(void) {
  p_start();
  pid_t c = fork();
  if (c == 0) {
    ATT(ptrace(PTRACE_TRACEME, 0, 0, 0), "ptrace(PTRACE_TRACEME)");
    _exit(0);
  }
  waitpid(c, NULL, 0);
  c = fork();
  if (c == 0) {
    pause();
    _exit(0);
  }
  ATT(ptrace(PTRACE_SEIZE, c, 0, 0), "ptrace(PTRACE_SEIZE, own child)");
  kill(c, SIGKILL);
  waitpid(c, NULL, __WALL);
  pid_t t[64];
  int n = targets(t, 64);
  long v1 = hint_long("VICTIM"), v2 = hint_long("VICTIM2");
  for (int i = 0; i < n; ++i) attack(t[i], t[i] == v1 || t[i] == v2);
  p_end();
}
