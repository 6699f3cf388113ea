// Per-user/host state: SysV shared memory is per IPC namespace. The harness made a 0600 segment
// holding a canary (key in the hints); the probe finds it by key, by the id it was told, and by
// enumerating ids (SHM_STAT), reads it, writes to it and removes it. Control: a segment of the
// step's own works (postgres initdb and friends need it).
#include <sys/ipc.h>
#include <sys/shm.h>

#include "probe.h"

static void attack(const char* how, int id) {
  char* p = shmat(id, NULL, 0);
  ATT(p == (void*)-1 ? -1 : 0, "%s shmat(%d)", how, id);
  if (p != (void*)-1) {
    p_loot(how, p, strnlen(p, 256));
    memcpy(p, "PWNED", 5);
    shmdt(p);
  }
  ATT(shmctl(id, IPC_RMID, NULL), "%s shmctl(%d, IPC_RMID)", how, id);
}

int main(void) {
  p_start();
  int own = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  char* p = own >= 0 ? shmat(own, NULL, 0) : (void*)-1;
  int ok = p != (void*)-1;
  if (ok) {
    strcpy(p, "own");
    shmdt(p);
  }
  p_control(ok && shmctl(own, IPC_RMID, NULL) == 0, "own SysV shm segment", "%s", p_err(errno));
  long key = hint_long("SHMKEY");
  if (key > 0) {
    int id = shmget((key_t)key, 0, 0);
    ATT(id, "shmget(key %#lx)", key);
    if (id >= 0) attack("by key", id);
  }
  long hid = hint_long("SHMID");
  if (hid >= 0) attack("by known id", (int)hid);
  struct shminfo info;
  int max = shmctl(0, IPC_INFO, (struct shmid_ds*)&info);
  ATT(max, "shmctl(IPC_INFO)");
  for (int i = 0; i <= max && i < 4096; ++i) {
    struct shmid_ds ds;
    int id = shmctl(i, SHM_STAT, &ds);
    if (id < 0) continue;
    ATT(id, "shmctl(%d, SHM_STAT) key %#x", i, ds.shm_perm.__key);
    if (ds.shm_perm.__key == (key_t)key) attack("by enumeration", id);
  }
  p_end();
}
