// Survivors: a process that keeps forking and letting its parent exit (its pid changes all the
// time), so that a killer that lists the step's processes once always misses the newest one.
// Bounded: 20 s or 20000 hops.
#include "probe.h"

int main(void) {
  p_start();
  pid_t c = fork();
  if (c == 0) {
    setsid();
    for (int s = 1; s < 65; ++s) signal(s, SIG_IGN);
    double end = now_s() + 20;
    long hops = 0;
    while (now_s() < end && hops < 20000) {
      pid_t n = fork();
      if (n > 0) _exit(0);
      if (n < 0) usleep(1000);
      if (++hops % 64 == 0) usleep(2000);
    }
    _exit(0);
  }
  waitpid(c, NULL, 0);
  usleep(200000);
  ATT(0, "pid hopper started");
  p_end();
}
