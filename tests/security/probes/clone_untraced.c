// Class 6: clone(CLONE_UNTRACED) makes a child the tracer never sees. It must be refused (or the
// child still confined): the child attacks and then tries to outlive the build.
#include "untraced.h"

int main(void) {
  p_start();
  untraced_prepare("untraced");
  long c = syscall(SYS_clone, CLONE_UNTRACED | SIGCHLD, 0, 0, 0, 0);
  if (c == 0) untraced_attack("clone(CLONE_UNTRACED) child", 1);
  ATT(c, "clone(CLONE_UNTRACED|SIGCHLD)");
  // The thread form: CLONE_THREAD|CLONE_UNTRACED (pthread-like, own stack).
  c = syscall(SYS_clone, CLONE_UNTRACED | CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
  if (c == 0) untraced_attack("clone(CLONE_UNTRACED|CLONE_PARENT) child", 1);
  ATT(c, "clone(CLONE_UNTRACED|CLONE_PARENT|SIGCHLD)");
  pid_t f = fork();
  p_control(f >= 0, "plain fork", "%s", p_err(errno));
  if (f == 0) _exit(0);
  waitpid(f, NULL, 0);
  usleep(300000);
  p_end();
}
