// Class 4: signals to processes outside the step: kill/tkill/tgkill/rt_sigqueueinfo/
// rt_tgsigqueueinfo/pidfd_send_signal to the victims (one in its own session, one in ocibuild's
// process group), kill of their process groups, kill(0), kill(-1). The victims count every
// signal; the harness checks the counts. SIGURG (ignored by default) is used where the signal
// could also reach unrelated processes of the user. Controls: signalling the step's own children.
#include "probe.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

static pid_t sleeper(void) {
  pid_t c = fork();
  if (c == 0) {
    for (;;) pause();
  }
  return c;
}

int main(void) {
  p_start();
  pid_t c = sleeper();
  int st = 0;
  int ok = kill(c, SIGTERM) == 0 && waitpid(c, &st, 0) == c && WIFSIGNALED(st);
  p_control(ok, "kill(own child, SIGTERM)", "%s", p_err(errno));
  c = sleeper();
  int pfd = (int)syscall(SYS_pidfd_open, c, 0);
  ok = pfd >= 0 && syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0) == 0 &&
       waitpid(c, &st, 0) == c;
  p_control(ok, "pidfd_send_signal(own child)", "%s", p_err(errno));
  c = sleeper();
  ok = syscall(SYS_tgkill, c, c, SIGKILL) == 0 && waitpid(c, &st, 0) == c;
  p_control(ok, "tgkill(own child)", "%s", p_err(errno));

  pid_t victims[2] = {(pid_t)hint_long("VICTIM"), (pid_t)hint_long("VICTIM2")};
  for (int i = 0; i < 2; ++i) {
    pid_t v = victims[i];
    if (v <= 0) continue;
    ATT(kill(v, 0), "kill(%d, 0)", (int)v);
    ATT(kill(v, SIGUSR1), "kill(%d, SIGUSR1)", (int)v);
    ATT(syscall(SYS_tkill, v, SIGUSR2), "tkill(%d, SIGUSR2)", (int)v);
    ATT(syscall(SYS_tgkill, v, v, SIGHUP), "tgkill(%d, SIGHUP)", (int)v);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    si.si_code = SI_QUEUE;
    si.si_pid = getpid();
    ATT(syscall(SYS_rt_sigqueueinfo, v, SIGRTMIN + 3, &si), "rt_sigqueueinfo(%d)", (int)v);
    ATT(syscall(SYS_rt_tgsigqueueinfo, v, v, SIGRTMIN + 4, &si), "rt_tgsigqueueinfo(%d)", (int)v);
    if (ATT(kill(v, SIGSTOP), "kill(%d, SIGSTOP)", (int)v) == 0) {
      usleep(100000);
      ATT(kill(v, SIGCONT), "kill(%d, SIGCONT)", (int)v);
    }
    int fd = (int)syscall(SYS_pidfd_open, v, 0);
    ATT(fd, "pidfd_open(%d)", (int)v);
    if (fd >= 0)
      ATT(syscall(SYS_pidfd_send_signal, fd, SIGUSR1, NULL, 0), "pidfd_send_signal(%d)", (int)v);
    // A /proc/<pid> directory fd is a pidfd too.
    int pd = open(p_strf("/proc/%d", (int)v), O_DIRECTORY | O_RDONLY);
    ATT(pd, "open(/proc/%d)", (int)v);
    if (pd >= 0)
      ATT(syscall(SYS_pidfd_send_signal, pd, SIGUSR2, NULL, 0), "pidfd_send_signal(/proc/%d fd)",
          (int)v);
  }
  pid_t a[16];
  int n = ancestors(a, 16);
  for (int i = 0; i < n; ++i) {
    ATT(kill(a[i], SIGURG), "kill(ancestor %d, SIGURG)", (int)a[i]);
    pid_t pg = getpgid(a[i]);
    if (pg > 1) ATT(kill(-pg, SIGURG), "kill(-pgrp %d of ancestor, SIGURG)", (int)pg);
  }
  ATT(kill(0, SIGURG), "kill(0, SIGURG)");
  // Last: the victims' process groups. Victim 2 leads ocibuild's group, so where this works it
  // also kills ocibuild (SIGUSR1's default action) and the probe's END line never comes.
  for (int i = 0; i < 2; ++i) {
    pid_t v = victims[i];
    if (v <= 0) continue;
    pid_t pg = getpgid(v);
    ATT(pg, "getpgid(%d)", (int)v);
    if (pg > 1) ATT(kill(-pg, SIGUSR1), "kill(-%d, SIGUSR1)", (int)pg);
  }
  if (!host_root())
    ATT(kill(-1, SIGURG), "kill(-1, SIGURG)");
  else
    p_line("ATTEMPT",
           "kill(-1) not tried: the harness runs as root (every process of the machine)");
  p_end();
}
