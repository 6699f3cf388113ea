// Every syscall that takes a path, by raw number, given the PLAIN host path of the harness's
// files: a call the sandbox forgets to translate (a new syscall, an *at2 variant, an xattr or
// mount-API call) reaches the host. Reads of host-only files that succeed are escapes; changes
// are judged by the harness.
#include <linux/openat2.h>
#include <sys/inotify.h>

#include "probe.h"

#define X(nr, ...) ATT(syscall(nr, __VA_ARGS__), #nr)

static void loot_if(const char* what, long fd) {
  if (fd >= 0) loot_fd(what, (int)fd);
}

int main(void) {
  p_start();
  char* sec = p_strf("%s/host/secret.txt", T());
  char* trunc = p_strf("%s/host/truncme.txt", T());
  char* del = p_strf("%s/host/deleteme.txt", T());
  char* mv = p_strf("%s/host/moveme.txt", T());
  char* dir = p_strf("%s/host", T());
  char* lnk = p_strf("%s/host/canary.lnk", T());
  char* bin = p_strf("%s/host/hostbin", T());
  char* emptyd = p_strf("%s/host/emptydir", T());
  char n[32][PATH_MAX];
  for (int i = 0; i < 32; ++i)
    snprintf(n[i], PATH_MAX, "%s/host/ocib-esc-%s-raw-%d", T(), nonce(), i);
  char buf[4096];
  struct stat st;
  struct statx sx;
  struct open_how how = {O_RDONLY, 0, 0};
  struct timespec ts[2] = {{1, 0}, {1, 0}};
  struct timeval tv[2] = {{1, 0}, {1, 0}};
  extern char** environ;
  char* argv[] = {bin, NULL};

  loot_if("open", X(2, sec, O_RDONLY, 0));
  loot_if("openat", X(257, AT_FDCWD, sec, O_RDONLY, 0));
  loot_if("openat2", X(437, AT_FDCWD, sec, &how, sizeof how));
  if (X(4, sec, &st) == 0) p_escape("stat saw a host file");
  if (X(6, sec, &st) == 0) p_escape("lstat saw a host file");
  if (X(262, AT_FDCWD, sec, &st, 0) == 0) p_escape("newfstatat saw a host file");
  if (X(332, AT_FDCWD, sec, 0, STATX_BASIC_STATS, &sx) == 0) p_escape("statx saw a host file");
  if (X(21, sec, R_OK) == 0) p_escape("access saw a host file");
  if (X(269, AT_FDCWD, sec, R_OK) == 0) p_escape("faccessat saw a host file");
  if (X(439, AT_FDCWD, sec, R_OK, 0) == 0) p_escape("faccessat2 saw a host file");
  long l = X(89, lnk, buf, sizeof buf);
  if (l > 0) p_loot("readlink", buf, (size_t)l);
  l = X(267, AT_FDCWD, lnk, buf, sizeof buf);
  if (l > 0) p_loot("readlinkat", buf, (size_t)l);
  l = X(191, sec, "user.ocib", buf, sizeof buf);
  if (l > 0) p_loot("getxattr", buf, (size_t)l);
  l = X(192, sec, "user.ocib", buf, sizeof buf);
  if (l > 0) p_loot("lgetxattr", buf, (size_t)l);
  if (X(194, sec, buf, sizeof buf) >= 0) p_escape("listxattr saw a host file");
  if (X(195, sec, buf, sizeof buf) >= 0) p_escape("llistxattr saw a host file");
  if (X(137, dir, buf) == 0) p_escape("statfs saw a host directory");
  if (X(80, dir) == 0) {
    p_escape("chdir into a host directory");
    if (chdir("/") != 0) return 1;
  }
  X(134, sec);  // uselib
  int in = inotify_init1(0);
  if (X(254, in, dir, IN_ALL_EVENTS) >= 0) p_escape("inotify on a host directory");
  struct {
    unsigned hb;
    int ht;
    unsigned char h[128];
  } fh = {128, 0, {0}};
  int mnt;
  X(303, AT_FDCWD, sec, &fh, &mnt, 0);
  // xattr *at (6.13) and file_getattr/file_setattr (6.17)
  struct {
    unsigned long long value;
    unsigned size, flags;
  } xa = {(unsigned long long)(uintptr_t)buf, sizeof buf, 0};
  l = X(464, AT_FDCWD, sec, 0, "user.ocib", &xa, sizeof xa);
  if (l > 0) p_loot("getxattrat", buf, (size_t)l);
  if (X(465, AT_FDCWD, sec, 0, buf, sizeof buf) >= 0) p_escape("listxattrat saw a host file");
  char fa[64] = {0};
  if (X(468, AT_FDCWD, sec, fa, 24, 0) == 0) p_escape("file_getattr saw a host file");
  X(469, AT_FDCWD, trunc, fa, 24, 0);
  // Changes.
  X(85, n[0], 0644);  // creat
  X(2, n[1], O_CREAT | O_WRONLY, 0644);
  X(257, AT_FDCWD, n[2], O_CREAT | O_WRONLY, 0644);
  struct open_how ch = {O_CREAT | O_WRONLY, 0644, 0};
  X(437, AT_FDCWD, n[3], &ch, sizeof ch);
  X(2, trunc, O_WRONLY | O_TRUNC, 0);
  X(76, trunc, 1);                             // truncate
  X(132, trunc, NULL);                         // utime
  X(235, trunc, tv);                           // utimes
  X(261, AT_FDCWD, trunc, tv);                 // futimesat
  X(280, AT_FDCWD, trunc, ts, 0);              // utimensat
  X(90, trunc, 0777);                          // chmod
  X(268, AT_FDCWD, trunc, 0707);               // fchmodat
  X(452, AT_FDCWD, trunc, 0770, 0);            // fchmodat2
  X(92, trunc, 4321, 4321);                    // chown
  X(94, trunc, 4321, 4321);                    // lchown
  X(260, AT_FDCWD, trunc, 4321, 4321, 0);      // fchownat
  X(188, trunc, "user.ocib-raw", "x", 1, 0);   // setxattr
  X(189, trunc, "user.ocib-raw2", "x", 1, 0);  // lsetxattr
  struct {
    unsigned long long value;
    unsigned size, flags;
  } xs = {(unsigned long long)(uintptr_t) "x", 1, 0};
  X(463, AT_FDCWD, trunc, 0, "user.ocib-raw3", &xs, sizeof xs);  // setxattrat
  X(197, sec, "user.ocib");                                      // removexattr
  X(198, sec, "user.ocib");                                      // lremovexattr
  X(466, AT_FDCWD, sec, 0, "user.ocib");                         // removexattrat
  X(83, n[4], 0755);                                             // mkdir
  X(258, AT_FDCWD, n[5], 0755);                                  // mkdirat
  X(84, emptyd);                                                 // rmdir
  X(87, del);                                                    // unlink
  X(263, AT_FDCWD, del, 0);                                      // unlinkat
  int f = open("/ocib-raw-src", O_CREAT | O_WRONLY, 0644);
  if (f >= 0) close(f);
  X(82, "/ocib-raw-src", n[6]);                          // rename out
  X(264, AT_FDCWD, mv, AT_FDCWD, "/ocib-raw-moved");     // renameat in
  X(316, AT_FDCWD, "/ocib-raw-src", AT_FDCWD, n[7], 0);  // renameat2
  if (X(86, sec, "/ocib-raw-link") == 0) try_read("link in", "/ocib-raw-link");
  if (X(265, AT_FDCWD, sec, AT_FDCWD, "/ocib-raw-linkat", 0) == 0)
    try_read("linkat in", "/ocib-raw-linkat");
  X(86, "/bin/busybox", n[8]);                                   // link out
  X(88, "x", n[9]);                                              // symlink
  X(266, "x", AT_FDCWD, n[10]);                                  // symlinkat
  X(133, n[11], S_IFIFO | 0644, 0);                              // mknod
  X(259, AT_FDCWD, n[12], S_IFIFO | 0644, 0);                    // mknodat
  X(428, AT_FDCWD, dir, 1 /*OPEN_TREE_CLONE*/);                  // open_tree
  X(165, "none", p_strf("%s/host/mnt", T()), "tmpfs", 0, NULL);  // mount
  X(166, p_strf("%s/host/mnt", T()), 0);                         // umount2
  X(167, n[13], 0);                                              // swapon
  X(161, dir);                                                   // chroot
  X(179, 0, n[14], 0, NULL);                                     // quotactl
  pid_t c = fork();
  if (c == 0) {
    X(59, bin, argv, environ);
    X(322, AT_FDCWD, bin, argv, environ, 0);
    _exit(127);
  }
  int wst = 0;
  waitpid(c, &wst, 0);
  if (WIFEXITED(wst) && WEXITSTATUS(wst) != 127) p_escape("a host program ran");
  p_end();
}
