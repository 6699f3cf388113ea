// Class 5: a seccomp filter installed by the step. A filter returning SECCOMP_RET_USER_NOTIF
// outranks the sandbox's RET_TRACE, and answering its notifications with FLAG_CONTINUE makes
// the kernel run the call untranslated: open the plain host path of a canary, connect to TCP
// under --network=none, signal the victim. Also tried through prctl(PR_SET_SECCOMP) (no
// listener there, but RET_ERRNO/RET_TRACE filters) and with TSYNC.
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>

#include "probe.h"

static int listener = -1;

static void* responder(void* arg) {
  (void)arg;
  while (__atomic_load_n(&listener, __ATOMIC_ACQUIRE) < 0) usleep(1000);
  struct seccomp_notif_sizes sz;
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) != 0) return NULL;
  struct seccomp_notif* req =
      calloc(1, sz.seccomp_notif > sizeof *req ? sz.seccomp_notif : sizeof *req);
  struct seccomp_notif_resp* resp =
      calloc(1, sz.seccomp_notif_resp > sizeof *resp ? sz.seccomp_notif_resp : sizeof *resp);
  for (;;) {
    memset(req, 0, sz.seccomp_notif);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0) {
      if (errno == EINTR) continue;
      return NULL;
    }
    memset(resp, 0, sz.seccomp_notif_resp);
    resp->id = req->id;
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);
  }
}

static int notify_filter(unsigned flags) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 5, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_open, 4, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_connect, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_kill, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
  };
  struct sock_fprog prog = {sizeof f / sizeof *f, f};
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
}

static void attack(const char* how) {
  char* secret = p_strf("%s/host/secret.txt", T());
  try_read(how, secret);
  int fd = open(p_strf("%s/host/ocib-esc-%s-seccomp", T(), nonce()), O_CREAT | O_WRONLY, 0644);
  ATT(fd, "%s create host file", how);
  long port = hint_long("TCP");
  if (port > 0) try_tcp_connect(how, (int)port);
  long v = hint_long("VICTIM");
  if (v > 0) ATT(kill((pid_t)v, SIGUSR1), "%s kill(victim, SIGUSR1)", how);
}

int main(void) {
  p_start();
  T();
  ATT(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(NO_NEW_PRIVS)");
  struct seccomp_notif_sizes sz;
  ATT(syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz), "seccomp(GET_NOTIF_SIZES)");
  unsigned action = SECCOMP_RET_USER_NOTIF;
  ATT(syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action),
      "seccomp(GET_ACTION_AVAIL USER_NOTIF)");
  // In a child, so that the parent stays clean for the prctl variant.
  pid_t c = fork();
  if (c == 0) {
    // The responder thread exists before the filter (which only the installing thread gets), so
    // that its own calls are not stopped; it waits for the listener fd.
    pthread_t t;
    pthread_create(&t, NULL, responder, NULL);
    int rc = notify_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER);
    if (rc >= 0) __atomic_store_n(&listener, rc, __ATOMIC_RELEASE);
    ATT(rc, "seccomp(SET_MODE_FILTER, NEW_LISTENER)");
    if (rc >= 0) {
      p_escape("the step installed a seccomp listener");
      attack("USER_NOTIF+CONTINUE");
    }
    _exit(0);
  }
  waitpid(c, NULL, 0);
  // TSYNC from a threaded process.
  c = fork();
  if (c == 0) {
    int rc = notify_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC |
                           (1U << 4) /*TSYNC_ESRCH*/);
    ATT(rc, "seccomp(SET_MODE_FILTER, NEW_LISTENER|TSYNC|TSYNC_ESRCH)");
    _exit(0);
  }
  waitpid(c, NULL, 0);
  // prctl: an ordinary filter returning ERRNO for getpid (harmless to the sandbox), then TRACE.
  c = fork();
  if (c == 0) {
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | 77),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof f / sizeof *f, f};
    ATT(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0),
        "prctl(PR_SET_SECCOMP, ERRNO filter)");
    // After that, the sandbox must still confine this process.
    attack("after prctl filter");
    _exit(0);
  }
  waitpid(c, NULL, 0);
  p_end();
}
