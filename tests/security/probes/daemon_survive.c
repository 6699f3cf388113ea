// Survivors: processes of the step that try to outlive it. A double-forked setsid daemon that
// ignores every signal; a process group leader that stops itself; a thread group whose leader
// exited; a process re-executed under another name with an empty environment. All must be gone
// when ocibuild returns (the harness scans /proc for the nonce and for executables in its
// state directory).
#include "probe.h"

extern char** environ;

static void ignore_all(void) {
  for (int s = 1; s < 65; ++s) signal(s, SIG_IGN);
}

static void* sleeper_thread(void* arg) {
  (void)arg;
  sleep(30);
  return NULL;
}

int main(int argc, char** argv) {
  if (argc > 1 && !strcmp(argv[1], "sleep30")) {
    ignore_all();
    sleep(30);
    return 0;
  }
  p_start();
  // 1: double fork + setsid + ignore signals.
  pid_t c = fork();
  if (c == 0) {
    setsid();
    if (fork() == 0) {
      ignore_all();
      if (chdir("/") != 0) _exit(1);
      sleep(30);
      _exit(0);
    }
    _exit(0);
  }
  waitpid(c, NULL, 0);
  // 2: its own process group, stopped.
  c = fork();
  if (c == 0) {
    setpgid(0, 0);
    ignore_all();
    signal(SIGSTOP, SIG_DFL);
    raise(SIGSTOP);
    sleep(30);
    _exit(0);
  }
  // 3: the leader exits, a thread lives on.
  c = fork();
  if (c == 0) {
    pthread_t t;
    pthread_create(&t, NULL, sleeper_thread, NULL);
    syscall(SYS_exit, 0);
  }
  // 4: re-exec under another name with no environment.
  c = fork();
  if (c == 0) {
    setsid();
    char* args[] = {(char*)"kworker/0:1", (char*)"sleep30", NULL};
    char* env[] = {NULL};
    execve("/probe", args, env);
    _exit(127);
  }
  usleep(300000);
  ATT(0, "four survivors started");
  p_end();
}
