// Cache poisoning through extended attributes: fsetxattr on a READ-ONLY fd (the kernel checks
// write permission on the inode, not the fd's mode), setxattr through the magic link, and on the
// path. user.* xattrs travel into layers; the trusted step's report lists them.
#include <sys/xattr.h>

#include "cache.h"

int main(void) {
  p_start();
  cache_open_targets();
  for (int i = 0; i < 2; ++i) {
    struct target* t = &tg[i];
    // Success is fine when the step's name got a private copy (as overlayfs copies up); the
    // escape is the xattr on the inode the fd holds, which the cache shares.
    char v[16];
    if (ATT(fsetxattr(t->ro, "user.ocib-poison", "ro-fd", 5, 0), "fsetxattr(read-only fd of %s)",
            t->path) == 0 &&
        fgetxattr(t->ro, "user.ocib-poison", v, sizeof v) == 5)
      p_escape("set an xattr on the shared %s through a read-only fd", t->path);
    char* magic = p_strf("/proc/self/fd/%d", t->ro);
    ATT(setxattr(magic, "user.ocib-poison2", "magic", 5, 0), "setxattr(%s)", magic);
    ATT(lsetxattr(t->path, "user.ocib-poison3", "path", 4, 0), "lsetxattr(%s)", t->path);
    restore_times(t);
  }
  cache_report();
  p_end();
}
