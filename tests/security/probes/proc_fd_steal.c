// /proc/<pid>/fd/* of other processes: reopening another process's open files (the victim holds
// an unlinked canary file, ocibuild its state root, the harness its pipes) and fdinfo/map_files.
#include "probe.h"

int main(void) {
  p_start();
  int own = open("/bin/busybox", O_RDONLY);
  char b[16];
  p_control(own >= 0 && read_path(p_strf("/proc/self/fd/%d", own), b, sizeof b) > 0,
            "reopen own fd via /proc/self/fd", "");
  pid_t t[64];
  int n = read_targets(t, 64);
  for (int i = 0; i < n; ++i) {
    char* dir = p_strf("/proc/%d/fd", (int)t[i]);
    DIR* d = opendir(dir);
    ATT(d ? 0 : -1, "opendir(%s)", dir);
    if (!d) continue;
    struct dirent* e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char* path = p_strf("%s/%s", dir, e->d_name);
      char link[PATH_MAX];
      ssize_t l = readlink(path, link, sizeof link - 1);
      if (l > 0) {
        link[l] = 0;
        p_line("ATTEMPT", "readlink(%s) -> %s", path, link);
      }
      if (l > 0 && (!strncmp(link, "pipe:", 5) || !strncmp(link, "socket:", 7))) continue;
      int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
      ATT(fd, "open(%s)", path);
      if (fd >= 0) {
        loot_fd(path, fd);
        close(fd);
      }
    }
    closedir(d);
    char* fdinfo = p_strf("/proc/%d/fdinfo/0", (int)t[i]);
    char buf[512];
    ATT(read_path(fdinfo, buf, sizeof buf), "read(%s)", fdinfo);
    char* mf = p_strf("/proc/%d/map_files", (int)t[i]);
    d = opendir(mf);
    ATT(d ? 0 : -1, "opendir(%s)", mf);
    if (d) {
      struct dirent* m;
      int k = 0;
      while ((m = readdir(d)) && k < 4) {
        if (m->d_name[0] == '.') continue;
        ++k;
        char* path = p_strf("%s/%s", mf, m->d_name);
        int fd = open(path, O_RDONLY);
        ATT(fd, "open(%s)", path);
        if (fd >= 0) close(fd);
      }
      closedir(d);
    }
  }
  p_end();
}
