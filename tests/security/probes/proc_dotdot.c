// Class 1, mapped prefixes: `..` after /proc must not leave the guest's /proc for the host's /.
#include "escape_ops.h"

int main(void) {
  p_start();
  T();
  char buf[256];
  p_control(read_path("/proc/self/status", buf, sizeof buf) > 0, "read /proc/self/status", "");
  p_control(read_path("/proc/self/../self/status", buf, sizeof buf) > 0,
            "read /proc/self/../self/status", "");
  escape_matrix("proc/..", "/proc/..");
  escape_matrix("proc/self/../..", "/proc/self/../..");
  escape_reads("proc/sys/../..", "/proc/sys/../..");
  escape_reads("proc/net/../../..", "/proc/net/../../..");
  escape_reads("proc/self/task/../../..", "/proc/self/task/../../..");
  p_end();
}
