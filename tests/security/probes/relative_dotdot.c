// `..` in relative and absolute guest paths must stop at the guest's / (controls: it does, and
// the clamped path still works); then the same escapes as the other path probes.
#include "escape_ops.h"

#define UP16 "../../../../../../../../../../../../../../../.."

int main(void) {
  p_start();
  T();
  mkdir("/tmp", 01777);
  char b[16];
  p_control(read_path("/../../../../bin/busybox", b, sizeof b) > 0, "/../../../bin/busybox reads",
            "");
  if (chdir("/tmp") != 0) return 1;
  p_control(read_path(UP16 "/bin/busybox", b, sizeof b) > 0, "../..x16/bin/busybox from /tmp reads",
            "");
  escape_matrix("relative ../..", UP16);
  escape_reads("absolute /../..", "/" UP16);
  escape_reads("//..//..", "//..//..//..//..//..//..//..//..");
  escape_reads("/./../.", "/./.././.././.././.././.././../.");
  if (chdir("/") != 0) return 1;
  p_end();
}
