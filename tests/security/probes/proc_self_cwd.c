// Class 1, magic links: /proc/self/cwd followed by `..` (the cwd is the rootfs directory on the
// host, so `..` from it is the host's parent directory unless the walk is confined).
#include "escape_ops.h"

#define UP16 "/../../../../../../../../../../../../../../../.."

int main(void) {
  p_start();
  T();
  if (chdir("/") != 0) p_control(0, "chdir /", "%s", p_err(errno));
  char cwd[PATH_MAX];
  p_control(getcwd(cwd, sizeof cwd) && !strcmp(cwd, "/"), "getcwd is /", "%s", cwd);
  escape_matrix("proc/self/cwd/..", "/proc/self/cwd" UP16);
  escape_reads("proc/thread-self/cwd/..", "/proc/thread-self/cwd" UP16);
  mkdir("/tmp", 01777);
  if (chdir("/tmp") == 0) {
    escape_reads("cwd=/tmp proc/self/cwd/..", "/proc/self/cwd" UP16);
    escape_reads("cwd=/tmp proc/self/cwd/../..", "/proc/self/cwd/../..");
  }
  if (chdir("/") != 0) p_escape("cannot chdir back to /");
  p_end();
}
