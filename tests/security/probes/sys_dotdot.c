// Class 1, mapped prefixes: `..` after /sys must not reach the host's /.
#include "escape_ops.h"

int main(void) {
  p_start();
  T();
  escape_matrix("sys/..", "/sys/..");
  escape_reads("sys/fs/../..", "/sys/fs/../..");
  escape_reads("sys/kernel/../..", "/sys/kernel/../..");
  // lo is a symlink into /sys/devices: `..` from there walks the physical path.
  escape_reads("sys/class/net/lo/..x8", "/sys/class/net/lo/../../../../../../../..");
  escape_reads("sys/fs/cgroup/../../..", "/sys/fs/cgroup/../../..");
  p_end();
}
