/* sandbox_calls: times N path syscalls of one kind at one depth, for bench/sandbox-calls.sh.
 *   sandbox_calls OP DEPTH N [missing|existing [PROCS]]
 * OP: readlink, stat (newfstatat), statx, open (openat + close), lstat. DEPTH 1-6: the path has
 * DEPTH components (/bc/d/d/.../l for readlink, .../f otherwise; "missing": .../m, ENOENT).
 * bench/sandbox-calls.sh makes the tree (/bc/f, /bc/l -> f, /bc/d/f, ...). Prints one line:
 *   OP DEPTH missing|existing N wall_ns_per_call own_cpu_ns_per_call
 * PROCS > 1: that many processes make their N calls at once (started together); the wall time
 * per call printed is their mean, the CPU time this process's own.
 * Static, no libc path helpers: every call is one syscall. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long Ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: sandbox_calls OP DEPTH N [missing]\n");
    return 2;
  }
  const char* op = argv[1];
  int depth = atoi(argv[2]);
  long n = atol(argv[3]);
  int missing = argc > 4 && strcmp(argv[4], "missing") == 0;
  if (depth < 1 || depth > 6) return 2;
  char path[256] = "/bc";
  for (int i = 2; i < depth; ++i) strcat(path, "/d");
  if (depth == 1) strcpy(path, "");
  strcat(path, missing ? "/m" : (strcmp(op, "readlink") == 0 ? "/l" : "/f"));
  if (depth == 1) {
    /* Depth 1: a name in "/" itself. */
    snprintf(path, sizeof path, "/%s",
             missing ? "bcm" : (strcmp(op, "readlink") == 0 ? "bcl" : "bcf"));
  }
  char buf[256];
  struct stat st;
  struct statx sx;
  int expect_ok = !missing;
  long bad = 0;
  int procs = argc > 5 ? atoi(argv[5]) : 1;
  int results[2] = {-1, -1}, go[2] = {-1, -1};
  if (procs > 1 && (pipe(results) != 0 || pipe(go) != 0)) return 2;
  int child = 0;
  for (int p = 1; p < procs; ++p) {
    pid_t pid = fork();
    if (pid < 0) return 2;
    if (pid == 0) {
      child = 1;
      break;
    }
  }
  if (procs > 1) {
    /* Everyone waits for the parent's go: the calls start together. */
    char c;
    if (child) {
      close(go[1]);
      if (read(go[0], &c, 1) != 0) return 2;
    } else {
      close(go[0]);
      close(go[1]);
    }
  }
  long long w0 = Ns(CLOCK_MONOTONIC), c0 = Ns(CLOCK_PROCESS_CPUTIME_ID);
  for (long i = 0; i < n; ++i) {
    long rc;
    if (strcmp(op, "readlink") == 0) {
      rc = syscall(SYS_readlink, path, buf, sizeof buf);
    } else if (strcmp(op, "stat") == 0) {
      rc = syscall(SYS_newfstatat, AT_FDCWD, path, &st, 0);
    } else if (strcmp(op, "lstat") == 0) {
      rc = syscall(SYS_newfstatat, AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW);
    } else if (strcmp(op, "statx") == 0) {
      rc = syscall(SYS_statx, AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx);
    } else if (strcmp(op, "open") == 0) {
      rc = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
      if (rc >= 0) close((int)rc);
    } else {
      fprintf(stderr, "sandbox_calls: unknown op %s\n", op);
      return 2;
    }
    if ((rc >= 0) != expect_ok || (!expect_ok && errno != ENOENT)) ++bad;
  }
  long long w1 = Ns(CLOCK_MONOTONIC), c1 = Ns(CLOCK_PROCESS_CPUTIME_ID);
  if (bad) {
    fprintf(stderr, "sandbox_calls: %s %s: %ld unexpected results\n", op, path, bad);
    return 1;
  }
  long long wall = n ? (w1 - w0) / n : 0;
  if (child) {
    if (write(results[1], &wall, sizeof wall) != (ssize_t)sizeof wall) return 1;
    return 0;
  }
  if (procs > 1) {
    close(results[1]);
    long long sum = wall, one;
    int got = 1;
    while (read(results[0], &one, sizeof one) == (ssize_t)sizeof one) {
      sum += one;
      ++got;
    }
    while (wait(NULL) > 0) {
    }
    if (got != procs) return 1;
    wall = sum / procs;
  }
  printf("%s %d %s %ld %lld %lld\n", op, depth, missing ? "missing" : "existing", n, wall,
         n ? (c1 - c0) / n : 0);
  return 0;
}
