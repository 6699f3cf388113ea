// Shared code of the adversarial probes (tests/security/probes/*.c). Each probe is a static
// program that a Dockerfile RUNs in the sandbox; it plays the attacker and reports, line by line,
// what it tried and what it got. The harness (tests/security/) judges from the host side; these
// lines only make a failure readable and prove that the probe ran:
//
//   OCIB-PROBE-START <probe>
//   OCIB-ATTEMPT <probe> <what> -> OK <rc> | <ERRNO>     one per attempt
//   OCIB-CONTROL <probe> <what> -> OK | FAIL <detail>    positive controls: real builds need these
//   OCIB-LOOT <probe> <what>: <bytes read>               anything read from a place it must not
//   reach OCIB-ESCAPE <probe> <what>: <detail>                 the probe itself saw a forbidden
//   effect OCIB-SEEN-PID <probe> <pid>                          pids a process listing showed
//   OCIB-PROBE-END <probe> attempts=<n>
//
// Hints: the harness passes what an attacker would know or guess (the runner's paths, the pid of
// a process of the same user, a port) in the build argument OCIB_HINTS, "KEY=VALUE;KEY=VALUE".
// Everything a probe reads or leaks is also appended to /ocib-loot in its rootfs, so that a leak
// ends up in the layer as well as in the log.
#ifndef OCIB_SECURITY_PROBE_H
#define OCIB_SECURITY_PROBE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef PROBE_NAME
#error "compile with -DPROBE_NAME=\"name\""
#endif

// Every canary the harness plants starts with this; a probe that scans memory looks for it.
#define CANARY_PREFIX "OCIBCANARY"

static int p_attempts;

