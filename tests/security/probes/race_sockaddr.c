// Class 3 for socket addresses: connect()/sendto()/sendmsg() while a thread flips the sockaddr_un
// between an in-root socket (a listener of the probe's own) and (a) the host path of the harness's
// agent socket, (b) the harness's abstract socket. The harness's listeners count connections.
#include "probe.h"

static struct sockaddr_un addr, in_root, host_path, abstract;
static socklen_t len_in_root, len_host, len_abs;
static volatile int stop, target;

static void* flipper(void* arg) {
  (void)arg;
  while (!stop) {
    memcpy(&addr, &in_root, sizeof addr);
    memcpy(&addr, target ? &abstract : &host_path, sizeof addr);
  }
  return NULL;
}

static void mk(struct sockaddr_un* a, socklen_t* len, const char* path, int abs) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  if (abs) {
    size_t l = strlen(path);
    memcpy(a->sun_path + 1, path, l);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + l);
  } else {
    snprintf(a->sun_path, sizeof a->sun_path, "%s", path);
    *len = sizeof *a;
  }
}

int main(void) {
  p_start();
  mkdir("/tmp", 01777);
  mk(&in_root, &len_in_root, "/tmp/ocib-race.sock", 0);
  mk(&host_path, &len_host, p_strf("%s/host/agent.sock", T()), 0);
  const char* abs_name = hint("ABSTRACT");
  mk(&abstract, &len_abs, abs_name ? abs_name : "ocib-none", 1);
  int srv = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  unlink("/tmp/ocib-race.sock");
  p_control(bind(srv, (struct sockaddr*)&in_root, len_in_root) == 0 && listen(srv, 1024) == 0,
            "own listener", "%s", p_err(errno));
  int dsrv = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_un din;
  socklen_t dlen;
  mk(&din, &dlen, "/tmp/ocib-race-dgram.sock", 0);
  unlink("/tmp/ocib-race-dgram.sock");
  bind(dsrv, (struct sockaddr*)&din, dlen);
  for (target = 0; target < 2; ++target) {
    long tries = 0, connected_out = 0;
    stop = 0;
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    double end = now_s() + 1.2;
    while (now_s() < end) {
      ++tries;
      int s = socket(AF_UNIX, SOCK_STREAM, 0);
      if (connect(s, (struct sockaddr*)&addr, target ? len_abs : len_host) == 0) {
        struct sockaddr_un peer;
        socklen_t pl = sizeof peer;
        memset(&peer, 0, sizeof peer);
        getpeername(s, (struct sockaddr*)&peer, &pl);
        if (strcmp(peer.sun_path, "/tmp/ocib-race.sock") != 0) {
          ++connected_out;
          char b[128];
          struct timeval tv = {0, 200000};
          setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
          ssize_t n = read(s, b, sizeof b);
          if (n > 0) p_loot("race connect", b, (size_t)n);
        }
      }
      close(s);
      int c;
      while ((c = accept(srv, NULL, NULL)) >= 0) close(c);
      int d = socket(AF_UNIX, SOCK_DGRAM, 0);
      sendto(d, "ocib-race", 9, 0, (struct sockaddr*)&addr, target ? len_abs : len_host);
      struct iovec iov = {(void*)"ocib-race", 9};
      struct msghdr m;
      memset(&m, 0, sizeof m);
      m.msg_name = &addr;
      m.msg_namelen = target ? len_abs : len_host;
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      sendmsg(d, &m, 0);
      close(d);
      char junk[64];
      while (recv(dsrv, junk, sizeof junk, MSG_DONTWAIT) > 0) {
      }
    }
    stop = 1;
    pthread_join(t, NULL);
    p_attemptf(connected_out ? 0 : -1, "sockaddr flip to %s: %ld tries, %ld out",
               target ? "abstract" : "host path", tries, connected_out);
  }
  p_end();
}
