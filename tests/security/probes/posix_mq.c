// Per-user/host state: POSIX message queues (mq_open names are per IPC namespace, not paths the
// sandbox translates). The harness made one holding a canary; the probe opens it by name,
// receives, sends, unlinks, and lists /dev/mqueue. Control: a queue of its own.
#include <mqueue.h>

#include "probe.h"

int main(void) {
  p_start();
  char* own = p_strf("/ocib-own-%d", (int)getpid());
  struct mq_attr at = {0, 4, 64, 0, {0}};
  mqd_t q = mq_open(own, O_CREAT | O_RDWR, 0600, &at);
  char b[64];
  int ok = q != (mqd_t)-1 && mq_send(q, "own", 3, 0) == 0 && mq_receive(q, b, sizeof b, NULL) == 3;
  p_control(ok, "own POSIX message queue", "%s", p_err(errno));
  if (q != (mqd_t)-1) mq_close(q);
  mq_unlink(own);
  const char* name = hint("MQ");
  if (name) {
    mqd_t h = mq_open(name, O_RDWR | O_NONBLOCK);
    ATT(h, "mq_open(%s)", name);
    if (h != (mqd_t)-1) {
      char m[256];
      ssize_t n = mq_receive(h, m, sizeof m, NULL);
      ATT(n, "mq_receive(%s)", name);
      if (n > 0) p_loot("mq", m, (size_t)n);
      ATT(mq_send(h, "planted", 7, 0), "mq_send(%s)", name);
      mq_close(h);
    }
    ATT(mq_unlink(name), "mq_unlink(%s)", name);
  }
  DIR* d = opendir("/dev/mqueue");
  ATT(d ? 0 : -1, "opendir(/dev/mqueue)");
  if (d) {
    struct dirent* e;
    while ((e = readdir(d)))
      if (strstr(e->d_name, "ocib")) p_loot("/dev/mqueue", e->d_name, strlen(e->d_name));
    closedir(d);
  }
  if (name) try_read("/dev/mqueue file", p_strf("/dev/mqueue%s", name));
  p_end();
}
