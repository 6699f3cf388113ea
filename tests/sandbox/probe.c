// Multi-call probe for the sandbox's per-syscall tests. Each subcommand issues one syscall
// through syscall(2), so that libc cannot substitute another, and prints "ok <detail>" or
// "err <errno name>". Built static so that it runs in any rootfs.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>
#include <unistd.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static int report(long rc) {
  if (rc < 0) {
    printf("err %s\n", strerrorname_np(errno));
    return 1;
  }
  printf("ok %ld\n", rc);
  return 0;
}

static int report_stat(long rc, const struct stat* st) {
  if (rc < 0) return report(rc);
  printf("ok %u:%u %o\n", st->st_uid, st->st_gid, st->st_mode);
  return 0;
}

static int dirfd_of(const char* dir) {
  int fd = open(dir, O_PATH | O_DIRECTORY);
  if (fd < 0) {
    printf("err opening dirfd %s: %s\n", dir, strerrorname_np(errno));
    exit(3);
  }
  return fd;
}

static int cat_fd(long fd) {
  if (fd < 0) return report(fd);
  char buf[256];
  ssize_t n = read((int)fd, buf, sizeof buf - 1);
  if (n < 0) return report(n);
  buf[n] = 0;
  printf("ok %s", buf);
  return 0;
}

static void* stat_loop(void* arg) {
  long* count = arg;
  struct stat st;
  for (int i = 0; i < 500; ++i) {
    if (syscall(SYS_stat, "/probe", &st) == 0 && st.st_uid == 0) ++*count;
    int fd = open("/etc/passwd", O_RDONLY);
    if (fd >= 0 && close(fd) == 0) ++*count;
  }
  return NULL;
}

