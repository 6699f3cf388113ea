// Cache poisoning through new names for the shared inode: a hardlink (link, linkat of the fd's
// magic link), a rename away and back; then the new name opened for writing.
#include "cache.h"

int main(void) {
  p_start();
  cache_open_targets();
  mkdir("/tmp", 01777);
  for (int i = 0; i < 2; ++i) {
    struct target* t = &tg[i];
    char* alias = p_strf("/tmp/ocib-alias-%d", i);
    if (ATT(link(t->path, alias), "link(%s, %s)", t->path, alias) == 0) {
      int fd = open(alias, O_RDWR);
      ATT(fd, "open(alias, O_RDWR)");
      tamper("hardlink alias", t, fd);
    }
    char* alias2 = p_strf("/tmp/ocib-alias-fd-%d", i);
    if (ATT(linkat(AT_FDCWD, p_strf("/proc/self/fd/%d", t->ro), AT_FDCWD, alias2,
                   AT_SYMLINK_FOLLOW),
            "linkat(/proc/self/fd/%d, %s, FOLLOW)", t->ro, alias2) == 0) {
      int fd = open(alias2, O_RDWR);
      ATT(fd, "open(fd alias, O_RDWR)");
      tamper("linkat fd alias", t, fd);
    }
    char* moved = p_strf("/tmp/ocib-moved-%d", i);
    if (ATT(rename(t->path, moved), "rename(%s, %s)", t->path, moved) == 0) {
      int fd = open(moved, O_RDWR);
      ATT(fd, "open(moved, O_RDWR)");
      tamper("renamed", t, fd);
      ATT(rename(moved, t->path), "rename back");
    }
  }
  cache_report();
  p_end();
}
