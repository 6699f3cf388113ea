// Cache poisoning through truncation: truncate() of the fd's magic link, ftruncate of a reopened
// fd, O_TRUNC through other spellings; then the original size rewritten with other bytes and the
// mtime restored.
#include "cache.h"

static char* original[2];

static void rewrite(const char* how, struct target* t, int fd) {
  if (fd < 0) return;
  struct stat st;
  if (fstat(fd, &st) != 0 || st.st_ino != t->orig.st_ino) {
    close(fd);
    return;
  }
  // From the copy read at the start: an O_TRUNC open has emptied the file by now.
  ssize_t n = t->orig.st_size;
  char* buf = malloc((size_t)n);
  memcpy(buf, original[t - tg], (size_t)n);
  {
    if (t == &tg[0])
      memcpy(buf, "TRUNCATE", 8);
    else
      buf[n - 1] ^= 0x77;
    ATT(ftruncate(fd, 0), "%s ftruncate(0)", how);
    if (ATT(pwrite(fd, buf, (size_t)n, 0), "%s rewrite %s", how, t->path) == n)
      p_escape("%s: truncated and rewrote %s in place", how, t->path);
  }
  free(buf);
  close(fd);
  restore_times(t);
}

int main(void) {
  p_start();
  cache_open_targets();
  for (int i = 0; i < 2; ++i) {
    original[i] = malloc((size_t)tg[i].orig.st_size);
    if (pread(tg[i].ro, original[i], (size_t)tg[i].orig.st_size, 0) != tg[i].orig.st_size)
      p_control(0, "read the original", "%s", tg[i].path);
  }
  for (int i = 0; i < 2; ++i) {
    struct target* t = &tg[i];
    char* magic = p_strf("/proc/self/fd/%d", t->ro);
    ATT(truncate(magic, t->orig.st_size), "truncate(%s, same size)", magic);
    rewrite("reopen", t, open(magic, O_RDWR));
    rewrite("O_TRUNC reopen", t, open(magic, O_RDWR | O_TRUNC));
    rewrite("path", t, open(t->path, O_RDWR));
  }
  cache_report();
  p_end();
}