static void* exec_from_thread(void* arg) {
  (void)arg;
  char* args[] = {"probe", "readlink", "/proc/self/exe", NULL};
  extern char** environ;
  execve("/probe", args, environ);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* cmd = argv[1];
  const char* a = argc > 2 ? argv[2] : "";
  const char* b = argc > 3 ? argv[3] : "";
  const char* c = argc > 4 ? argv[4] : "";
  struct stat st;
  if (!strcmp(cmd, "open")) return cat_fd(syscall(SYS_open, a, O_RDONLY));
  if (!strcmp(cmd, "openat")) return cat_fd(syscall(SYS_openat, dirfd_of(a), b, O_RDONLY));
  if (!strcmp(cmd, "openat-nofollow"))
    return report(syscall(SYS_openat, dirfd_of(a), b, O_RDONLY | O_NOFOLLOW));
  if (!strcmp(cmd, "openat2")) {
    struct open_how how = {.flags = O_RDONLY,
                           .resolve = !strcmp(c, "inroot") ? RESOLVE_IN_ROOT : 0};
    return cat_fd(syscall(SYS_openat2, dirfd_of(a), b, &how, sizeof how));
  }
  if (!strcmp(cmd, "creat")) {
    long fd = syscall(SYS_creat, a, strtol(b, 0, 8));
    if (fd < 0) return report(fd);
    close((int)fd);
    return report(0);
  }
  if (!strcmp(cmd, "stat")) return report_stat(syscall(SYS_stat, a, &st), &st);
  if (!strcmp(cmd, "lstat")) return report_stat(syscall(SYS_lstat, a, &st), &st);
  if (!strcmp(cmd, "fstat")) {
    int fd = open(a, O_RDONLY);
    if (fd < 0) return report(fd);
    return report_stat(syscall(SYS_fstat, fd, &st), &st);
  }
  if (!strcmp(cmd, "newfstatat"))
    return report_stat(syscall(SYS_newfstatat, dirfd_of(a), b, &st,
                               !strcmp(c, "nofollow") ? AT_SYMLINK_NOFOLLOW : 0),
                       &st);
  if (!strcmp(cmd, "statx")) {
    struct statx sx;
    long rc = syscall(SYS_statx, dirfd_of(a), b, !strcmp(c, "nofollow") ? AT_SYMLINK_NOFOLLOW : 0,
                      STATX_BASIC_STATS, &sx);
    if (rc < 0) return report(rc);
    printf("ok %u:%u %o %u,%u\n", sx.stx_uid, sx.stx_gid, sx.stx_mode, sx.stx_rdev_major,
           sx.stx_rdev_minor);
    return 0;
  }
  if (!strcmp(cmd, "access")) return report(syscall(SYS_access, a, F_OK));
  if (!strcmp(cmd, "faccessat")) return report(syscall(SYS_faccessat, dirfd_of(a), b, R_OK));
  if (!strcmp(cmd, "faccessat2"))
    return report(syscall(SYS_faccessat2, dirfd_of(a), b, R_OK,
                          !strcmp(c, "nofollow") ? AT_SYMLINK_NOFOLLOW : 0));
  if (!strcmp(cmd, "mkdirat")) return report(syscall(SYS_mkdirat, dirfd_of(a), b, 0755));
  if (!strcmp(cmd, "unlinkat")) return report(syscall(SYS_unlinkat, dirfd_of(a), b, 0));
  if (!strcmp(cmd, "rmdir")) return report(syscall(SYS_rmdir, a));
  if (!strcmp(cmd, "renameat2"))
    return report(syscall(SYS_renameat2, dirfd_of(a), b, AT_FDCWD, c, 0));
  if (!strcmp(cmd, "rename-exchange"))
    return report(syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE));
  if (!strcmp(cmd, "linkat")) return report(syscall(SYS_linkat, dirfd_of(a), b, AT_FDCWD, c, 0));
  if (!strcmp(cmd, "symlinkat")) return report(syscall(SYS_symlinkat, a, dirfd_of(b), c));
  if (!strcmp(cmd, "readlinkat")) {
    char buf[4096];
    long n = syscall(SYS_readlinkat, dirfd_of(a), b, buf, sizeof buf - 1);
    if (n < 0) return report(n);
    buf[n] = 0;
    printf("ok %s\n", buf);
    return 0;
  }
  if (!strcmp(cmd, "readlink")) {
    char buf[4096];
    long n = syscall(SYS_readlink, a, buf, sizeof buf - 1);
    if (n < 0) return report(n);
    buf[n] = 0;
    printf("ok %s\n", buf);
    return 0;
  }
  if (!strcmp(cmd, "fchmodat"))
    return report(syscall(SYS_fchmodat, dirfd_of(a), b, strtol(c, 0, 8)));
  if (!strcmp(cmd, "fchmodat2-nofollow"))
    return report(syscall(SYS_fchmodat2, dirfd_of(a), b, strtol(c, 0, 8), AT_SYMLINK_NOFOLLOW));
  if (!strcmp(cmd, "fchownat"))
    return report(syscall(SYS_fchownat, dirfd_of(a), b, atoi(c), atoi(c), AT_SYMLINK_NOFOLLOW));
  if (!strcmp(cmd, "fchown")) {
    int fd = open(a, O_RDONLY);
    if (fd < 0) return report(fd);
    return report(syscall(SYS_fchown, fd, atoi(b), atoi(b)));
  }
  if (!strcmp(cmd, "mknodat"))
    return report(syscall(SYS_mknodat, dirfd_of(a), b, S_IFBLK | 0660, makedev(8, 1)));
  if (!strcmp(cmd, "utimensat")) return report(syscall(SYS_utimensat, dirfd_of(a), b, NULL, 0));
  if (!strcmp(cmd, "truncate")) return report(syscall(SYS_truncate, a, 3));
  if (!strcmp(cmd, "chdir-getcwd")) {
    long rc = syscall(SYS_chdir, a);
    if (rc < 0) return report(rc);
    char buf[4096];
    rc = syscall(SYS_getcwd, buf, sizeof buf);
    if (rc < 0) return report(rc);
    printf("ok %s\n", buf);
    return 0;
  }
  if (!strcmp(cmd, "getcwd-small")) {
    char buf[4];
    if (chdir(a) != 0) return report(-1);
    return report(syscall(SYS_getcwd, buf, sizeof buf));
  }
  if (!strcmp(cmd, "setxattr")) return report(syscall(SYS_setxattr, a, b, c, strlen(c), 0));
  if (!strcmp(cmd, "lsetxattr")) return report(syscall(SYS_lsetxattr, a, b, c, strlen(c), 0));
  if (!strcmp(cmd, "getxattr")) {
    char buf[256];
    long n = syscall(SYS_getxattr, a, b, buf, sizeof buf - 1);
    if (n < 0) return report(n);
    buf[n] = 0;
    printf("ok %s\n", buf);
    return 0;
  }
  if (!strcmp(cmd, "listxattr")) {
    char buf[1024];
    long n = syscall(SYS_listxattr, a, buf, sizeof buf);
    if (n < 0) return report(n);
    printf("ok");
    for (long i = 0; i < n; i += (long)strlen(buf + i) + 1) printf(" %s", buf + i);
    printf("\n");
    return 0;
  }
  if (!strcmp(cmd, "removexattr")) return report(syscall(SYS_removexattr, a, b));
  if (!strcmp(cmd, "inotify")) {
    int fd = inotify_init1(0);
    return report(syscall(SYS_inotify_add_watch, fd, a, IN_ALL_EVENTS) < 0 ? -1 : 0);
  }
  if (!strcmp(cmd, "unix-bind-connect")) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strncpy(sa.sun_path, a, sizeof sa.sun_path - 1);
    if (syscall(SYS_bind, s, &sa, sizeof sa) < 0) return report(-1);
    listen(s, 1);
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    return report(syscall(SYS_connect, c2, &sa, sizeof sa));
  }
  if (!strcmp(cmd, "execveat")) {
    char* args[] = {"probe-child", "readlink", "/proc/self/exe", NULL};
    extern char** environ;
    return report(syscall(SYS_execveat, dirfd_of(a), b, args, environ, 0));
  }
  if (!strcmp(cmd, "io_uring")) return report(syscall(425, 8, calloc(1, 256)));
  if (!strcmp(cmd, "mount")) return report(syscall(SYS_mount, "none", "/mnt", "tmpfs", 0, NULL));
  if (!strcmp(cmd, "unknown")) return report(syscall(999));
  if (!strcmp(cmd, "ids")) {
    printf("ok %ld %ld %ld %ld\n", syscall(SYS_getuid), syscall(SYS_geteuid), syscall(SYS_getgid),
           syscall(SYS_getegid));
    return 0;
  }
  if (!strcmp(cmd, "setuid-drop")) {
    if (syscall(SYS_setresuid, 1000, 1000, 1000) != 0) return report(-1);
    long again = syscall(SYS_setuid, 0);
    printf("ok %ld %ld %s\n", syscall(SYS_geteuid), again, again < 0 ? strerrorname_np(errno) : "");
    return 0;
  }
  if (!strcmp(cmd, "fsync")) {
    int fd = open(a, O_RDONLY);
    return report(syscall(SYS_fsync, fd));
  }
  if (!strcmp(cmd, "long-path")) {
    // Builds a deep tree with relative mkdirat/openat through a dirfd, then reads the deepest
    // file by its full absolute path (longer than one path component limit, < PATH_MAX).
    int depth = atoi(a);
    char path[8192] = "/tmp/deep";
    mkdir(path, 0755);
    for (int i = 0; i < depth; ++i) {
      strcat(path, "/0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu");
      if (syscall(SYS_mkdir, path, 0755) != 0) return report(-1);
    }
    strcat(path, "/f");
    long fd = syscall(SYS_open, path, O_CREAT | O_WRONLY, 0644);
    if (fd < 0) return report(fd);
    (void)!write((int)fd, "deep\n", 5);
    close((int)fd);
    printf("len %zu\n", strlen(path));
    return cat_fd(syscall(SYS_open, path, O_RDONLY));
  }
  if (!strcmp(cmd, "nondumpable")) {
    if (prctl(PR_SET_DUMPABLE, 0) != 0) return report(-1);
    int fd = open("passwd", O_RDONLY);  // relative: needs the cwd of the process
    if (fd < 0) return report(fd);
    char buf[11] = {0};
    if (read(fd, buf, 10) != 10) return report(-1);
    printf("ok %d %s\n", prctl(PR_GET_DUMPABLE), buf);
    return 0;
  }
  if (!strcmp(cmd, "threads")) {
    pthread_t th[8];
    long counts[8] = {0};
    for (int i = 0; i < 8; ++i) pthread_create(&th[i], NULL, stat_loop, &counts[i]);
    long total = 0;
    for (int i = 0; i < 8; ++i) {
      pthread_join(th[i], NULL);
      total += counts[i];
    }
    printf("threads ok %ld\n", total);
    fflush(stdout);
    pthread_t ex;
    pthread_create(&ex, NULL, exec_from_thread, NULL);
    pthread_join(ex, NULL);
    return 1;  // not reached: the exec replaces the whole process
  }
  printf("unknown %s\n", cmd);
  return 2;
}