static inline void p_write(const char* s, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

static inline void p_vline(const char* kind, const char* fmt, va_list ap) {
  char buf[8192];
  int n = snprintf(buf, sizeof buf, "OCIB-%s %s ", kind, PROBE_NAME);
  if (n < 0) return;
  int m = vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  if (m < 0) m = 0;
  size_t len = (size_t)n + (size_t)m;
  if (len > sizeof buf - 2) len = sizeof buf - 2;
  buf[len++] = '\n';
  p_write(buf, len);
}

static inline void p_line(const char* kind, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  p_vline(kind, fmt, ap);
  va_end(ap);
}

static inline const char* p_err(int e) {
  const char* n = strerrorname_np(e);
  return n ? n : "E?";
}

static inline void p_append_loot(const char* text, size_t n) {
  int fd = open("/ocib-loot", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  ssize_t w = write(fd, text, n);
  (void)w;
  w = write(fd, "\n", 1);
  (void)w;
  close(fd);
}

// Records one attempt: rc < 0 means failed with errno. Returns rc with errno preserved.
static inline long p_attemptf(long rc, const char* fmt, ...) {
  int e = errno;
  __atomic_add_fetch(&p_attempts, 1, __ATOMIC_RELAXED);
  char what[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (rc < 0)
    p_line("ATTEMPT", "%s -> %s", what, p_err(e));
  else
    p_line("ATTEMPT", "%s -> OK %ld", what, rc);
  errno = e;
  return rc;
}
#define ATT(rc, ...) p_attemptf((long)(rc), __VA_ARGS__)

static inline void p_control(int ok, const char* what, const char* fmt, ...) {
  char detail[2048] = "";
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  p_line("CONTROL", "%s -> %s %s", what, ok ? "OK" : "FAIL", detail);
}

static inline void p_escape(const char* fmt, ...) {
  char what[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  p_line("ESCAPE", "%s", what);
  p_append_loot(what, strlen(what));
}

// Prints (escaped) and keeps whatever was read.
static inline void p_loot(const char* what, const void* data, size_t n) {
  if (n > 1500) n = 1500;
  char esc[1500 * 4 + 1];
  size_t o = 0;
  const unsigned char* d = (const unsigned char*)data;
  for (size_t i = 0; i < n; ++i) {
    if (isprint(d[i]) && d[i] != '\\')
      esc[o++] = (char)d[i];
    else
      o += (size_t)sprintf(esc + o, "\\x%02x", d[i]);
  }
  esc[o] = 0;
  p_line("LOOT", "%s: %s", what, esc);
  p_append_loot(esc, o);
}

static inline void p_start(void) {
  signal(SIGPIPE, SIG_IGN);
  p_line("PROBE-START", "pid=%d", (int)getpid());
}

static inline void p_end(void) {
  p_line("PROBE-END", "attempts=%d", __atomic_load_n(&p_attempts, __ATOMIC_RELAXED));
  exit(0);
}

// ---- hints -------------------------------------------------------------------------------

static inline const char* hint(const char* key) {
  static char buf[16384];
  static int parsed;
  if (!parsed) {
    parsed = 1;
    const char* h = getenv("OCIB_HINTS");
    if (h) snprintf(buf, sizeof buf, ";%s;", h);
  }
  char pat[128];
  snprintf(pat, sizeof pat, ";%s=", key);
  const char* at = strstr(buf, pat);
  if (!at) return NULL;
  at += strlen(pat);
  static char vals[64][1024];
  static int next;
  char* v = vals[next++ % 64];
  size_t i = 0;
  while (at[i] && at[i] != ';' && i < 1023) {
    v[i] = at[i];
    ++i;
  }
  v[i] = 0;
  return v;
}

static inline long hint_long(const char* key) {
  const char* v = hint(key);
  return v ? strtol(v, NULL, 0) : -1;
}

// The test directory on the host (absolute): every host target lives under it.
static inline const char* T(void) {
  const char* t = hint("T");
  if (!t) {
    p_control(0, "hints", "OCIB_HINTS is missing: the probe cannot aim");
    p_end();
  }
  return t;
}

static inline int host_root(void) {
  return hint_long("HOSTROOT") == 1;
}

// A string that lives until exit.
static inline char* p_strf(const char* fmt, ...) {
  char* s = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0) s = NULL;
  va_end(ap);
  return s ? s : (char*)"";
}

// PREFIX + host path of the test directory + "/" + REL.
static inline char* hp(const char* prefix, const char* rel) {
  return p_strf("%s%s/%s", prefix, T(), rel);
}

static inline const char* nonce(void) {
  const char* n = hint("NONCE");
  return n ? n : "nononce";
}

// ---- files and processes ---------------------------------------------------------------

static inline ssize_t read_path(const char* path, char* buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += (size_t)r;
  }
  buf[n] = 0;
  int e = errno;
  close(fd);
  errno = e;
  return (ssize_t)n;
}

// Reads what an fd gives (at most 2 KiB) and loots it; returns the byte count or -1.
static inline ssize_t loot_fd(const char* what, int fd) {
  char buf[2048];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  if (n < 0) n = read(fd, buf, sizeof buf);
  if (n > 0) p_loot(what, buf, (size_t)n);
  return n;
}

// Opens PATH read-only; on success reads and loots it. Returns the open's result.
static inline long try_read(const char* what, const char* path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ATT(fd, "%s open(%s)", what, path);
  if (fd < 0) return -1;
  loot_fd(what, fd);
  close(fd);
  return 0;
}

static inline pid_t ppid_of(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  if (read_path(path, buf, sizeof buf) <= 0) return -1;
  char* rp = strrchr(buf, ')');
  if (!rp) return -1;
  int pp = -1;
  char st;
  if (sscanf(rp + 1, " %c %d", &st, &pp) != 2) return -1;
  return pp;
}

// The chain of ancestors: the sandbox's supervisor, ocibuild... It stops below the harness (hint
// HARNESS): probes must never act on processes the test does not own (the harness's own parents
// belong to whatever runs the tests). Without hints (the leak probes, which only read) it walks
// up to pid 1.
static inline int ancestors(pid_t* out, int max) {
  long harness = hint_long("HARNESS");
  int n = 0;
  pid_t p = getppid();
  while (p > 1 && n < max && p != harness) {
    out[n++] = p;
    pid_t pp = ppid_of(p);
    if (pp <= 0 || pp == p) break;
    p = pp;
  }
  return n;
}

// The processes a probe attacks: its ancestors below the harness (supervisor, ocibuild) and the
// harness's victims. Deduplicated; own pid excluded.
static inline int targets(pid_t* out, int max) {
  int n = ancestors(out, max);
  const char* keys[] = {"VICTIM", "VICTIM2"};
  for (size_t k = 0; k < 2 && n < max; ++k) {
    long v = hint_long(keys[k]);
    if (v > 0) out[n++] = (pid_t)v;
  }
  int m = 0;
  for (int i = 0; i < n; ++i) {
    if (out[i] == getpid()) continue;
    int dup = 0;
    for (int j = 0; j < m; ++j) dup |= out[j] == out[i];
    if (!dup) out[m++] = out[i];
  }
  return m;
}

// targets() plus the harness itself, for attacks that only READ (its memory and environment hold
// every canary); never for anything that changes a process.
static inline int read_targets(pid_t* out, int max) {
  int n = targets(out, max - 1);
  long harness = hint_long("HARNESS");
  if (harness > 1) out[n++] = (pid_t)harness;
  return n;
}

// Finds every occurrence of `needle` in [buf, buf+n) and loots 96 bytes from there.
static inline int loot_needles(const char* what, const char* buf, size_t n, const char* needle) {
  size_t ln = strlen(needle);
  int found = 0;
  for (size_t i = 0; i + ln <= n && found < 16; ++i) {
    if (memcmp(buf + i, needle, ln) != 0) continue;
    size_t take = n - i < 96 ? n - i : 96;
    p_loot(what, buf + i, take);
    ++found;
    i += ln;
  }
  return found;
}

// Runs fn(arg) in a forked child that must finish within `secs`; returns its wait status.
static inline int in_child(void (*fn)(void*), void* arg, int secs) {
  pid_t c = fork();
  if (c == 0) {
    alarm((unsigned)secs);
    fn(arg);
    _exit(0);
  }
  if (c < 0) return -1;
  int st = 0;
  while (waitpid(c, &st, 0) < 0 && errno == EINTR) {
  }
  return st;
}

static inline double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Connects a unix socket to `path` (or an abstract name when abstract) and loots what the
// listener says. Returns the connect result.
static inline long try_unix_connect(const char* what, const char* name, int abstract) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return ATT(-1, "%s socket(AF_UNIX)", what);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  socklen_t len;
  if (abstract) {
    size_t l = strlen(name);
    if (l > sizeof a.sun_path - 2) l = sizeof a.sun_path - 2;
    memcpy(a.sun_path + 1, name, l);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l);
  } else {
    snprintf(a.sun_path, sizeof a.sun_path, "%s", name);
    len = sizeof a;
  }
  long rc = connect(s, (struct sockaddr*)&a, len);
  ATT(rc, "%s connect(%s%s)", what, abstract ? "@" : "", name);
  if (rc == 0) {
    struct timeval tv = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[512];
    ssize_t n = read(s, buf, sizeof buf);
    if (n > 0) p_loot(what, buf, (size_t)n);
    p_escape("%s: connected to %s%s", what, abstract ? "@" : "", name);
  }
  close(s);
  return rc;
}

// Connects TCP to 127.0.0.1:port (family AF_INET) and loots the greeting.
static inline long try_tcp_connect(const char* what, int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ATT(s, "%s socket(AF_INET)", what);
  if (s < 0) return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(0x7f000001);
  long rc = connect(s, (struct sockaddr*)&a, sizeof a);
  ATT(rc, "%s connect(127.0.0.1:%d)", what, port);
  if (rc == 0) {
    char buf[256];
    struct timeval tv = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ssize_t n = read(s, buf, sizeof buf);
    if (n > 0) p_loot(what, buf, (size_t)n);
    p_escape("%s: TCP connection to 127.0.0.1:%d", what, port);
  }
  close(s);
  return rc;
}

#endif
