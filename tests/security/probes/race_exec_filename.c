// Class 3 for execve: the filename buffer flips between an in-root program and the plain host
// path of the harness's hostbin (which prints a canary) while the step execs it.
#include "probe.h"

extern char** environ;
static char buf[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
static volatile int stop;

static void* flipper(void* arg) {
  (void)arg;
  while (!stop) {
    memcpy(buf, a, sizeof buf);
    memcpy(buf, b, sizeof buf);
  }
  return NULL;
}

int main(void) {
  p_start();
  mkdir("/tmp", 01777);
  char* host = p_strf("%s/host/hostbin", T());
  size_t n = strlen(host);
  // An in-root program of the same name length: /tmp/xxxx... (a script that exits 0).
  memset(a, 0, sizeof a);
  memcpy(a, "/tmp/", 5);
  for (size_t i = 5; i < n; ++i) a[i] = 'x';
  int fd = open(a, O_CREAT | O_WRONLY | O_TRUNC, 0755);
  if (fd >= 0) {
    ssize_t w = write(fd, "#!/bin/sh\nexit 0\n", 17);
    (void)w;
    close(fd);
  }
  snprintf(b, sizeof b, "%s", host);
  pid_t c = fork();
  if (c == 0) {
    char* argv[] = {a, NULL};
    execve(a, argv, environ);
    _exit(127);
  }
  int st = 0;
  waitpid(c, &st, 0);
  p_control(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec of the in-root twin", "status %d", st);
  long tries = 0;
  double end = now_s() + 2.5;
  while (now_s() < end) {
    ++tries;
    c = fork();
    if (c == 0) {
      pthread_t t;
      pthread_create(&t, NULL, flipper, NULL);
      for (int i = 0; i < 20; ++i) {
        char* argv[] = {(char*)"x", NULL};
        syscall(SYS_execve, buf, argv, environ);
        syscall(SYS_execveat, AT_FDCWD, buf, argv, environ, 0);
      }
      _exit(127);
    }
    waitpid(c, &st, 0);
  }
  p_attemptf(-1, "execve filename flip: %ld rounds", tries);
  p_end();
}
