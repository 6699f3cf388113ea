// Per-user/host state: /dev/shm (POSIX shm_open, sem_open) is the host's tmpfs when the sandbox
// maps it through. The harness put a canary file there and a file whose NAME is a canary; the
// probe lists, reads, writes, deletes and creates (the harness looks for the nonce in the host's
// /dev/shm afterwards). Control: shm_open of the step's own object works.
#include <sys/mman.h>

#include "probe.h"

int main(void) {
  p_start();
  char* own = p_strf("/ocib-own-%d", (int)getpid());
  int fd = shm_open(own, O_CREAT | O_RDWR, 0600);
  int ok = fd >= 0 && ftruncate(fd, 4096) == 0;
  p_control(ok, "shm_open of an own object", "%s", p_err(errno));
  if (fd >= 0) close(fd);
  shm_unlink(own);
  DIR* d = opendir("/dev/shm");
  ATT(d ? 0 : -1, "opendir(/dev/shm)");
  if (d) {
    struct dirent* e;
    while ((e = readdir(d)))
      if (strstr(e->d_name, "ocib")) p_loot("/dev/shm entry", e->d_name, strlen(e->d_name));
    closedir(d);
  }
  const char* name = hint("DEVSHM");
  if (name) {
    char* path = p_strf("/dev/shm/%s", name);
    try_read("/dev/shm canary", path);
    int h = shm_open(p_strf("/%s", name), O_RDWR, 0);
    ATT(h, "shm_open(/%s)", name);
    if (h >= 0) {
      loot_fd("shm_open canary", h);
      ATT(pwrite(h, "PWNED", 5, 0), "pwrite(shm canary)");
      close(h);
    }
    ATT(unlink(path), "unlink(%s)", path);
  }
  char* mine = p_strf("/dev/shm/ocib-esc-%s-devshm", nonce());
  int c = open(mine, O_CREAT | O_WRONLY, 0644);
  ATT(c, "open(%s, O_CREAT)", mine);
  if (c >= 0) close(c);
  int s = shm_open(p_strf("/ocib-esc-%s-shmopen", nonce()), O_CREAT | O_RDWR, 0600);
  ATT(s, "shm_open(ocib-esc-<nonce>-shmopen, O_CREAT)");
  p_end();
}
