// Class 5: a step's own filter returning SECCOMP_RET_TRACE | data for path calls. When several
// filters say TRACE the tracer sees one data value, maybe the step's: a sandbox that trusts the
// data (e.g. as "this call needs no translation") lets the call through. Also RET_ERRNO/RET_TRAP/
// RET_LOG/KILL filters on calls the sandbox needs to see, after which the step must still be
// confined. Each variant in its own child.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "probe.h"

static int install(unsigned ret, int nr) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, ret),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof *f, f};
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

int main(void) {
  p_start();
  char* secret = p_strf("%s/host/secret.txt", T());
  unsigned datas[] = {0,  1,  2,  3,  4,  5,   6,   7,   8,      9,      10,     15,
                      16, 31, 32, 63, 64, 100, 255, 256, 0x7fff, 0x8000, 0xfffe, 0xffff};
  for (size_t i = 0; i < sizeof datas / sizeof *datas; ++i) {
    pid_t c = fork();
    if (c == 0) {
      int rc = install(SECCOMP_RET_TRACE | datas[i], SYS_openat);
      ATT(rc, "seccomp(RET_TRACE|%#x on openat)", datas[i]);
      int fd = (int)syscall(SYS_openat, AT_FDCWD, secret, O_RDONLY);
      ATT(fd, "data %#x openat(host secret)", datas[i]);
      if (fd >= 0) loot_fd("RET_TRACE data", fd);
      fd = (int)syscall(SYS_openat, AT_FDCWD,
                        p_strf("%s/host/ocib-esc-%s-trace-%u", T(), nonce(), datas[i]),
                        O_CREAT | O_WRONLY, 0644);
      // And an in-root file must still be the in-root one.
      char b[8];
      fd = (int)syscall(SYS_openat, AT_FDCWD, "/bin/busybox", O_RDONLY);
      if (fd >= 0 && read(fd, b, 4) == 4 && memcmp(b, "\177ELF", 4) != 0)
        p_escape("data %#x: /bin/busybox is not the guest's", datas[i]);
      _exit(0);
    }
    waitpid(c, NULL, 0);
  }
  struct {
    unsigned ret;
    int nr;
    const char* what;
  } others[] = {
      {SECCOMP_RET_ERRNO | 0, SYS_close, "ERRNO(0) on close"},
      {SECCOMP_RET_ERRNO | 0, SYS_chdir, "ERRNO(0) on chdir"},
      {SECCOMP_RET_LOG, SYS_openat, "LOG on openat"},
      {SECCOMP_RET_ERRNO | EPERM, SYS_getppid, "ERRNO on getppid"},
      {SECCOMP_RET_TRAP, SYS_getppid, "TRAP on getppid"},
  };
  for (size_t i = 0; i < sizeof others / sizeof *others; ++i) {
    pid_t c = fork();
    if (c == 0) {
      ATT(install(others[i].ret, others[i].nr), "seccomp(%s)", others[i].what);
      try_read(others[i].what, secret);
      _exit(0);
    }
    waitpid(c, NULL, 0);
  }
  p_end();
}
