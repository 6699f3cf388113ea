// Class 6, the vfork form: clone(CLONE_VM|CLONE_VFORK|CLONE_UNTRACED) on a stack of our own; the
// child execs the host's hostbin (prints a canary), then an in-root program, else attacks.
#include "untraced.h"

extern char** environ;
static char* hostbin;
static char stack[1 << 16] __attribute__((aligned(16)));

static int child(void* arg) {
  (void)arg;
  char* argv[] = {hostbin, NULL};
  syscall(SYS_execve, hostbin, argv, environ);
  char* argv2[] = {(char*)"/bin/sh", (char*)"-c",
                   (char*)"echo OCIB-ATTEMPT vfork-untraced shell ran", NULL};
  syscall(SYS_execve, "/bin/sh", argv2, environ);
  untraced_attack("vfork(CLONE_UNTRACED) child", 0);
  syscall(SYS_exit, 0);
  return 0;
}

int main(void) {
  p_start();
  untraced_prepare("vfork-untraced");
  hostbin = p_strf("%s/host/hostbin", T());
  int c =
      clone(child, stack + sizeof stack, CLONE_VM | CLONE_VFORK | CLONE_UNTRACED | SIGCHLD, NULL);
  ATT(c, "clone(CLONE_VM|CLONE_VFORK|CLONE_UNTRACED)");
  if (c > 0) waitpid(c, NULL, 0);
  pid_t v = vfork();
  if (v == 0) {
    char* argv[] = {(char*)"/bin/true", NULL};
    execve("/bin/true", argv, environ);
    _exit(127);
  }
  int st = 0;
  waitpid(v, &st, 0);
  p_control(v > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "plain vfork+exec", "status %d", st);
  p_end();
}
