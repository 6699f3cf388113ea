// Issue item 8: link()'s SOURCE must be confined too. A host file hardlinked into the rootfs is
// read by the step and ends up in the layer. Tried through every spelling, through /proc/<pid>/cwd
// of ocibuild (the workspace), and with linkat(AT_SYMLINK_FOLLOW) of /proc/self/fd/N.
#include "escape_ops.h"

#define UP16 "/../../../../../../../../../../../../../../../.."

static int seq;

static void steal(const char* label, const char* src, int flags) {
  char* dst = p_strf("/ocib-hardlink-%d", ++seq);
  if (ATT(linkat(AT_FDCWD, src, AT_FDCWD, dst, flags), "%s linkat(%s, %s, %#x)", label, src, dst,
          flags) == 0)
    try_read(label, dst);
}

int main(void) {
  p_start();
  T();
  if (chdir("/") != 0) return 1;
  int own = open("/ocib-own", O_CREAT | O_WRONLY, 0644);
  if (own >= 0) close(own);
  p_control(link("/ocib-own", "/ocib-own-link") == 0, "link inside the rootfs works", "%s",
            p_err(errno));
  const char* prefixes[] = {
      "/proc/self/root",       "/proc/..", "/sys/..", "/dev/..", "/proc/self/cwd" UP16,
      "/proc/thread-self/root"};
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; ++i) {
    steal(prefixes[i], hp(prefixes[i], "host/secret.txt"), 0);
    steal(prefixes[i], hp(prefixes[i], "host/secret.txt"), AT_SYMLINK_FOLLOW);
    const char* home = hint("HOME");
    if (home) steal(prefixes[i], p_strf("%s%s/.docker/config.json", prefixes[i], home), 0);
  }
  pid_t t[64];
  int n = read_targets(t, 64);
  for (int i = 0; i < n; ++i) {
    steal("proc/<pid>/cwd", p_strf("/proc/%d/cwd/.env", (int)t[i]), 0);
    steal("proc/<pid>/root", hp(p_strf("/proc/%d/root", (int)t[i]), "host/secret.txt"), 0);
  }
  // An fd on a host file, however obtained, relinked by its magic link.
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; ++i) {
    int fd = open(hp(prefixes[i], "host/secret.txt"), O_RDONLY);
    if (fd < 0) fd = open(hp(prefixes[i], "host/secret.txt"), O_PATH);
    if (fd < 0) continue;
    steal("proc/self/fd", p_strf("/proc/self/fd/%d", fd), AT_SYMLINK_FOLLOW);
    char* dst = p_strf("/ocib-hardlink-empty-%d", ++seq);
    if (ATT(linkat(fd, "", AT_FDCWD, dst, AT_EMPTY_PATH), "linkat(fd, \"\", AT_EMPTY_PATH)") == 0)
      try_read("AT_EMPTY_PATH", dst);
    close(fd);
  }
  p_end();
}
