// Cache poisoning (class 7): the hostile step runs on a tree restored from ocibuild's unpacked
// rootfs cache, whose files are hardlinks shared with the cache entry. Whatever the step changes
// IN PLACE in a shared inode, while keeping the size, mtime and mode the cache checks, would be
// restored into the next, trusted build. The targets are the files the trusted step reads:
// /data/file.txt (its first bytes are overwritten) and /report, the trusted step's own program
// (its last byte, in the section headers, is flipped: it still runs, its hash changes).
#ifndef OCIB_SECURITY_CACHE_H
#define OCIB_SECURITY_CACHE_H

#include <sys/stat.h>

#include "probe.h"

struct target {
  const char* path;
  int ro;  // opened read-only before anything else: always the shared inode
  struct stat orig;
};

static struct target tg[2] = {{"/data/file.txt", -1, {0}}, {"/report", -1, {0}}};
static int tampered;

static inline void cache_open_targets(void) {
  for (int i = 0; i < 2; ++i) {
    tg[i].ro = open(tg[i].path, O_RDONLY);
    p_control(tg[i].ro >= 0 && fstat(tg[i].ro, &tg[i].orig) == 0, "open target read-only", "%s %s",
              tg[i].path, p_err(errno));
    // A tree restored from the rootfs cache shares its inodes with the cache's hardlink farm.
    p_line("ATTEMPT", "%s: inode %llu nlink=%lu", tg[i].path, (unsigned long long)tg[i].orig.st_ino,
           (unsigned long)tg[i].orig.st_nlink);
  }
}

// Restores the times the cache compares, through the read-only fd (futimens needs ownership, not
// write access).
static inline void restore_times(struct target* t) {
  struct timespec ts[2] = {t->orig.st_atim, t->orig.st_mtim};
  ATT(futimens(t->ro, ts), "futimens(read-only fd of %s) back to the original mtime", t->path);
}

// `fd` claims to be writable: if it is the shared inode, overwrite in place keeping the size.
static inline int tamper(const char* how, struct target* t, int fd) {
  if (fd < 0) return -1;
  struct stat st;
  int acc = fcntl(fd, F_GETFL) & O_ACCMODE;
  if (fstat(fd, &st) != 0 || acc == O_RDONLY) {
    close(fd);
    return -1;
  }
  if (st.st_ino != t->orig.st_ino || st.st_dev != t->orig.st_dev) {
    p_line("ATTEMPT", "%s on %s: got a private copy (inode %llu, shared %llu)", how, t->path,
           (unsigned long long)st.st_ino, (unsigned long long)t->orig.st_ino);
    close(fd);
    return -1;
  }
  long rc;
  if (t == &tg[0]) {
    rc = pwrite(fd, "TAMPERED", 8, 0);
  } else {
    unsigned char b;
    rc = pread(fd, &b, 1, t->orig.st_size - 1) == 1
             ? (b ^= 0x5a, pwrite(fd, &b, 1, t->orig.st_size - 1))
             : -1;
  }
  if (ATT(rc, "%s: write into the SHARED inode of %s", how, t->path) > 0) {
    ++tampered;
    p_escape("%s: wrote in place into %s (shared with the rootfs cache)", how, t->path);
  }
  close(fd);
  restore_times(t);
  return 0;
}

static inline void cache_report(void) {
  for (int i = 0; i < 2; ++i) {
    struct stat st;
    if (fstat(tg[i].ro, &st) == 0)
      p_line("ATTEMPT", "%s now: size %lld mtime %lld.%09ld mode %o (was %lld %lld.%09ld %o)",
             tg[i].path, (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
             st.st_mode, (long long)tg[i].orig.st_size, (long long)tg[i].orig.st_mtim.tv_sec,
             tg[i].orig.st_mtim.tv_nsec, tg[i].orig.st_mode);
  }
  p_line("ATTEMPT", "tampered %d times", tampered);
}

// The rootfs's host directory, as the step can learn it: /proc/self/maps names the host path of
// the running /probe. Empty when the sandbox shows guest paths (as it should).
static inline const char* host_rootfs(void) {
  static char root[PATH_MAX];
  char maps[4096];
  if (read_path("/proc/self/maps", maps, sizeof maps) <= 0) return "";
  char* p = strchr(maps, '/');
  if (!p) return "";
  char* nl = strchr(p, '\n');
  if (nl) *nl = 0;
  size_t n = strlen(p);
  if (n > 6 && !strcmp(p + n - 6, "/probe")) p[n - 6] = 0;
  if (!strcmp(p, "") || !strcmp(p, "/probe")) return "";
  snprintf(root, sizeof root, "%s", p);
  return root;
}

#endif
