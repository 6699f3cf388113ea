// A process of the same user as ocibuild that a RUN step must not be able to touch: it stands
// for the runner's other processes (an ssh-agent, the job's shell, another build). Started by
// the harness (tests/security/security_harness.cc), never by a probe.
//
//   victim MARKER FILE
// Reads one line from stdin, its secret, and keeps it in memory (a global and a heap copy);
// holds FILE open (the harness unlinks it afterwards, so only this fd reaches it); counts every
// catchable signal. Then answers each line "s" on stdin with
//   STATE <global secret> <heap secret> <signal counts> fd=<FILE still readable>
// and exits on EOF. Static, so that it runs in any container.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char g_secret[256] = "VICTIM-SECRET:";
static volatile sig_atomic_t g_signals[65];

static void on_signal(int sig) {
  if (sig > 0 && sig < 65) g_signals[sig]++;
}

static int read_line(char* buf, size_t cap) {
  size_t n = 0;
  while (n + 1 < cap) {
    char c;
    ssize_t r = read(0, &c, 1);
    if (r <= 0) return n > 0 ? (int)n : -1;
    if (c == '\n') break;
    buf[n++] = c;
  }
  buf[n] = 0;
  return (int)n;
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  for (int s = 1; s < 65; ++s) {
    if (s == SIGKILL || s == SIGSTOP) continue;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(s, &sa, NULL);
  }
  char line[200];
  if (read_line(line, sizeof line) < 0) return 3;
  strncat(g_secret, line, sizeof g_secret - strlen(g_secret) - 1);
  char* heap = strdup(g_secret);
  int fd = open(argv[2], O_RDONLY);
  printf("READY %d\n", (int)getpid());
  fflush(stdout);
  for (;;) {
    int n = read_line(line, sizeof line);
    if (n < 0) return 0;
    if (strcmp(line, "s") != 0) continue;
    char sigs[65 * 12] = "";
    for (int s = 1; s < 65; ++s)
      if (g_signals[s]) sprintf(sigs + strlen(sigs), "%d:%d,", s, (int)g_signals[s]);
    char content[128] = "";
    ssize_t r = fd >= 0 ? pread(fd, content, sizeof content - 1, 0) : -1;
    printf("STATE %s %s sigs=[%s] fd=%s\n", g_secret, heap, sigs, r > 0 ? "ok" : "lost");
    fflush(stdout);
  }
}
