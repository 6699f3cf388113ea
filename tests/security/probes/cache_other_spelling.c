// Cache poisoning through other spellings of the same path: the host path via /proc/self/root,
// /proc/self/cwd, the probe's ancestors' roots; then in-root spellings a prefix-based copy-up
// might not recognise (//, /./, .., relative, dirfd-relative, openat2, symlinks). The escape-like
// spellings go first: once an in-root spelling copies the file up, only the old fd still reaches
// the shared inode.
#include <linux/openat2.h>

#include "cache.h"

#define UP16 "/../../../../../../../../../../../../../../../.."

int main(void) {
  p_start();
  cache_open_targets();
  const char* root = host_rootfs();
  p_line("ATTEMPT", "host rootfs as seen from /proc/self/maps: '%s'", root);
  for (int i = 0; i < 2; ++i) {
    struct target* t = &tg[i];
    if (*root) {
      const char* pre[] = {"/proc/self/root", "/proc/..", "/proc/self/cwd" UP16};
      for (int k = 0; k < 3; ++k) {
        char* p = p_strf("%s%s%s", pre[k], root, t->path);
        int fd = open(p, O_RDWR);
        ATT(fd, "open(%s, O_RDWR)", p);
        tamper(p, t, fd);
      }
    }
    if (chdir("/") == 0) {
      char* p = p_strf("/proc/self/cwd%s", t->path);
      int fd = open(p, O_RDWR);
      ATT(fd, "open(%s, O_RDWR)", p);
      tamper(p, t, fd);
    }
    const char* dir = i == 0 ? "/data" : "/";
    const char* base = i == 0 ? "file.txt" : "report";
    const char* spellings[] = {i == 0 ? "//data//file.txt" : "//report",
                               i == 0 ? "/./data/./file.txt" : "/./report",
                               i == 0 ? "/data/../data/file.txt" : "/data/../report",
                               i == 0 ? "/bin/../data/file.txt" : "/bin/../report",
                               i == 0 ? "data/file.txt" : "report",
                               i == 0 ? "/../../data/file.txt" : "/../../report"};
    for (size_t s = 0; s < sizeof spellings / sizeof *spellings; ++s) {
      int fd = open(spellings[s], O_RDWR);
      ATT(fd, "open(%s, O_RDWR)", spellings[s]);
      tamper(spellings[s], t, fd);
    }
    int d = open(dir, O_PATH | O_DIRECTORY);
    int fd = openat(d, base, O_RDWR);
    ATT(fd, "openat(%s fd, %s, O_RDWR)", dir, base);
    tamper("openat dirfd", t, fd);
    struct open_how how = {O_RDWR, 0, RESOLVE_IN_ROOT};
    fd = (int)syscall(SYS_openat2, d, base, &how, sizeof how);
    ATT(fd, "openat2(%s fd, %s, O_RDWR, IN_ROOT)", dir, base);
    tamper("openat2", t, fd);
    mkdir("/tmp", 01777);
    char* sl = p_strf("/tmp/ocib-sl-%d", i);
    symlink(t->path, sl);
    fd = open(sl, O_RDWR);
    ATT(fd, "open(symlink %s, O_RDWR)", sl);
    tamper("symlink", t, fd);
  }
  cache_report();
  p_end();
}
