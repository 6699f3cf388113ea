// The trusted step of the cache-poisoning tests: describes every file of the rootfs as the step
// sees it (type, mode, owner, size, content hash, mtime of non-directories, link target, xattrs),
// one sorted line per path, into the file named by argv[1]. Two trusted builds of the same
// Dockerfile must write the same report, whatever a hostile build did to the cache before.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static char** g_lines;
static size_t g_count, g_cap;
static const char* g_out;

static uint64_t hash_file(const char* path) {
  uint64_t h = 1469598103934665603ull;
  int fd = open(path, O_RDONLY | O_NOFOLLOW);
  if (fd < 0) return 0;
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0)
    for (ssize_t i = 0; i < n; ++i) h = (h ^ (unsigned char)buf[i]) * 1099511628211ull;
  close(fd);
  return h;
}

static int visit(const char* path, const struct stat* st, int flag, struct FTW* ftw) {
  (void)flag;
  (void)ftw;
  if (!strcmp(path, "/proc") || !strcmp(path, "/sys") || !strcmp(path, "/dev"))
    return FTW_SKIP_SUBTREE;
  if (!strcmp(path, g_out) || !strcmp(path, "/ocib-loot")) return FTW_CONTINUE;
  char line[8192];
  int n = snprintf(line, sizeof line, "%s mode=%o owner=%u:%u", path, st->st_mode,
                   (unsigned)st->st_uid, (unsigned)st->st_gid);
  if (S_ISREG(st->st_mode))
    n += snprintf(line + n, sizeof line - (size_t)n, " size=%lld hash=%016llx mtime=%lld.%09ld",
                  (long long)st->st_size, (unsigned long long)hash_file(path),
                  (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec);
  if (S_ISLNK(st->st_mode)) {
    char target[4096];
    ssize_t l = readlink(path, target, sizeof target - 1);
    target[l > 0 ? l : 0] = 0;
    n += snprintf(line + n, sizeof line - (size_t)n, " -> %s", target);
  }
  char names[4096];
  ssize_t ln = llistxattr(path, names, sizeof names);
  for (ssize_t i = 0; i < ln; i += (ssize_t)strlen(names + i) + 1) {
    char val[256];
    ssize_t vl = lgetxattr(path, names + i, val, sizeof val - 1);
    val[vl > 0 ? vl : 0] = 0;
    for (ssize_t k = 0; k < vl; ++k)
      if (val[k] < 32 || val[k] > 126) val[k] = '?';
    n += snprintf(line + n, sizeof line - (size_t)n, " xattr:%s=%s", names + i, val);
    if (n >= (int)sizeof line) break;
  }
  if (g_count == g_cap) {
    g_cap = g_cap ? g_cap * 2 : 256;
    g_lines = realloc(g_lines, g_cap * sizeof *g_lines);
  }
  g_lines[g_count++] = strdup(line);
  return FTW_CONTINUE;
}

static int cmp(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  g_out = argv[1];
  if (nftw("/", visit, 32, FTW_PHYS | FTW_ACTIONRETVAL) != 0) return 3;
  qsort(g_lines, g_count, sizeof *g_lines, cmp);
  FILE* f = fopen(g_out, "w");
  if (!f) return 4;
  for (size_t i = 0; i < g_count; ++i) fprintf(f, "%s\n", g_lines[i]);
  fclose(f);
  printf("tree_report: %zu entries\n", g_count);
  return 0;
}
