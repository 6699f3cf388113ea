// The operation matrix of the path probes: given a PREFIX that might lead to the host's "/"
// (/proc/self/root, /proc/.., a symlink...), every kind of path operation aimed at the harness's
// files under $T/host. Reads loot what they get; writes are judged by the harness, which hashes
// and lists $T before and after. Nothing outside $T is ever targeted.
//
// $T/host (made by the harness): secret.txt (canary), deleteme.txt, moveme.txt, truncme.txt,
// emptydir/, agent.sock (a listening unix socket that greets with a canary), hostbin (a script
// that prints a canary), canary.lnk (a symlink whose target is a canary), a file whose name is a
// canary, mnt/ (a directory with a file in it).
#ifndef OCIB_SECURITY_ESCAPE_OPS_H
#define OCIB_SECURITY_ESCAPE_OPS_H

#include <linux/openat2.h>
#include <sys/inotify.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "probe.h"

static int esc_seq;

// A fresh name for something the probe tries to create on the host.
static inline char* esc_name(const char* prefix, const char* kind) {
  return hp(prefix, p_strf("host/ocib-esc-%s-%s-%d", nonce(), kind, ++esc_seq));
}

// A fresh file inside the rootfs (a source for rename/link out).
static inline char* inroot_file(void) {
  char* p = p_strf("/ocib-src-%d", ++esc_seq);
  int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (fd >= 0) {
    ssize_t w = write(fd, "guest file\n", 11);
    (void)w;
    close(fd);
  }
  return p;
}

static inline void exec_in_child(const char* label, const char* path) {
  pid_t c = fork();
  if (c == 0) {
    char* argv[] = {(char*)path, NULL};
    extern char** environ;
    long rc = execve(path, argv, environ);
    ATT(rc, "%s execve(%s)", label, path);
    _exit(127);
  }
  if (c > 0) {
    int st = 0;
    waitpid(c, &st, 0);
    if (WIFEXITED(st) && WEXITSTATUS(st) != 127)
      p_escape("%s: execve(%s) ran something (exit %d)", label, path, WEXITSTATUS(st));
  }
}

// Reads only: the canary files, a listing, a link target, stat/access, and the same through
// chdir, an O_PATH dirfd and openat2.
static inline void escape_reads(const char* label, const char* prefix) {
  char* sec = hp(prefix, "host/secret.txt");
  try_read(label, sec);
  const char* home = hint("HOME");
  if (home) {
    try_read(label, p_strf("%s%s/.docker/config.json", prefix, home));
    try_read(label, p_strf("%s%s/.ssh/id_ed25519", prefix, home));
  }
  const char* ctx = hint("CTX");
  if (ctx) try_read(label, p_strf("%s%s/.env", prefix, ctx));

  struct stat st;
  if (ATT(stat(sec, &st), "%s stat(%s)", label, sec) == 0)
    p_escape("%s: stat of a host-only file: size %lld ino %llu", label, (long long)st.st_size,
             (unsigned long long)st.st_ino);
  if (ATT(access(sec, R_OK), "%s access(%s)", label, sec) == 0)
    p_escape("%s: access() saw a host-only file", label);

  char lb[512];
  char* lnk = hp(prefix, "host/canary.lnk");
  ssize_t n = readlink(lnk, lb, sizeof lb);
  ATT(n, "%s readlink(%s)", label, lnk);
  if (n > 0) p_loot(label, lb, (size_t)n);

  char* dir = hp(prefix, "host");
  DIR* d = opendir(dir);
  ATT(d ? 0 : -1, "%s opendir(%s)", label, dir);
  if (d) {
    char names[2048] = "";
    struct dirent* e;
    while ((e = readdir(d))) {
      strncat(names, e->d_name, sizeof names - strlen(names) - 2);
      strncat(names, " ", sizeof names - strlen(names) - 1);
    }
    closedir(d);
    p_loot(label, names, strlen(names));
  }

  int here = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (ATT(chdir(dir), "%s chdir(%s)", label, dir) == 0) {
    try_read(label, "secret.txt");
    if (here < 0 || fchdir(here) != 0) p_escape("cannot chdir back");
  }
  if (here >= 0) close(here);

  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  ATT(dfd, "%s open(%s, O_PATH)", label, dir);
  if (dfd >= 0) {
    int f = openat(dfd, "secret.txt", O_RDONLY | O_CLOEXEC);
    ATT(f, "%s openat(dirfd, secret.txt)", label);
    if (f >= 0) {
      loot_fd(label, f);
      close(f);
    }
    close(dfd);
  }

  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_RDONLY | O_CLOEXEC;
  int f = (int)syscall(SYS_openat2, AT_FDCWD, sec, &how, sizeof how);
  ATT(f, "%s openat2(%s)", label, sec);
  if (f >= 0) {
    loot_fd(label, f);
    close(f);
  }

  char xv[256];
  ssize_t xn = getxattr(sec, "user.ocib", xv, sizeof xv);
  ATT(xn, "%s getxattr(%s)", label, sec);
  if (xn > 0) p_loot(label, xv, (size_t)xn);

  int in = inotify_init1(IN_CLOEXEC);
  if (in >= 0) {
    if (ATT(inotify_add_watch(in, dir, IN_ALL_EVENTS), "%s inotify_add_watch(%s)", label, dir) >= 0)
      p_escape("%s: inotify watch on a host directory", label);
    close(in);
  }
}

