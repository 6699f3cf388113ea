// What fake root must never leave as REAL host state in ocibuild's state directory (which
// outlives the build in the rootfs cache): set-uid/set-gid bits and file capabilities on host
// files, device nodes, files owned by another uid. The probe asks for all of them (legitimately,
// as `dpkg -i` would), then writes 24 MiB so that the tree is kept in the rootfs cache. The harness
// checks the host modes, owners and xattrs of everything under the state directory afterwards.
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "probe.h"

int main(void) {
  p_start();
  int in = open("/bin/busybox", O_RDONLY);
  int out = open("/ocib-suid", O_CREAT | O_WRONLY | O_TRUNC, 0755);
  char buf[65536];
  ssize_t n;
  while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, (size_t)n) != n) break;
  close(out);
  p_control(ATT(chmod("/ocib-suid", 04755), "chmod(04755)") == 0, "chmod u+s (recorded)", "");
  struct stat st;
  p_control(stat("/ocib-suid", &st) == 0 && (st.st_mode & 07777) == 04755, "the step sees 4755",
            "%o", st.st_mode);
  ATT(chmod("/bin/busybox", 06755), "chmod(/bin/busybox, 06755)");
  ATT(chown("/ocib-suid", 0, 0), "chown(0:0)");
  int f2 = open("/ocib-owned", O_CREAT | O_WRONLY, 0644);
  if (f2 >= 0) close(f2);
  ATT(chown("/ocib-owned", 4321, 4321), "chown(4321:4321)");
  // security.capability v2: cap_setuid+ep.
  unsigned char cap[20] = {0, 0, 0, 2, 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  ATT(setxattr("/ocib-suid", "security.capability", cap, sizeof cap, 0),
      "setxattr(security.capability)");
  ATT(mknod("/ocib-mem", S_IFCHR | 0666, makedev(1, 1)), "mknod(/ocib-mem, c 1 1)");
  ATT(mknod("/ocib-sda", S_IFBLK | 0666, makedev(8, 0)), "mknod(/ocib-sda, b 8 0)");
  p_control(stat("/ocib-mem", &st) == 0 && S_ISCHR(st.st_mode), "the step sees a char device", "%o",
            st.st_mode);
  mkdir("/ocib-dir", 0755);
  ATT(chmod("/ocib-dir", 02777), "chmod(dir, 02777)");
  // Large enough (incompressible) for the commit to be saved into the rootfs cache.
  int big = open("/ocib-big", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  int ur = open("/dev/urandom", O_RDONLY);
  for (int i = 0; i < 24 * 16 && big >= 0 && ur >= 0; ++i)
    if (read(ur, buf, sizeof buf) != (ssize_t)sizeof buf ||
        write(big, buf, sizeof buf) != (ssize_t)sizeof buf)
      break;
  close(big);
  p_end();
}
