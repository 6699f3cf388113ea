// Class 4: pidfd_getfd steals another process's open files (the victim holds an unlinked canary
// file; ocibuild and the harness hold theirs); pidfd_open of processes outside the step.
#include "probe.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static void steal_all(const char* label, int pidfd) {
  for (int n = 0; n < 64; ++n) {
    int fd = (int)syscall(SYS_pidfd_getfd, pidfd, n, 0);
    if (n < 12 || fd >= 0) ATT(fd, "%s pidfd_getfd(%d)", label, n);
    if (fd < 0) continue;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
      loot_fd(label, fd);
      p_escape("%s: stole fd %d (a regular file)", label, n);
    } else {
      p_escape("%s: stole fd %d", label, n);
    }
    close(fd);
  }
}

int main(void) {
  p_start();
  int pipefd[2];
  if (pipe(pipefd) != 0) return 1;
  pid_t c = fork();
  if (c == 0) {
    close(pipefd[1]);
    char b;
    ssize_t r = read(pipefd[0], &b, 1);
    (void)r;
    _exit(0);
  }
  close(pipefd[0]);
  int cfd = (int)syscall(SYS_pidfd_open, c, 0);
  p_control(cfd >= 0, "pidfd_open(own child)", "%s", p_err(errno));
  ATT(cfd >= 0 ? syscall(SYS_pidfd_getfd, cfd, 0, 0) : -1, "pidfd_getfd(own child, 0)");
  ssize_t w = write(pipefd[1], "x", 1);
  (void)w;
  waitpid(c, NULL, 0);

  pid_t t[64];
  int n = read_targets(t, 64);
  for (int i = 0; i < n; ++i) {
    int pfd = (int)syscall(SYS_pidfd_open, t[i], 0);
    ATT(pfd, "pidfd_open(%d)", (int)t[i]);
    if (pfd >= 0) {
      steal_all(p_strf("pid %d", (int)t[i]), pfd);
      close(pfd);
    }
    int pd = open(p_strf("/proc/%d", (int)t[i]), O_DIRECTORY | O_RDONLY);
    if (pd >= 0) {
      steal_all(p_strf("/proc/%d fd", (int)t[i]), pd);
      close(pd);
    }
  }
  p_end();
}
