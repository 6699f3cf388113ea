// Class 1, mapped prefixes: /dev and its sub-mounts (/dev/shm, /dev/pts, /dev/mqueue, /dev/fd).
#include "escape_ops.h"

int main(void) {
  p_start();
  T();
  int fd = open("/dev/null", O_RDWR);
  p_control(fd >= 0 && write(fd, "x", 1) == 1, "write /dev/null", "");
  if (fd >= 0) close(fd);
  char b[16];
  fd = open("/dev/urandom", O_RDONLY);
  p_control(fd >= 0 && read(fd, b, sizeof b) == sizeof b, "read /dev/urandom", "");
  if (fd >= 0) close(fd);
  escape_matrix("dev/..", "/dev/..");
  escape_matrix("dev/shm/../..", "/dev/shm/../..");
  escape_reads("dev/pts/../..", "/dev/pts/../..");
  escape_reads("dev/mqueue/../..", "/dev/mqueue/../..");
  escape_reads("dev/fd/../..", "/dev/fd/../../..");
  escape_reads("dev/./../dev/..", "/dev/./../dev/..");
  p_end();
}
