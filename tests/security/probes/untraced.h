// What a process that slipped out from under the sandbox's tracer tries (class 6): the plain
// host path of a canary, a new host file, the victim, TCP under --network=none, the abstract
// listener; then, when asked, it stays alive past the build (the harness scans for survivors:
// every process of the step carries the nonce in its environment).
#ifndef OCIB_SECURITY_UNTRACED_H
#define OCIB_SECURITY_UNTRACED_H

#include <sys/resource.h>

#include "probe.h"

static char* u_secret;
static char* u_created;

static inline void untraced_prepare(const char* tag) {
  u_secret = p_strf("%s/host/secret.txt", T());
  u_created = p_strf("%s/host/ocib-esc-%s-%s", T(), nonce(), tag);
}

// Only raw syscalls and our own line writer: the caller may be a vfork child or a raw clone.
static inline void untraced_attack(const char* how, int survive) {
  int fd = (int)syscall(SYS_open, u_secret, O_RDONLY);
  ATT(fd, "%s open(host secret)", how);
  if (fd >= 0) {
    char b[256];
    long n = syscall(SYS_read, fd, b, sizeof b);
    if (n > 0) p_loot(how, b, (size_t)n);
  }
  fd = (int)syscall(SYS_open, u_created, O_CREAT | O_WRONLY, 0644);
  ATT(fd, "%s create host file", how);
  long v = hint_long("VICTIM");
  if (v > 0) {
    ATT(syscall(SYS_kill, v, SIGUSR1), "%s kill(victim)", how);
    struct rlimit r = {5, 5};
    ATT(syscall(SYS_prlimit64, v, RLIMIT_NOFILE, &r, NULL), "%s prlimit(victim)", how);
    ATT(syscall(SYS_setpriority, PRIO_PROCESS, v, 18), "%s setpriority(victim)", how);
  }
  long port = hint_long("TCP");
  if (port > 0) try_tcp_connect(how, (int)port);
  const char* abs_name = hint("ABSTRACT");
  if (abs_name) try_unix_connect(how, abs_name, 1);
  if (!survive) return;
  syscall(SYS_setsid);
  for (int s = 1; s < 65; ++s) signal(s, SIG_IGN);
  p_line("ATTEMPT", "%s: pid %d staying alive for 30 s", how, (int)syscall(SYS_getpid));
  struct timespec ts = {1, 0};
  for (int i = 0; i < 30; ++i) syscall(SYS_nanosleep, &ts, NULL);
  syscall(SYS_exit_group, 0);
}

#endif
