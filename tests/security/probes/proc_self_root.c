// Class 1, magic links: /proc/self/root (and its thread, pid and task spellings) must lead to the
// guest's /, never the host's.
#include "escape_ops.h"

int main(void) {
  p_start();
  T();
  struct stat a, b;
  p_control(stat("/proc/self/root/bin/busybox", &a) == 0 && stat("/bin/busybox", &b) == 0 &&
                a.st_ino == b.st_ino,
            "/proc/self/root/bin/busybox is the guest's busybox", "");
  escape_matrix("proc/self/root", "/proc/self/root");
  escape_reads("proc/thread-self/root", "/proc/thread-self/root");
  escape_reads("proc/<pid>/root", p_strf("/proc/%d/root", (int)getpid()));
  escape_reads("proc/<pid>/task/<tid>/root",
               p_strf("/proc/%d/task/%d/root", (int)getpid(), (int)gettid()));
  escape_reads("proc/self/root/..", "/proc/self/root/../../..");
  p_end();
}
