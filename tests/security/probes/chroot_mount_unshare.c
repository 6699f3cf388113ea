// chroot, mount and namespaces: chroot to a mapped prefix (then `..` escapes), mount a tmpfs over
// the harness's host directory (as root it would really mount), unshare/setns (a user namespace
// gives the step capabilities the sandbox knows nothing about).
#include <sys/mount.h>

#include "probe.h"

int main(void) {
  p_start();
  char* mnt = p_strf("/proc/self/root%s/host/mnt", T());
  ATT(mount("none", mnt, "tmpfs", 0, NULL), "mount(tmpfs, %s)", mnt);
  ATT(mount("none", p_strf("%s/host/mnt", T()), "tmpfs", 0, NULL), "mount(tmpfs, plain host path)");
  // The target is a directory of the rootfs whose name exists nowhere on the host, so that an
  // untranslated call can only fail.
  char* target = p_strf("/ocib-mnt-%s", nonce());
  mkdir(target, 0755);
  ATT(mount(p_strf("/proc/self/root%s/host", T()), target, NULL, MS_BIND, NULL),
      "mount(bind the host dir onto %s)", target);
  ATT(umount2(p_strf("/proc/self/root%s/host/mnt", T()), MNT_DETACH), "umount2(host mnt)");
  if (fork() == 0) {
    if (ATT(chroot("/proc/self/root"), "chroot(/proc/self/root)") == 0) {
      try_read("after chroot(/proc/self/root)", p_strf("%s/host/secret.txt", T()));
    }
    _exit(0);
  }
  wait(NULL);
  if (fork() == 0) {
    mkdir("/ocib-jail", 0755);
    if (ATT(chroot("/ocib-jail"), "chroot(/ocib-jail)") == 0) {
      if (chdir("../../../../../../../../..") == 0)
        try_read("after chroot+chdir ..", p_strf(".%s/host/secret.txt", T()));
    }
    _exit(0);
  }
  wait(NULL);
  if (fork() == 0) {
    if (ATT(unshare(CLONE_NEWUSER), "unshare(CLONE_NEWUSER)") == 0) {
      p_escape("the step made a user namespace");
      ATT(unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS) in it");
      ATT(mount("none", target, "tmpfs", 0, NULL), "mount(tmpfs) in it");
      ATT(mount("proc", target, "proc", 0, NULL), "mount(proc) in it");
    }
    _exit(0);
  }
  wait(NULL);
  if (fork() == 0) {
    ATT(unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)");
    ATT(unshare(CLONE_NEWNET), "unshare(CLONE_NEWNET)");
    ATT(unshare(CLONE_NEWPID), "unshare(CLONE_NEWPID)");
    ATT(unshare(CLONE_FS), "unshare(CLONE_FS)");
    int ns = open(p_strf("/proc/%d/ns/mnt", (int)getppid()), O_RDONLY);
    ATT(ns, "open(/proc/<ppid>/ns/mnt)");
    if (ns >= 0) ATT(setns(ns, 0), "setns(parent's mnt ns)");
    int nsu = open("/proc/1/ns/user", O_RDONLY);
    ATT(nsu, "open(/proc/1/ns/user)");
    if (nsu >= 0) ATT(setns(nsu, 0), "setns(pid 1 user ns)");
    _exit(0);
  }
  wait(NULL);
  p_end();
}
