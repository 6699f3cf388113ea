// Writable /proc files of another process of the same user: oom_score_adj, coredump_filter,
// clear_refs, timerslack_ns, comm, autogroup. The harness compares them before and after.
#include "probe.h"

static void put(pid_t pid, const char* file, const char* value) {
  char* path = p_strf("/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY);
  ATT(fd, "open(%s, O_WRONLY)", path);
  if (fd < 0) return;
  ATT(write(fd, value, strlen(value)), "write(%s, %s)", path, value);
  close(fd);
}

int main(void) {
  p_start();
  int fd = open("/proc/self/oom_score_adj", O_WRONLY);
  p_control(fd >= 0 && write(fd, "500", 3) == 3, "write own oom_score_adj", "%s", p_err(errno));
  pid_t t[64];
  int n = targets(t, 64);
  for (int i = 0; i < n; ++i) {
    put(t[i], "oom_score_adj", "1000");
    put(t[i], "coredump_filter", "0x1ff");
    put(t[i], "clear_refs", "1");
    put(t[i], "timerslack_ns", "123456");
    put(t[i], "comm", "pwned");
    put(t[i], "autogroup", "19");
    put(t[i], "attr/current", "unconfined");
    put(t[i], "loginuid", "4321");
  }
  p_end();
}