// Changes: create, truncate, append, mkdir, mknod, symlink, link in and out, rename in and out,
// unlink, rmdir, chmod, chown, utimes, truncate(), setxattr, bind, connect, exec.
static inline void escape_writes(const char* label, const char* prefix) {
  char* p = esc_name(prefix, "creat");
  int f = open(p, O_CREAT | O_WRONLY | O_EXCL | O_CLOEXEC, 0644);
  ATT(f, "%s open(%s, O_CREAT)", label, p);
  if (f >= 0) {
    ssize_t w = write(f, "escaped\n", 8);
    (void)w;
    close(f);
  }
  char* trunc = hp(prefix, "host/truncme.txt");
  f = open(trunc, O_WRONLY | O_TRUNC | O_CLOEXEC);
  ATT(f, "%s open(%s, O_TRUNC)", label, trunc);
  if (f >= 0) close(f);
  f = open(trunc, O_WRONLY | O_APPEND | O_CLOEXEC);
  ATT(f, "%s open(%s, O_APPEND)", label, trunc);
  if (f >= 0) {
    ssize_t w = write(f, "appended\n", 9);
    (void)w;
    close(f);
  }
  p = esc_name(prefix, "mkdir");
  ATT(mkdir(p, 0755), "%s mkdir(%s)", label, p);
  p = esc_name(prefix, "fifo");
  ATT(mknod(p, S_IFIFO | 0644, 0), "%s mknod(%s, S_IFIFO)", label, p);
  p = esc_name(prefix, "chr");
  ATT(mknod(p, S_IFCHR | 0666, makedev(1, 3)), "%s mknod(%s, S_IFCHR 1:3)", label, p);
  p = esc_name(prefix, "symlink");
  ATT(symlink("/etc/passwd", p), "%s symlink(-> %s)", label, p);

  // A host file linked into the rootfs ends up in the layer.
  char* sec = hp(prefix, "host/secret.txt");
  char* stolen = p_strf("/ocib-stolen-%d", ++esc_seq);
  if (ATT(link(sec, stolen), "%s link(%s, %s)", label, sec, stolen) == 0) try_read(label, stolen);
  p = esc_name(prefix, "link");
  ATT(link(inroot_file(), p), "%s link(rootfs file, %s)", label, p);

  char* moveme = hp(prefix, "host/moveme.txt");
  char* moved = p_strf("/ocib-moved-%d", ++esc_seq);
  if (ATT(rename(moveme, moved), "%s rename(%s, %s)", label, moveme, moved) == 0)
    try_read(label, moved);
  p = esc_name(prefix, "rename");
  ATT(rename(inroot_file(), p), "%s rename(rootfs file, %s)", label, p);

  p = hp(prefix, "host/deleteme.txt");
  ATT(unlink(p), "%s unlink(%s)", label, p);
  p = hp(prefix, "host/emptydir");
  ATT(rmdir(p), "%s rmdir(%s)", label, p);
  ATT(chmod(trunc, 0777), "%s chmod(%s)", label, trunc);
  ATT(lchown(trunc, 4321, 4321), "%s lchown(%s)", label, trunc);
  ATT(truncate(trunc, 1), "%s truncate(%s)", label, trunc);
  struct timespec ts[2] = {{1, 0}, {1, 0}};
  ATT(utimensat(AT_FDCWD, trunc, ts, 0), "%s utimensat(%s)", label, trunc);
  ATT(setxattr(trunc, "user.ocib-escape", "x", 1, 0), "%s setxattr(%s)", label, trunc);

  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s >= 0) {
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    p = esc_name(prefix, "sock");
    if (strlen(p) < sizeof a.sun_path) {
      strcpy(a.sun_path, p);
      ATT(bind(s, (struct sockaddr*)&a, sizeof a), "%s bind(%s)", label, p);
    } else {
      p_line("ATTEMPT", "%s bind: path too long for sun_path (%zu)", label, strlen(p));
    }
    close(s);
  }
  char* agent = hp(prefix, "host/agent.sock");
  if (strlen(agent) < sizeof(((struct sockaddr_un*)0)->sun_path)) try_unix_connect(label, agent, 0);

  exec_in_child(label, hp(prefix, "host/hostbin"));
}

static inline void escape_matrix(const char* label, const char* prefix) {
  escape_reads(label, prefix);
  escape_writes(label, prefix);
}

#endif
