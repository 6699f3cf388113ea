// Descriptors inherited from ocibuild: the harness starts ocibuild with an extra open fd on an
// (unlinked) canary file, as CI runners leak fds. The step must see only 0, 1 and 2 (and those
// must not be a way out: a directory or socket fd could be climbed or used).
#include "probe.h"

int main(void) {
  p_start();
  p_control(write(1, "", 0) == 0, "stdout writable", "");
  int leaked = 0;
  for (int fd = 0; fd < 1024; ++fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) continue;
    char link[PATH_MAX] = "";
    ssize_t l = readlink(p_strf("/proc/self/fd/%d", fd), link, sizeof link - 1);
    if (l > 0) link[l] = 0;
    p_line("ATTEMPT", "fd %d open: mode %o -> %s", fd, st.st_mode, link);
    if (fd < 3) {
      if (S_ISDIR(st.st_mode)) p_escape("fd %d is a directory", fd);
      continue;
    }
    ++leaked;
    if (S_ISREG(st.st_mode)) loot_fd(p_strf("inherited fd %d", fd), fd);
    if (S_ISDIR(st.st_mode)) {
      int f = openat(fd, "..", O_RDONLY | O_DIRECTORY);
      ATT(f, "openat(inherited dir fd %d, ..)", fd);
    }
  }
  ATT(leaked ? leaked : -1, "inherited fds above 2 (expected none)");
  p_end();
}
