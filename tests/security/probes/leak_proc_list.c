// Information leak (no hints given): what /proc lists. Only the step's own processes may appear;
// the harness checks that no victim, ocibuild or harness pid is among the SEEN-PID lines, and
// that no host path of the test appears. Control: the step's own pids are listed.
#include "probe.h"

int main(void) {
  p_start();
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  int saw_self = 0, saw_child = 0, count = 0;
  DIR* d = opendir("/proc");
  ATT(d ? 0 : -1, "opendir(/proc)");
  if (d) {
    struct dirent* e;
    while ((e = readdir(d))) {
      if (!isdigit((unsigned char)e->d_name[0])) continue;
      pid_t pid = atoi(e->d_name);
      ++count;
      saw_self |= pid == getpid();
      saw_child |= pid == child;
      p_line("SEEN-PID", "%d", (int)pid);
      char buf[4096];
      ssize_t r = read_path(p_strf("/proc/%d/cmdline", (int)pid), buf, sizeof buf);
      if (r > 0) {
        for (ssize_t k = 0; k < r; ++k)
          if (!buf[k]) buf[k] = ' ';
        p_loot(p_strf("cmdline of %d", (int)pid), buf, (size_t)r);
      }
    }
    closedir(d);
  }
  ATT(count, "pids listed in /proc");
  p_control(saw_self && saw_child, "own pid and own child's pid listed in /proc",
            "self=%d child=%d", saw_self, saw_child);
  // Walking the parent chain by /proc/<pid>/stat.
  pid_t a[16];
  int n = ancestors(a, 16);
  for (int i = 0; i < n; ++i) p_line("SEEN-PID", "%d", (int)a[i]);
  p_line("SEEN-PID", "%d", (int)getppid());
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  p_end();
}
