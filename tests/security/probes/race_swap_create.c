// Class 2: creating, truncating, mkdir and mknod in a directory swapped with a symlink to "/".
// Every name is fixed, so a host hit leaves a file the harness finds.
#include <sys/sysmacros.h>

#include "race.h"

int main(void) {
  p_start();
  char* base = race_setup();
  char* created = p_strf("%s/ocib-esc-%s-race-creat", base, nonce());
  char* trunc = p_strf("%s/truncme.txt", base);
  char* dir = p_strf("%s/ocib-esc-%s-race-mkdir", base, nonce());
  char* fifo = p_strf("%s/ocib-esc-%s-race-fifo", base, nonce());
  char* sym = p_strf("%s/ocib-esc-%s-race-symlink", base, nonce());
  long tries = 0;
  race_begin();
  double end = now_s() + RACE_SECONDS;
  while (now_s() < end) {
    ++tries;
    int fd = open(created, O_CREAT | O_WRONLY | O_NONBLOCK, 0644);
    if (fd >= 0) close(fd);
    fd = open(trunc, O_WRONLY | O_TRUNC | O_NONBLOCK);
    if (fd >= 0) close(fd);
    mkdir(dir, 0755);
    mknod(fifo, S_IFIFO | 0644, 0);
    symlink("x", sym);
  }
  race_end("creat/O_TRUNC/mkdir/mknod/symlink", tries, 0);
  p_end();
}
