// Cache poisoning through mmap: MAP_SHARED writes of a writable mapping (whatever fd gives one),
// PROT_WRITE on a read-only fd's mapping, mprotect after the fact; msync, then the mtime back.
#include "cache.h"

static void via_map(const char* how, struct target* t, int fd) {
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_ino != t->orig.st_ino) {
    close(fd);
    return;
  }
  char* m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ATT(m == MAP_FAILED ? -1 : 0, "%s mmap(PROT_WRITE, MAP_SHARED) of %s", how, t->path);
  if (m != MAP_FAILED) {
    if (t == &tg[0])
      memcpy(m, "MMAPPED!", 8);
    else
      m[st.st_size - 1] ^= 0x33;
    msync(m, (size_t)st.st_size, MS_SYNC);
    munmap(m, (size_t)st.st_size);
    p_escape("%s: wrote %s through a shared mapping", how, t->path);
    restore_times(t);
  }
  close(fd);
}

int main(void) {
  p_start();
  cache_open_targets();
  for (int i = 0; i < 2; ++i) {
    struct target* t = &tg[i];
    char* m = mmap(NULL, (size_t)t->orig.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, t->ro, 0);
    ATT(m == MAP_FAILED ? -1 : 0, "mmap(read-only fd, PROT_WRITE, MAP_SHARED)");
    m = mmap(NULL, (size_t)t->orig.st_size, PROT_READ, MAP_SHARED, t->ro, 0);
    if (m != MAP_FAILED)
      ATT(mprotect(m, (size_t)t->orig.st_size, PROT_READ | PROT_WRITE), "mprotect(PROT_WRITE)");
    via_map("/proc/self/fd reopen", t, open(p_strf("/proc/self/fd/%d", t->ro), O_RDWR));
    mkdir("/tmp", 01777);
    char* alias = p_strf("/tmp/ocib-mmap-alias-%d", i);
    link(t->path, alias);
    via_map("hardlink alias", t, open(alias, O_RDWR));
    via_map("path", t, open(t->path, O_RDWR));
  }
  cache_report();
  p_end();
}
