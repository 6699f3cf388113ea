// Class 1, magic links: a directory fd of the step's own (the rootfs root, /tmp) reopened through
// /proc/self/fd/N or /dev/fd/N and climbed with `..`; `..` relative to a dirfd; fchdir.
#include "escape_ops.h"

#define UP16 "/../../../../../../../../../../../../../../../.."

int main(void) {
  p_start();
  T();
  int root = open("/", O_PATH | O_DIRECTORY);
  int rootr = open("/", O_RDONLY | O_DIRECTORY);
  mkdir("/tmp", 01777);
  int tmp = open("/tmp", O_RDONLY | O_DIRECTORY);
  p_control(root >= 0 && rootr >= 0 && tmp >= 0, "open / and /tmp as directories", "");
  escape_matrix("proc/self/fd/<root>/..", p_strf("/proc/self/fd/%d" UP16, root));
  escape_reads("dev/fd/<root>/..", p_strf("/dev/fd/%d" UP16, rootr));
  escape_reads("proc/self/fd/<tmp>/..", p_strf("/proc/self/fd/%d" UP16, tmp));
  escape_reads("proc/thread-self/fd/<root>/..", p_strf("/proc/thread-self/fd/%d" UP16, root));

  // `..` relative to a dirfd and after fchdir: must be clamped at the guest's /.
  char* rel = p_strf("../../../../../../../../../../../../../../../..%s/host/secret.txt", T());
  int f = openat(tmp, rel, O_RDONLY);
  ATT(f, "openat(tmp, %s)", rel);
  if (f >= 0) loot_fd("openat-dotdot", f);
  if (ATT(fchdir(tmp), "fchdir(/tmp)") == 0) {
    try_read("fchdir+relative", rel);
    escape_writes("fchdir+relative", "../../../../../../../../../../../../../../../..");
    if (chdir("/") != 0) p_escape("cannot chdir back");
  }
  struct stat a, b;
  p_control(fstatat(tmp, "../bin/busybox", &a, 0) == 0 && stat("/bin/busybox", &b) == 0 &&
                a.st_ino == b.st_ino,
            "fstatat(/tmp, ../bin/busybox) is the guest's", "");
  p_end();
}
