// Watching host files: inotify through mapped prefixes, and fanotify (a filesystem-wide mark would
// see every open on the host's disk).
#include <sys/fanotify.h>

#include "escape_ops.h"

int main(void) {
  p_start();
  T();
  mkdir("/tmp", 01777);
  int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  p_control(in >= 0 && inotify_add_watch(in, "/tmp", IN_ALL_EVENTS) >= 0,
            "inotify watch on the guest's /tmp", "%s", p_err(errno));
  const char* prefixes[] = {"/proc/self/root", "/proc/..", "/dev/..", "/sys/..",
                            "/proc/self/cwd/../../../../../../../../../../../../../../../.."};
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; ++i) {
    char* dir = hp(prefixes[i], "host");
    if (ATT(inotify_add_watch(in, dir, IN_ALL_EVENTS), "inotify_add_watch(%s)", dir) >= 0)
      p_escape("inotify watch on host directory %s", dir);
    const char* home = hint("HOME");
    if (home) {
      char* h = p_strf("%s%s/.docker", prefixes[i], home);
      if (ATT(inotify_add_watch(in, h, IN_ALL_EVENTS), "inotify_add_watch(%s)", h) >= 0)
        p_escape("inotify watch on host directory %s", h);
    }
  }
  int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID, O_RDONLY);
  ATT(fan, "fanotify_init(FAN_REPORT_FID)");
  int fan2 = fanotify_init(FAN_CLASS_NOTIF, O_RDONLY);
  ATT(fan2, "fanotify_init(FAN_CLASS_NOTIF)");
  for (int f = 0; f < 2; ++f) {
    int fd = f ? fan2 : fan;
    if (fd < 0) continue;
    if (ATT(fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN, AT_FDCWD, "/"),
            "fanotify_mark(FILESYSTEM of /)") == 0)
      p_escape("fanotify mark on the whole filesystem");
    if (ATT(fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN, AT_FDCWD, "/"),
            "fanotify_mark(MOUNT of /)") == 0)
      p_escape("fanotify mark on the mount");
    char* dir = hp("/proc/self/root", "host");
    if (ATT(fanotify_mark(fd, FAN_MARK_ADD, FAN_OPEN | FAN_EVENT_ON_CHILD, AT_FDCWD, dir),
            "fanotify_mark(%s)", dir) == 0)
      p_escape("fanotify mark on host directory %s", dir);
    dir = p_strf("%s/host", T());
    if (ATT(fanotify_mark(fd, FAN_MARK_ADD, FAN_OPEN | FAN_EVENT_ON_CHILD, AT_FDCWD, dir),
            "fanotify_mark(%s)", dir) == 0)
      p_escape("fanotify mark on host directory %s", dir);
  }
  p_end();
}
