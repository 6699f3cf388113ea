// Class 4/6: the step goes after its own supervisor and ocibuild (found by walking the parent
// chain): SIGSTOP/SIGCONT, then SIGKILL by kill and by pidfd. A sandbox that lets this through
// loses the build (the harness requires the build to finish and the probe's END line).
#include "probe.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

int main(void) {
  p_start();
  pid_t a[16];
  int n = ancestors(a, 16);
  p_line("ATTEMPT", "%d ancestors found", n);
  for (int i = 0; i < n && i < 2; ++i) {
    if (ATT(kill(a[i], SIGSTOP), "kill(ancestor %d, SIGSTOP)", (int)a[i]) == 0) {
      usleep(300000);
      ATT(kill(a[i], SIGCONT), "kill(ancestor %d, SIGCONT)", (int)a[i]);
    }
    ATT(kill(a[i], SIGTERM), "kill(ancestor %d, SIGTERM)", (int)a[i]);
  }
  usleep(200000);
  for (int i = 0; i < n && i < 2; ++i) {
    int pfd = (int)syscall(SYS_pidfd_open, a[i], 0);
    ATT(pfd, "pidfd_open(ancestor %d)", (int)a[i]);
    if (pfd >= 0)
      ATT(syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0), "pidfd_send_signal(%d, SIGKILL)",
          (int)a[i]);
    ATT(kill(a[i], SIGKILL), "kill(ancestor %d, SIGKILL)", (int)a[i]);
  }
  p_end();
}
