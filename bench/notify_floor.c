/* notify_floor: what one answered system call costs on this machine before any of the RUN
 * sandbox's own work — the floor under bench/sandbox-calls.sh's numbers, and what it is made of.
 *   notify_floor N
 * Times N calls of newfstatat("/etc/passwd") from one caller thread, in these set-ups:
 *   native        the call, unfiltered
 *   pingpong      no call: a futex round trip to another thread of the process (wake it, wait to
 *                 be woken; nothing is pinned: the scheduler places the threads, on two idle
 *                 CPUs usually apart), what a wake-up costs without the sync flag
 *   notify        the call goes to a seccomp user-notification listener; a thread answers at
 *                 once with a made-up result (RECV, SEND): the kernel's round trip alone
 *   notify-sync   the same with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (Linux 6.6), as the sandbox
 *                 sets it: the answering thread runs on the caller's CPU
 *   op            notify-sync, and the answer makes the call itself
 *   readv         notify-sync, and the answer reads the path from the caller (process_vm_readv)
 *                 but does not make the call: not cumulative with `op`
 *   answer        what the sandbox's answer to a stat costs at the least: read the path, check
 *                 the notification is still live (ID_VALID), make the call, write the result back
 *                 (process_vm_writev) — the supervisor's syscalls for a stat, nothing else
 *   answer-no-id  the same without ID_VALID
 *   answer-nosync answer without the sync flag
 *   answer-2      answer, with two caller processes calling at once through the one answering
 *                 thread (the sandbox's one receiver): each caller's time per call, their mean
 *   answer-2-nosync  the same without the sync flag
 *   answer-2-2recv   the same with two answering threads waiting in RECV
 *   answer-spin   answer without the sync flag, the answering thread polling for the next call
 *                 for 50 us before it sleeps: it is not woken when calls come back to back, the
 *                 caller still is (by SEND, from the other CPU)
 * Each notified set-up runs twice: the answering thread in the caller's process ("thread") and
 * in another process ("process"), as the sandbox's supervisor is: the difference is what the
 * switches between two address spaces cost (paravirtualized machines pay dearly for them).
 * Prints "MODE thread_ns process_ns" per call ("-" where it does not apply or the kernel
 * refuses). Needs no privilege (PR_SET_NO_NEW_PRIVS). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

static const char* kPath = "/etc/passwd";
static long n_calls;

static long long NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long Stat(const char* path, struct stat* st) {
  return syscall(SYS_newfstatat, AT_FDCWD, path, st, 0);
}

static double TimeCalls(void) {
  struct stat st;
  long long t0 = NowNs();
  for (long i = 0; i < n_calls; ++i)
    if (Stat(kPath, &st) != 0) return -1;
  return (double)(NowNs() - t0) / (double)n_calls;
}

/* --- pingpong --------------------------------------------------------------------------- */

static _Atomic int turn; /* 0: the caller's, 1: the other thread's, 2: stop */

