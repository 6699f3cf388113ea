// Information leak (no hints given): what the step learns about the host from its own /proc
// entries, the mount table, the socket table, the parent's cmdline, getcwd and the aux vector.
// The harness checks that no host path of the test (workspace, state root, rootfs) appears.
#include <sys/auxv.h>

#include "probe.h"

static void dump(const char* path) {
  static char buf[1 << 18];
  ssize_t r = read_path(path, buf, sizeof buf);
  ATT(r, "read(%s)", path);
  if (r <= 0) return;
  char* line = buf;
  int lines = 0;
  while (line && *line && lines < 400) {
    char* next = strchr(line, '\n');
    if (next) *next++ = 0;
    for (char* c = line; *c; ++c)
      if (!*c) *c = ' ';
    p_loot(path, line, strlen(line));
    line = next;
    ++lines;
  }
}

static void link_of(const char* path) {
  char l[PATH_MAX];
  ssize_t n = readlink(path, l, sizeof l - 1);
  ATT(n, "readlink(%s)", path);
  if (n > 0) p_loot(path, l, (size_t)n);
}

int main(void) {
  p_start();
  char cwd[PATH_MAX];
  p_control(getcwd(cwd, sizeof cwd) != NULL, "getcwd", "%s", cwd);
  p_loot("getcwd", cwd, strlen(cwd));
  const char* files[] = {"/proc/mounts",       "/proc/self/mountinfo",    "/proc/self/maps",
                         "/proc/self/cgroup",  "/proc/self/status",       "/proc/self/stat",
                         "/proc/self/environ", "/proc/net/unix",          "/proc/self/mountstats",
                         "/proc/locks",        "/proc/self/smaps_rollup", "/proc/self/numa_maps"};
  for (size_t i = 0; i < sizeof files / sizeof *files; ++i) dump(files[i]);
  dump(p_strf("/proc/%d/cmdline", (int)getppid()));
  dump(p_strf("/proc/%d/environ", (int)getppid()));
  link_of("/proc/self/exe");
  link_of("/proc/self/cwd");
  link_of("/proc/self/root");
  link_of(p_strf("/proc/%d/cwd", (int)getppid()));
  link_of(p_strf("/proc/%d/exe", (int)getppid()));
  DIR* d = opendir("/proc/self/fd");
  if (d) {
    struct dirent* e;
    while ((e = readdir(d)))
      if (e->d_name[0] != '.') link_of(p_strf("/proc/self/fd/%s", e->d_name));
    closedir(d);
  }
  d = opendir("/proc/self/map_files");
  if (d) {
    struct dirent* e;
    while ((e = readdir(d)))
      if (e->d_name[0] != '.') link_of(p_strf("/proc/self/map_files/%s", e->d_name));
    closedir(d);
  }
  const char* execfn = (const char*)getauxval(AT_EXECFN);
  if (execfn) p_loot("AT_EXECFN", execfn, strlen(execfn));
  p_line("SEEN-PID", "%d", (int)getppid());
  p_end();
}
