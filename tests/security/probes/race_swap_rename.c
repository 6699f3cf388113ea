// Class 2: rename/link/unlink/rmdir/chmod/utimes/setxattr through a directory swapped with a
// symlink to "/". The harness sees host-side changes (new files, deleteme.txt gone, truncme.txt
// changed).
#include <sys/xattr.h>

#include "race.h"

int main(void) {
  p_start();
  char* base = race_setup();
  char* deleteme = p_strf("%s/deleteme.txt", base);
  char* trunc = p_strf("%s/truncme.txt", base);
  char* deleteme_rel = p_strf("%s/deleteme.txt", race_decoy_rel);
  long tries = 0;
  race_begin();
  double end = now_s() + RACE_SECONDS;
  while (now_s() < end && tries < 4000) {
    ++tries;
    char* src = p_strf("/tmp/race/src-%ld", tries);
    write_file(src, "guest\n", 0644);
    if (rename(src, p_strf("%s/ocib-esc-%s-ren-%ld", base, nonce(), tries)) != 0) unlink(src);
    link("/tmp/race/l-src", p_strf("%s/ocib-esc-%s-link-%ld", base, nonce(), tries));
    if (unlink(deleteme) == 0) {
      // Put the decoy's copy back through the directory fd (never through the raced name).
      int fd = openat(race_decoy_fd, deleteme_rel, O_CREAT | O_WRONLY, 0644);
      if (fd >= 0) close(fd);
    }
    chmod(trunc, 0777);
    struct timespec ts[2] = {{1, 0}, {1, 0}};
    utimensat(AT_FDCWD, trunc, ts, 0);
    setxattr(trunc, "user.ocib-race", "x", 1, 0);
    if (tries == 1) write_file("/tmp/race/l-src", "guest\n", 0644);
  }
  race_end("rename/link/unlink/chmod/utimensat/setxattr", tries, 0);
  p_end();
}
