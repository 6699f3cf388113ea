// Per-user/host state: a SysV message queue of the harness holding one canary message: found by
// key, id and enumeration; the probe receives (steals) it, sends one and removes the queue.
// Control: own queue.
#include <sys/ipc.h>
#include <sys/msg.h>

#include "probe.h"

struct msg {
  long type;
  char text[256];
};

static void attack(const char* how, int id) {
  struct msg m;
  memset(&m, 0, sizeof m);
  ssize_t n = msgrcv(id, &m, sizeof m.text, 0, IPC_NOWAIT);
  ATT(n, "%s msgrcv(%d)", how, id);
  if (n > 0) p_loot(how, m.text, (size_t)n);
  m.type = 1;
  strcpy(m.text, "planted");
  ATT(msgsnd(id, &m, 8, IPC_NOWAIT), "%s msgsnd(%d)", how, id);
  ATT(msgctl(id, IPC_RMID, NULL), "%s msgctl(%d, IPC_RMID)", how, id);
}

int main(void) {
  p_start();
  int own = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  struct msg m = {1, "own"};
  struct msg r;
  p_control(own >= 0 && msgsnd(own, &m, 4, 0) == 0 && msgrcv(own, &r, sizeof r.text, 0, 0) == 4 &&
                msgctl(own, IPC_RMID, NULL) == 0,
            "own SysV message queue", "%s", p_err(errno));
  long key = hint_long("MSGKEY");
  if (key > 0) {
    int id = msgget((key_t)key, 0);
    ATT(id, "msgget(key %#lx)", key);
    if (id >= 0) attack("by key", id);
  }
  long hid = hint_long("MSGID");
  if (hid >= 0) attack("by known id", (int)hid);
  struct msginfo info;
  int max = msgctl(0, IPC_INFO, (struct msqid_ds*)&info);
  ATT(max, "msgctl(IPC_INFO)");
  for (int i = 0; i <= max && i < 4096; ++i) {
    struct msqid_ds ds;
    int id = msgctl(i, MSG_STAT, &ds);
    if (id < 0) continue;
    ATT(id, "msgctl(%d, MSG_STAT) key %#x", i, ds.msg_perm.__key);
    if (ds.msg_perm.__key == (key_t)key) attack("by enumeration", id);
  }
  p_end();
}
