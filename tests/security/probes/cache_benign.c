// The control of the cache tests: a well-behaved step that changes the shared files the ordinary
// way (append through the path, chmod, a user xattr through the path). The sandbox copies them up
// first, so the trusted build that follows must come out exactly as from a fresh state.
#include <sys/xattr.h>

#include "cache.h"

int main(void) {
  p_start();
  cache_open_targets();
  int fd = open("/data/file.txt", O_WRONLY | O_APPEND);
  p_control(fd >= 0 && write(fd, "appended\n", 9) == 9, "append to /data/file.txt", "%s",
            p_err(errno));
  if (fd >= 0) close(fd);
  p_control(chmod("/report", 0700) == 0, "chmod /report", "%s", p_err(errno));
  ATT(setxattr("/data/file.txt", "user.ocib-benign", "x", 1, 0), "setxattr(/data/file.txt)");
  cache_report();
  p_end();
}
