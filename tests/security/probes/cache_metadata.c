// Cache poisoning through metadata left changed on the shared inode: fchmod and futimens on a
// read-only fd (no copy-up happens for those), chmod through the magic link. The cache must notice
// (and drop the entry) or never share: the trusted build must come out the same.
#include "cache.h"

int main(void) {
  p_start();
  cache_open_targets();
  struct target* d = &tg[0];
  struct target* r = &tg[1];
  ATT(fchmod(d->ro, 0600), "fchmod(read-only fd of %s, 0600)", d->path);
  struct timespec ts[2] = {{86400, 0}, {86400, 0}};
  ATT(futimens(d->ro, ts), "futimens(read-only fd of %s, 1970-01-02)", d->path);
  ATT(fchmod(r->ro, 0644), "fchmod(read-only fd of %s, 0644: not executable)", r->path);
  ATT(chmod(p_strf("/proc/self/fd/%d", r->ro), 0604), "chmod(/proc/self/fd/N of %s)", r->path);
  cache_report();
  p_end();
}
