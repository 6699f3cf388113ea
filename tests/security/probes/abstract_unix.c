// Per-user/host state: abstract unix sockets live in the network namespace, not the filesystem,
// so path translation never sees them. The harness listens on an abstract stream and datagram
// socket (and counts); the probe connects, sends, scans /proc/net/unix for names, squats a name
// the harness watches for, and autobinds. Control: two processes of the step talk over an
// abstract socket of their own (real builds do this).
#include "probe.h"

static socklen_t mkabs(struct sockaddr_un* a, const char* name) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  size_t l = strlen(name);
  memcpy(a->sun_path + 1, name, l);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l);
}

int main(void) {
  p_start();
  // Control: parent listens, child connects, they exchange a message.
  char* ctl = p_strf("ocib-ctl-%s-%d", nonce(), (int)getpid());
  struct sockaddr_un a;
  socklen_t len = mkabs(&a, ctl);
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  int ok = bind(srv, (struct sockaddr*)&a, len) == 0 && listen(srv, 1) == 0;
  pid_t c = fork();
  if (c == 0) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr*)&a, len) == 0 && write(s, "ping", 4) == 4) _exit(0);
    _exit(1);
  }
  char b[8] = "";
  int cs = ok ? accept(srv, NULL, NULL) : -1;
  ok = cs >= 0 && read(cs, b, 4) == 4 && !memcmp(b, "ping", 4);
  int st = 0;
  waitpid(c, &st, 0);
  p_control(ok && WIFEXITED(st) && WEXITSTATUS(st) == 0,
            "abstract socket between two step processes", "%s", p_err(errno));
  close(srv);

  const char* name = hint("ABSTRACT");
  if (name) {
    try_unix_connect("abstract stream", name, 1);
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    char* dg = p_strf("%s-dgram", name);
    len = mkabs(&a, dg);
    ATT(sendto(d, "ocib-probe", 10, 0, (struct sockaddr*)&a, len), "sendto(@%s)", dg);
    ATT(connect(d, (struct sockaddr*)&a, len), "connect(dgram @%s)", dg);
    close(d);
  }
  // Names the host has: /proc/net/unix.
  static char buf[1 << 18];
  ssize_t r = read_path("/proc/net/unix", buf, sizeof buf);
  ATT(r, "read(/proc/net/unix)");
  int tried = 0;
  if (r > 0) {
    char* line = buf;
    while (line && *line) {
      char* next = strchr(line, '\n');
      if (next) *next++ = 0;
      char* at = strstr(line, " @");
      if (at && strstr(at, "ocib") && !strstr(at, "ocib-ctl-") && tried < 8) {
        ++tried;
        try_unix_connect("abstract from /proc/net/unix", at + 2, 1);
      }
      line = next;
    }
  }
  // Squat: hold a name the harness watches for (a host process could be fooled into using it).
  char* squat = p_strf("ocib-squat-%s", nonce());
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  len = mkabs(&a, squat);
  if (ATT(bind(s, (struct sockaddr*)&a, len), "bind(@%s)", squat) == 0) {
    listen(s, 1);
    usleep(1500000);
  }
  close(s);
  s = socket(AF_UNIX, SOCK_STREAM, 0);
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  ATT(bind(s, (struct sockaddr*)&a, sizeof(sa_family_t)), "bind(autobind)");
  close(s);
  p_end();
}
