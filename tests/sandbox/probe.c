// Multi-call probe for the sandbox's per-syscall tests. Each subcommand issues one syscall
// through syscall(2), so that libc cannot substitute another, and prints "ok <detail>" or
// "err <errno name>". Built static so that it runs in any rootfs.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/inotify.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
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

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) {
  (void)sig;
  ++alarms;
}

// SIGALRM with a handler installed without SA_RESTART: an interrupted call that the kernel would
// restart with SA_RESTART fails with EINTR instead.
static void alarm_without_restart(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
}

static void count_failure(long rc, long* eintr, long* other) {
  if (rc >= 0) return;
  if (errno == EINTR)
    ++*eintr;
  else
    ++*other;
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
  if (!strcmp(cmd, "readlink-storm")) { /* a processes, b readlinks of c each */
    int n = atoi(a), m = atoi(b), failed = 0;
    for (int i = 0; i < n; ++i) {
      if (fork() == 0) {
        char first[256], buf[256];
        long len = syscall(SYS_readlink, c, first, sizeof first);
        for (int k = 1; k < m; ++k)
          if (syscall(SYS_readlink, c, buf, sizeof buf) != len || memcmp(buf, first, len)) _exit(1);
        _exit(len > 0 ? 0 : 1);
      }
    }
    for (int i = 0; i < n; ++i) {
      int ws = 0;
      if (wait(&ws) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0) failed = 1;
    }
    printf(failed ? "failed\n" : "ok\n");
    return failed;
  }
  if (!strcmp(cmd, "open")) return cat_fd(syscall(SYS_open, a, O_RDONLY));
  if (!strcmp(cmd, "openat")) return cat_fd(syscall(SYS_openat, dirfd_of(a), b, O_RDONLY));
  if (!strcmp(cmd, "openat-nofollow"))
    return report(syscall(SYS_openat, dirfd_of(a), b, O_RDONLY | O_NOFOLLOW));
  if (!strcmp(cmd, "openat2")) {
    struct open_how how = {.flags = O_RDONLY,
                           .resolve = !strcmp(c, "inroot") ? RESOLVE_IN_ROOT : 0};
    return cat_fd(syscall(SYS_openat2, dirfd_of(a), b, &how, sizeof how));
  }
  if (!strcmp(cmd, "open-flags")) {
    // b: "r", "w", "rw", optionally followed by "t" (O_TRUNC) or "c" (O_CREAT).
    int flags = !strncmp(b, "rw", 2) ? O_RDWR : b[0] == 'w' ? O_WRONLY : O_RDONLY;
    if (strchr(b, 't')) flags |= O_TRUNC;
    if (strchr(b, 'c')) flags |= O_CREAT;
    long fd = syscall(SYS_openat, AT_FDCWD, a, flags, 0644);
    if (fd < 0) return report(fd);
    close((int)fd);
    return report(0);
  }
  if (!strcmp(cmd, "access-mode")) {
    // b: letters of r/w/x (or "f"); c: "eaccess" for faccessat2(AT_EACCESS).
    int mode =
        (strchr(b, 'r') ? R_OK : 0) | (strchr(b, 'w') ? W_OK : 0) | (strchr(b, 'x') ? X_OK : 0);
    if (!strcmp(c, "eaccess"))
      return report(syscall(SYS_faccessat2, AT_FDCWD, a, mode, AT_EACCESS));
    return report(syscall(SYS_faccessat, AT_FDCWD, a, mode));
  }
  if (!strcmp(cmd, "utimensat-explicit")) {
    struct timespec ts[2] = {{1000000, 0}, {1000000, 0}};
    return report(syscall(SYS_utimensat, dirfd_of(a), b, ts, 0));
  }
  if (!strcmp(cmd, "exec")) {
    char* args[] = {(char*)a, "ids", NULL};
    extern char** environ;
    return report(syscall(SYS_execve, a, args, environ));
  }
  if (!strcmp(cmd, "chdir")) return report(syscall(SYS_chdir, a));
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
  if (!strcmp(cmd, "nlinks")) {
    // The link count as each call of the stat family reports it.
    struct stat l, f, n;
    struct statx sx;
    long rc = syscall(SYS_stat, a, &st);
    if (rc == 0) rc = syscall(SYS_lstat, a, &l);
    int fd = rc == 0 ? open(a, O_RDONLY) : -1;
    if (rc == 0) rc = fd < 0 ? fd : syscall(SYS_fstat, fd, &f);
    if (rc == 0) rc = syscall(SYS_newfstatat, AT_FDCWD, a, &n, 0);
    if (rc == 0) rc = syscall(SYS_statx, AT_FDCWD, a, 0, STATX_NLINK, &sx);
    if (rc < 0) return report(rc);
    printf("ok %lu %lu %lu %lu %u\n", (unsigned long)st.st_nlink, (unsigned long)l.st_nlink,
           (unsigned long)f.st_nlink, (unsigned long)n.st_nlink, sx.stx_nlink);
    return 0;
  }
  if (!strcmp(cmd, "lnlinks")) {
    // The same for the name itself (a symlink): lstat, newfstatat and statx without following.
    struct stat n;
    struct statx sx;
    long rc = syscall(SYS_lstat, a, &st);
    if (rc == 0) rc = syscall(SYS_newfstatat, AT_FDCWD, a, &n, AT_SYMLINK_NOFOLLOW);
    if (rc == 0) rc = syscall(SYS_statx, AT_FDCWD, a, AT_SYMLINK_NOFOLLOW, STATX_NLINK, &sx);
    if (rc < 0) return report(rc);
    printf("ok %lu %lu %u\n", (unsigned long)st.st_nlink, (unsigned long)n.st_nlink, sx.stx_nlink);
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
  if (!strcmp(cmd, "setflags")) {
    // chattr +d: the attribute flags through a read-only descriptor.
    int fd = open(a, O_RDONLY);
    if (fd < 0) return report(-errno);
    long flags = 0;
    long rc = syscall(SYS_ioctl, fd, FS_IOC_GETFLAGS, &flags);
    if (rc == 0) {
      flags |= FS_NODUMP_FL;
      rc = syscall(SYS_ioctl, fd, FS_IOC_SETFLAGS, &flags);
    }
    return report(rc);
  }
  if (!strcmp(cmd, "symlinkat")) return report(syscall(SYS_symlinkat, a, dirfd_of(b), c));
  if (!strcmp(cmd, "readlinkat")) {
    char buf[4096];
    long n = syscall(SYS_readlinkat, dirfd_of(a), b, buf, sizeof buf - 1);
    if (n < 0) return report(n);
    buf[n] = 0;
    printf("ok %s\n", buf);
    return 0;
  }
  if (!strcmp(cmd, "readlink-n")) { /* a buffer of b bytes */
    char buf[4096];
    long n = syscall(SYS_readlink, a, buf, atol(b));
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
  if (!strcmp(cmd, "dtypes")) {
    // getdents64 and the old getdents on directory a: "name=d_type" for every entry but . and ..
    for (int pass = 0; pass < 2; ++pass) {
      int fd = open(a, O_RDONLY | O_DIRECTORY);
      if (fd < 0) return report(fd);
      char buf[8192];
      long n;
      printf(pass ? "getdents:" : "getdents64:");
      while ((n = syscall(pass ? SYS_getdents : SYS_getdents64, fd, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
          unsigned short reclen;
          const char* name;
          unsigned char type;
          if (pass == 0) {
            struct dirent64* d = (struct dirent64*)(buf + off);
            reclen = d->d_reclen;
            name = d->d_name;
            type = d->d_type;
          } else {
            reclen = *(unsigned short*)(buf + off + 16);
            name = buf + off + 18;
            type = (unsigned char)buf[off + reclen - 1];
          }
          if (strcmp(name, ".") && strcmp(name, "..")) printf(" %s=%u", name, type);
          off += reclen;
        }
      }
      printf("\n");
      close(fd);
      if (n < 0) return report(n);
    }
    return 0;
  }
  if (!strcmp(cmd, "unix-names")) {
    // AF_UNIX addresses under directory a: sendmsg/recvmsg and sendto/recvfrom between two
    // bound datagram sockets, getsockname, and getpeername of a connected stream socket.
    char srv[108], cli[108], st[108];
    snprintf(srv, sizeof srv, "%s/srv", a);
    snprintf(cli, sizeof cli, "%s/cli", a);
    snprintf(st, sizeof st, "%s/st", a);
    struct sockaddr_un s_addr = {.sun_family = AF_UNIX}, c_addr = {.sun_family = AF_UNIX},
                       t_addr = {.sun_family = AF_UNIX};
    strcpy(s_addr.sun_path, srv);
    strcpy(c_addr.sun_path, cli);
    strcpy(t_addr.sun_path, st);
    int s = socket(AF_UNIX, SOCK_DGRAM, 0), c2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (bind(s, (struct sockaddr*)&s_addr, sizeof s_addr) ||
        bind(c2, (struct sockaddr*)&c_addr, sizeof c_addr))
      return report(-1);
    struct iovec iov = {.iov_base = "x", .iov_len = 1};
    struct msghdr m = {
        .msg_name = &s_addr, .msg_namelen = sizeof s_addr, .msg_iov = &iov, .msg_iovlen = 1};
    if (syscall(SYS_sendmsg, c2, &m, 0) < 0) return report(-1);
    struct sockaddr_un from;
    char byte;
    struct iovec riov = {.iov_base = &byte, .iov_len = 1};
    struct msghdr rm = {
        .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &riov, .msg_iovlen = 1};
    if (syscall(SYS_recvmsg, s, &rm, 0) < 0) return report(-1);
    printf("ok recvmsg=%s(%u)", from.sun_path, rm.msg_namelen);
    if (syscall(SYS_sendto, c2, "y", 1, 0, &s_addr, sizeof s_addr) < 0) return report(-1);
    socklen_t len = sizeof from;
    memset(&from, 0, sizeof from);
    if (syscall(SYS_recvfrom, s, &byte, 1, 0, &from, &len) < 0) return report(-1);
    printf(" recvfrom=%s(%u)", from.sun_path, len);
    len = sizeof from;
    if (syscall(SYS_getsockname, s, &from, &len) < 0) return report(-1);
    printf(" getsockname=%s", from.sun_path);
    int l = socket(AF_UNIX, SOCK_STREAM, 0), k = socket(AF_UNIX, SOCK_STREAM, 0);
    if (bind(l, (struct sockaddr*)&t_addr, sizeof t_addr) || listen(l, 1) ||
        connect(k, (struct sockaddr*)&t_addr, sizeof t_addr))
      return report(-1);
    len = sizeof from;
    if (syscall(SYS_getpeername, k, &from, &len) < 0) return report(-1);
    printf(" getpeername=%s\n", from.sun_path);
    return 0;
  }
  if (!strcmp(cmd, "execfn")) {
    // What a program learns about its own name: AT_EXECFN and /proc/self/exe.
    char buf[4096];
    long n = syscall(SYS_readlink, "/proc/self/exe", buf, sizeof buf - 1);
    if (n < 0) return report(n);
    buf[n] = 0;
    printf("ok %s %s\n", (const char*)getauxval(AT_EXECFN), buf);
    return 0;
  }
  if (!strcmp(cmd, "execveat-execfn") || !strcmp(cmd, "fexecve-execfn")) {
    char* args[] = {"probe-child", "execfn", NULL};
    extern char** environ;
    if (cmd[0] == 'f') {
      int fd = open(a, O_RDONLY | O_CLOEXEC);
      if (fd < 0) return report(fd);
      return report(syscall(SYS_execveat, fd, "", args, environ, AT_EMPTY_PATH));
    }
    return report(syscall(SYS_execveat, dirfd_of(a), b, args, environ, 0));
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
  if (!strcmp(cmd, "signal-storm")) {
    // Calls the supervisor answers (or lets the kernel run), under a rain of SIGALRM: on a
    // kernel of its own none of them can fail with EINTR, whatever the handler's flags.
    pid_t child = fork();
    if (child == 0) {
      pause();
      _exit(0);
    }
    alarm_without_restart();
    struct itimerval every = {{0, 150}, {0, 150}};
    setitimer(ITIMER_REAL, &every, NULL);
    long eintr = 0, other = 0;
    for (int i = 0, n = atoi(a); i < n; ++i) {
      count_failure(syscall(SYS_newfstatat, AT_FDCWD, "/etc/passwd", &st, 0), &eintr, &other);
      long fd = syscall(SYS_openat, AT_FDCWD, "/etc/passwd", O_RDONLY);
      count_failure(fd, &eintr, &other);
      if (fd >= 0) close((int)fd);
      count_failure(syscall(SYS_kill, child, 0), &eintr, &other);     // performed for it
      count_failure(syscall(SYS_kill, getpid(), 0), &eintr, &other);  // continued
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    printf("eintr %ld other %ld alarms %s\n", eintr, other, alarms >= 20 ? "many" : "few");
    return 0;
  }
  if (!strcmp(cmd, "interrupted-waits")) {
    // Calls that really wait still end in EINTR when the handler has no SA_RESTART: a read of
    // an empty pipe (the kernel's own) and a msgrcv on an empty queue (let through by the
    // supervisor).
    // A restarted wait would never end: a guard ends the probe after a while instead.
    pid_t parent = getpid(), guard = fork();
    if (guard == 0) {
      sleep(10);
      kill(parent, SIGKILL);
      _exit(0);
    }
    alarm_without_restart();
    int p[2];
    if (pipe(p) != 0) return report(-1);
    char byte;
    alarm(1);
    long r = read(p[0], &byte, 1);
    printf("read %s\n", r < 0 ? strerrorname_np(errno) : "returned");
    int q = msgget(IPC_PRIVATE, 0600);
    if (q < 0) return report(-1);
    struct {
      long type;
      char text[8];
    } msg;
    alarm(1);
    r = msgrcv(q, &msg, sizeof msg.text, 0, 0);
    printf("msgrcv %s\n", r < 0 ? strerrorname_np(errno) : "returned");
    msgctl(q, IPC_RMID, NULL);
    kill(guard, SIGKILL);
    waitpid(guard, NULL, 0);
    return 0;
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
  if (!strcmp(cmd, "handover-lockstep")) {
    /* a seconds of rounds by b pairs of processes: in each round both of a pair make a call on
     * their own descriptors (each one a hand-over to the supervisor through the tracer), then
     * wait for each other over pipes, which the supervisor never sees. The answers to the two
     * calls reach the tracer at about the same time; one it fails to act on leaves that process
     * stopped, and its partner waiting for it: the pair stalls (reported after 10 s). */
    int secs = atoi(a), pairs = b ? atoi(b) : 1;
    if (pairs < 1 || pairs > 16) pairs = 1;
    pid_t kids[16];
    for (int k = 0; k < pairs; ++k) {
      kids[k] = fork();
      if (kids[k] != 0) continue;
      int ab[2], ba[2];
      if (pipe(ab) != 0 || pipe(ba) != 0) _exit(3);
      pid_t partner = fork();
      int in = partner == 0 ? ab[0] : ba[0], out = partner == 0 ? ba[1] : ab[1];
      int s = socket(AF_UNIX, SOCK_DGRAM, 0);
      struct sockaddr_un sa = {.sun_family = AF_UNIX};
      strcpy(sa.sun_path, "/nonexistent/socket");
      struct timespec start, now;
      clock_gettime(CLOCK_MONOTONIC, &start);
      long rounds = 0;
      for (;;) {
        char go = 1;
        if (partner != 0) {
          clock_gettime(CLOCK_MONOTONIC, &now);
          if (now.tv_sec - start.tv_sec >= secs) go = 0;
        }
        if (go && (syscall(SYS_sendto, s, "x", 1, MSG_DONTWAIT, &sa, sizeof sa) != -1 ||
                   errno != ENOENT)) {
          printf("wrong answer\n");
          go = 0;
        }
        if (write(out, &go, 1) != 1) _exit(4);
        struct pollfd pfd = {.fd = in, .events = POLLIN};
        if (poll(&pfd, 1, 10000) != 1) {
          printf("stalled after %ld rounds\n", rounds);
          fflush(stdout);
          if (partner != 0) kill(partner, SIGKILL);
          _exit(1);
        }
        char theirs = 0;
        if (read(in, &theirs, 1) != 1 || !go || !theirs) break;
        ++rounds;
      }
      if (partner == 0) _exit(0);
      int st = 0;
      waitpid(partner, &st, 0);
      printf("pair %ld rounds\n", rounds);
      fflush(stdout);
      _exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
    }
    int failed = 0;
    for (int k = 0; k < pairs; ++k) {
      int st = 0;
      if (waitpid(kids[k], &st, 0) != kids[k] || !WIFEXITED(st) || WEXITSTATUS(st) != 0) ++failed;
    }
    printf("%s\n", failed ? "failed" : "ok");
    return failed != 0;
  }
  if (!strcmp(cmd, "killed-while-forking")) {
    /* a rounds: a process forking in a loop is killed at some moment; every child it made must
     * run to its end (each holds the pipe open until then), also one made just before the kill. */
    int rounds = atoi(a), stuck = 0;
    for (int r = 0; r < rounds && !stuck; ++r) {
      int p[2];
      if (pipe(p) != 0) return report(-1);
      pid_t forker = fork();
      if (forker == 0) {
        close(p[0]);
        for (;;) {
          pid_t c = fork();
          if (c == 0) _exit(0);
          if (c > 0) waitpid(c, NULL, 0);
        }
      }
      close(p[1]);
      struct timespec d = {0, (r % 40) * 50000L};
      nanosleep(&d, NULL);
      kill(forker, SIGKILL);
      waitpid(forker, NULL, 0);
      struct pollfd pfd = {.fd = p[0], .events = POLLIN};
      char buf;
      if (poll(&pfd, 1, 5000) != 1 || read(p[0], &buf, 1) != 0) {
        printf("a child stayed stopped (round %d)\n", r);
        stuck = 1;
      }
      close(p[0]);
    }
    if (!stuck) printf("ok\n");
    return stuck;
  }
  printf("unknown %s\n", cmd);
  return 2;
}
