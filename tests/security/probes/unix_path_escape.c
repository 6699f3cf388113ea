// Unix socket paths are paths too: bind/connect/sendto through mapped prefixes must not reach the
// host's sockets (ssh-agent, docker.sock, the harness's agent.sock), and addresses the kernel
// reports back (getsockname/getpeername/recvfrom) must not reveal host paths.
#include "escape_ops.h"

#define UP16 "/../../../../../../../../../../../../../../../.."

static void dgram_to(const char* label, const char* path) {
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof a.sun_path) return;
  strcpy(a.sun_path, path);
  ATT(sendto(s, "x", 1, 0, (struct sockaddr*)&a, sizeof a), "%s sendto(%s)", label, path);
  struct msghdr m;
  struct iovec iov = {(void*)"x", 1};
  memset(&m, 0, sizeof m);
  m.msg_name = &a;
  m.msg_namelen = sizeof a;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  ATT(sendmsg(s, &m, 0), "%s sendmsg(%s)", label, path);
  close(s);
}

int main(void) {
  p_start();
  T();
  mkdir("/tmp", 01777);
  // Control: a socket in the rootfs works, and the kernel's view of its name is the guest's.
  int srv = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a;
  memset(&a, 0, sizeof a);
  a.sun_family = AF_UNIX;
  strcpy(a.sun_path, "/tmp/ocib.sock");
  int ok = bind(srv, (struct sockaddr*)&a, sizeof a) == 0 && listen(srv, 4) == 0;
  int cli = socket(AF_UNIX, SOCK_STREAM, 0);
  ok = ok && connect(cli, (struct sockaddr*)&a, sizeof a) == 0;
  p_control(ok, "bind+connect /tmp/ocib.sock", "%s", p_err(errno));
  struct sockaddr_un got;
  socklen_t gl = sizeof got;
  memset(&got, 0, sizeof got);
  if (getsockname(srv, (struct sockaddr*)&got, &gl) == 0 && strcmp(got.sun_path, "/tmp/ocib.sock"))
    p_escape("getsockname revealed %s", got.sun_path);
  gl = sizeof got;
  memset(&got, 0, sizeof got);
  if (getpeername(cli, (struct sockaddr*)&got, &gl) == 0 && strcmp(got.sun_path, "/tmp/ocib.sock"))
    p_escape("getpeername revealed %s", got.sun_path);
  char fdl[PATH_MAX];
  ssize_t l = readlink(p_strf("/proc/self/fd/%d", srv), fdl, sizeof fdl - 1);
  if (l > 0) {
    fdl[l] = 0;
    p_line("ATTEMPT", "readlink(/proc/self/fd/<socket>) -> %s", fdl);
  }

  const char* prefixes[] = {"",        "/proc/self/root", "/proc/..",
                            "/dev/..", "/sys/..",         "/proc/self/cwd" UP16};
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; ++i) {
    const char* label = *prefixes[i] ? prefixes[i] : "plain host path";
    char* agent = hp(prefixes[i], "host/agent.sock");
    if (strlen(agent) < sizeof a.sun_path) try_unix_connect(label, agent, 0);
    dgram_to(label, hp(prefixes[i], "host/agent-dgram.sock"));
    char* mine = esc_name(prefixes[i], "bound");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un b;
    memset(&b, 0, sizeof b);
    b.sun_family = AF_UNIX;
    if (strlen(mine) < sizeof b.sun_path) {
      strcpy(b.sun_path, mine);
      ATT(bind(s, (struct sockaddr*)&b, sizeof b), "%s bind(%s)", label, mine);
    }
    close(s);
  }
  // A symlink in the rootfs pointing at the host socket's path.
  ATT(symlink(p_strf("/proc/self/root%s/host/agent.sock", T()), "/tmp/agent-link"),
      "symlink(/tmp/agent-link)");
  try_unix_connect("symlink to host socket", "/tmp/agent-link", 0);
  p_end();
}