static void FutexWait(_Atomic int* addr, int val) {
  syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void FutexWake(_Atomic int* addr) {
  syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void* Ponger(void* arg) {
  (void)arg;
  for (;;) {
    int t;
    while ((t = atomic_load(&turn)) == 0) FutexWait(&turn, 0);
    if (t == 2) return NULL;
    atomic_store(&turn, 0);
    FutexWake(&turn);
  }
}

static double PingPong(void) {
  pthread_t th;
  atomic_store(&turn, 0);
  if (pthread_create(&th, NULL, Ponger, NULL) != 0) return -1;
  long long t0 = NowNs();
  for (long i = 0; i < n_calls; ++i) {
    atomic_store(&turn, 1);
    FutexWake(&turn);
    while (atomic_load(&turn) == 1) FutexWait(&turn, 1);
  }
  long long t1 = NowNs();
  atomic_store(&turn, 2);
  FutexWake(&turn);
  pthread_join(th, NULL);
  return (double)(t1 - t0) / (double)n_calls;
}

/* --- notifications ---------------------------------------------------------------------- */

enum Answer { kMadeUp, kOp, kReadv, kFull, kFullNoId };

struct Mode {
  const char* name;
  int sync;
  enum Answer answer;
  long long spin_ns;
  int callers;   /* caller processes (1 or 2), sharing the filter and its listener */
  int receivers; /* answering threads waiting in RECV on the listener */
};

struct Listener {
  int fd;
  const struct Mode* mode;
};

static _Atomic int stop_answering;

static void OnWake(int sig) {
  (void)sig;
}

/* As the supervisor reads a path (util/sys/process_mem.cc): up to 512 bytes, not past the
 * page, so that a short path costs one page. */
static int ReadPath(pid_t pid, uint64_t addr, char* buf, size_t size) {
  size_t n = 4096 - (addr & 4095);
  if (n > 512) n = 512;
  if (n > size - 1) n = size - 1;
  struct iovec local = {buf, n};
  struct iovec remote = {(void*)(uintptr_t)addr, n};
  ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
  return got > 0 && memchr(buf, 0, (size_t)got) != NULL ? 0 : -EFAULT;
}

static void* Answerer(void* arg) {
  struct Listener* l = arg;
  const struct Mode* m = l->mode;
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  char path[4096];
  for (;;) {
    if (m->spin_ns) {
      long long until = NowNs() + m->spin_ns;
      struct pollfd p = {l->fd, POLLIN, 0};
      while (poll(&p, 1, 0) == 0 && NowNs() < until && !atomic_load(&stop_answering)) {
      }
    }
    memset(&req, 0, sizeof req);
    if (ioctl(l->fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
      if (atomic_load(&stop_answering)) return NULL;
      if (errno == EINTR || errno == ENOENT) continue;
      return NULL;
    }
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    struct stat st;
    switch (m->answer) {
      case kMadeUp:
        break;
      case kOp:
        if (Stat(kPath, &st) != 0) resp.error = -errno;
        break;
      case kReadv:
        resp.error = ReadPath(req.pid, req.data.args[1], path, sizeof path);
        break;
      case kFull:
      case kFullNoId: {
        resp.error = ReadPath(req.pid, req.data.args[1], path, sizeof path);
        if (resp.error == 0 && m->answer == kFull &&
            ioctl(l->fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &req.id) != 0)
          resp.error = -ESRCH;
        if (resp.error == 0 && Stat(path, &st) != 0) resp.error = -errno;
        if (resp.error == 0) {
          struct iovec out = {&st, sizeof st};
          struct iovec to = {(void*)(uintptr_t)req.data.args[2], sizeof st};
          if (process_vm_writev(req.pid, &out, 1, &to, 1, 0) != (ssize_t)sizeof st)
            resp.error = -EFAULT;
        }
        break;
      }
    }
    if (ioctl(l->fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 && errno != ENOENT) return NULL;
  }
}

/* Filters newfstatat of the calling thread to a new listener: its fd, or -errno. */
static int InstallFilter(void) {
  struct sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_newfstatat, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog fprog = {sizeof prog / sizeof prog[0], prog};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -errno;
  int fd =
      (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog);
  return fd < 0 ? -errno : fd;
}

/* Starts the answering thread on `l` (from an unfiltered thread: a thread inherits the filter
 * of the thread that creates it). 0 or an errno. */
static int StartAnswering(struct Listener* l, pthread_t* th) {
  uint64_t flags = l->mode->sync ? SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP : 0;
  if (flags && ioctl(l->fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags, 0) != 0) return errno;
  return pthread_create(th, NULL, Answerer, l);
}

/* The answering thread waits in RECV: a signal without SA_RESTART ends the wait; again until it
 * has seen the stop flag. */
static void StopAnswering(pthread_t th) {
  atomic_store(&stop_answering, 1);
  while (pthread_tryjoin_np(th, NULL) != 0) {
    pthread_kill(th, SIGUSR1);
    usleep(1000);
  }
  atomic_store(&stop_answering, 0);
}

/* The caller as another thread of this process. */
struct ThreadCaller {
  pthread_barrier_t ready;
  int fd; /* the listener, or -errno */
  double ns;
};

static void* ThreadCallerMain(void* arg) {
  struct ThreadCaller* c = arg;
  c->fd = InstallFilter();
  pthread_barrier_wait(&c->ready); /* the answering thread is started meanwhile */
  pthread_barrier_wait(&c->ready);
  if (c->fd >= 0) c->ns = TimeCalls();
  return NULL;
}

static double InThread(const struct Mode* m) {
  struct ThreadCaller c = {.fd = -1, .ns = -1};
  pthread_barrier_init(&c.ready, NULL, 2);
  pthread_t caller, answerer;
  pthread_create(&caller, NULL, ThreadCallerMain, &c);
  pthread_barrier_wait(&c.ready);
  struct Listener l = {c.fd, m};
  int started = c.fd >= 0 && StartAnswering(&l, &answerer) == 0;
  if (!started) c.fd = -1; /* the caller skips its calls */
  pthread_barrier_wait(&c.ready);
  pthread_join(caller, NULL);
  if (started) StopAnswering(answerer);
  if (l.fd >= 0) close(l.fd);
  pthread_barrier_destroy(&c.ready);
  return started ? c.ns : -1;
}

/* The caller as a process of its own, as the sandbox's step is; the listener comes back over
 * a socket. */
static double InProcess(const struct Mode* m) {
  int sp[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  char byte = 'f';
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct iovec iov = {&byte, 1};
  struct msghdr msg = {
      .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  if (pid == 0) {
    close(sp[0]);
    int fd = InstallFilter();
    if (fd < 0) _exit(1);
    struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &fd, sizeof fd);
    if (sendmsg(sp[1], &msg, 0) != 1) _exit(1);
    close(fd);
    if (read(sp[1], &byte, 1) != 1) _exit(1);    /* go */
    pid_t second = m->callers > 1 ? fork() : -1; /* inherits the filter: same listener */
    double ns = TimeCalls();
    if (write(sp[1], &ns, sizeof ns) != (ssize_t)sizeof ns) _exit(1);
    if (second == 0) _exit(0);
    if (second > 0) waitpid(second, NULL, 0);
    _exit(0);
  }
  close(sp[1]);
  double ns = -1;
  struct Listener l = {-1, m};
  if (recvmsg(sp[0], &msg, 0) == 1 && CMSG_FIRSTHDR(&msg))
    memcpy(&l.fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof l.fd);
  pthread_t answerer, second;
  int started = l.fd >= 0 && StartAnswering(&l, &answerer) == 0;
  int started2 = started && m->receivers > 1 && pthread_create(&second, NULL, Answerer, &l) == 0;
  if (started && write(sp[0], "g", 1) == 1) {
    /* Each caller's time per call; with two callers, their mean. */
    double sum = 0;
    int got = 0;
    for (int i = 0; i < m->callers; ++i) {
      double one;
      if (read(sp[0], &one, sizeof one) != (ssize_t)sizeof one || one < 0) break;
      sum += one;
      ++got;
    }
    ns = got == m->callers ? sum / got : -1;
  }
  close(sp[0]); /* a child still waiting for "go" ends */
  waitpid(pid, NULL, 0);
  if (started) StopAnswering(answerer);
  if (started2) StopAnswering(second);
  if (l.fd >= 0) close(l.fd);
  return ns;
}

static void Print(const char* name, double thread_ns, double process_ns) {
  printf("%-13s", name);
  if (thread_ns >= 0)
    printf(" %8.0f", thread_ns);
  else
    printf(" %8s", "-");
  if (process_ns >= 0)
    printf(" %8.0f\n", process_ns);
  else
    printf(" %8s\n", "-");
}

int main(int argc, char** argv) {
  n_calls = argc > 1 ? atol(argv[1]) : 20000;
  if (n_calls <= 0) return 2;
  struct sigaction wake;
  memset(&wake, 0, sizeof wake);
  wake.sa_handler = OnWake;
  sigaction(SIGUSR1, &wake, NULL);
  printf("%-13s %8s %8s   (ns per call, %ld calls)\n", "mode", "thread", "process", n_calls);
  Print("native", TimeCalls(), -1);
  Print("pingpong", PingPong(), -1);
  static const struct Mode modes[] = {
      {"notify", 0, kMadeUp, 0, 1, 1},
      {"notify-sync", 1, kMadeUp, 0, 1, 1},
      {"op", 1, kOp, 0, 1, 1},
      {"readv", 1, kReadv, 0, 1, 1},
      {"answer", 1, kFull, 0, 1, 1},
      {"answer-no-id", 1, kFullNoId, 0, 1, 1},
      {"answer-nosync", 0, kFull, 0, 1, 1},
      {"answer-spin", 0, kFull, 50000, 1, 1},
      {"answer-2", 1, kFull, 0, 2, 1},
      {"answer-2-nosync", 0, kFull, 0, 2, 1},
      {"answer-2-2recv", 0, kFull, 0, 2, 2},
  };
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; ++i)
    Print(modes[i].name, modes[i].callers > 1 ? -1 : InThread(&modes[i]), InProcess(&modes[i]));
  return 0;
}
