// Class 6 with clone3: CLONE_UNTRACED, CLONE_PARENT, namespaces (NEWUSER/NEWNS/NEWPID/NEWNET),
// CLONE_INTO_CGROUP, set_tid (choosing a pid, root only). Each child that gets created attacks.
#include <linux/sched.h>

#include "untraced.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

static void try_clone3(const char* what, unsigned long long flags, int cgroup, pid_t tid) {
  struct clone_args a;
  memset(&a, 0, sizeof a);
  a.flags = flags;
  a.exit_signal = SIGCHLD;
  a.cgroup = (unsigned long long)(cgroup > 0 ? cgroup : 0);
  pid_t t[1] = {tid};
  if (tid > 0) {
    a.set_tid = (unsigned long long)(uintptr_t)t;
    a.set_tid_size = 1;
  }
  long c = syscall(SYS_clone3, &a, sizeof a);
  if (c == 0) {
    untraced_attack(what, 0);
    syscall(SYS_exit_group, 0);
  }
  ATT(c, "clone3(%s)", what);
  if (c > 0) waitpid((pid_t)c, NULL, __WALL);
}

int main(void) {
  p_start();
  untraced_prepare("clone3");
  struct clone_args a;
  memset(&a, 0, sizeof a);
  a.exit_signal = SIGCHLD;
  long c = syscall(SYS_clone3, &a, sizeof a);
  if (c == 0) syscall(SYS_exit_group, 0);
  if (c > 0) waitpid((pid_t)c, NULL, 0);
  // Docker's default seccomp profile answers clone3 with ENOSYS (glibc then uses clone): the
  // variants below are still tried, they must all fail the same way then.
  ATT(c, "plain clone3");
  try_clone3("CLONE_UNTRACED", CLONE_UNTRACED, -1, 0);
  try_clone3("CLONE_PARENT", CLONE_PARENT, -1, 0);
  try_clone3("CLONE_NEWUSER", CLONE_NEWUSER, -1, 0);
  try_clone3("CLONE_NEWUSER|CLONE_NEWNS", CLONE_NEWUSER | CLONE_NEWNS, -1, 0);
  try_clone3("CLONE_NEWPID", CLONE_NEWPID, -1, 0);
  try_clone3("CLONE_NEWNET", CLONE_NEWNET, -1, 0);
  int cg = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY);
  try_clone3("CLONE_INTO_CGROUP /sys/fs/cgroup", CLONE_INTO_CGROUP, cg, 0);
  try_clone3("set_tid", 0, -1, 4000000 - (getpid() % 1000));
  p_end();
}
