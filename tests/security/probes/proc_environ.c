// /proc/<pid>/environ and cmdline of other processes: ocibuild's environment holds the CI's
// tokens (GITHUB_TOKEN...), the victims' holds a canary.
#include "probe.h"

int main(void) {
  p_start();
  char buf[65536];
  p_control(read_path("/proc/self/environ", buf, sizeof buf) > 0, "read /proc/self/environ", "");
  pid_t t[64];
  int n = read_targets(t, 64);
  p_line("ATTEMPT", "targets: %d", n);
  for (int i = 0; i < n; ++i) {
    const char* files[] = {"environ", "cmdline"};
    for (int f = 0; f < 2; ++f) {
      char* path = p_strf("/proc/%d/%s", (int)t[i], files[f]);
      ssize_t r = read_path(path, buf, sizeof buf);
      ATT(r, "read(%s)", path);
      if (r > 0) {
        for (ssize_t k = 0; k < r; ++k)
          if (!buf[k]) buf[k] = ' ';
        if (!loot_needles(path, buf, (size_t)r, CANARY_PREFIX)) p_loot(path, buf, (size_t)r);
      }
    }
    char* tdir = p_strf("/proc/%d/task", (int)t[i]);
    DIR* d = opendir(tdir);
    if (!d) continue;
    struct dirent* e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char* path = p_strf("%s/%s/environ", tdir, e->d_name);
      ssize_t r = read_path(path, buf, sizeof buf);
      ATT(r, "read(%s)", path);
      if (r > 0) loot_needles(path, buf, (size_t)r, CANARY_PREFIX);
    }
    closedir(d);
  }
  p_end();
}
