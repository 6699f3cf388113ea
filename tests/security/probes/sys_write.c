// Writable kernel interfaces: /proc/sys (sysctl), /sys (including cgroup control files), the
// step's own oom_score_adj below 0 (needs CAP_SYS_RESOURCE). Files are only OPENED for writing,
// never written: the open is where the kernel checks permission, and writing the host's sysctls
// would change the machine.
#include "probe.h"

static void open_w(const char* path) {
  int fd = open(path, O_WRONLY);
  if (ATT(fd, "open(%s, O_WRONLY)", path) >= 0) {
    p_escape("%s is writable from the step", path);
    close(fd);
  }
}

int main(void) {
  p_start();
  open_w("/proc/sys/kernel/core_pattern");
  open_w("/proc/sys/kernel/hostname");
  open_w("/proc/sys/vm/drop_caches");
  open_w("/proc/sys/net/ipv4/ip_forward");
  open_w("/sys/kernel/mm/transparent_hugepage/enabled");
  open_w("/sys/kernel/uevent_helper");
  open_w("/sys/fs/cgroup/cgroup.procs");
  open_w("/sys/fs/cgroup/memory/cgroup.procs");
  open_w("/sys/fs/cgroup/pids/cgroup.procs");
  open_w("/sys/fs/cgroup/cgroup.subtree_control");
  char cg[512];
  if (read_path("/proc/self/cgroup", cg, sizeof cg) > 0) {
    // cgroup v2 "0::/path": the step's own cgroup directory.
    char* p = strstr(cg, "0::");
    if (p) {
      char* nl = strchr(p, '\n');
      if (nl) *nl = 0;
      open_w(p_strf("/sys/fs/cgroup%s/cgroup.procs", p + 3));
      open_w(p_strf("/sys/fs/cgroup%s/memory.max", p + 3));
    }
  }
  int fd = open("/proc/self/oom_score_adj", O_WRONLY);
  if (fd >= 0) {
    if (ATT(write(fd, "-1000", 5), "write(own oom_score_adj, -1000)") == 5)
      p_escape("the step made itself unkillable by the OOM killer");
    close(fd);
  }
  p_end();
}
