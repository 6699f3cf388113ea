// Per-user/host state: a SysV semaphore set of the harness (value 42): found by key, by id and by
// enumeration; the probe changes its value and removes it. Control: own set.
#include <sys/ipc.h>
#include <sys/sem.h>

#include "probe.h"

union semun {
  int val;
  struct semid_ds* buf;
  unsigned short* array;
  struct seminfo* __buf;
};

static void attack(const char* how, int id) {
  union semun u;
  u.val = 0;
  int v = semctl(id, 0, GETVAL, u);
  ATT(v, "%s semctl(%d, GETVAL)", how, id);
  u.val = 7;
  ATT(semctl(id, 0, SETVAL, u), "%s semctl(%d, SETVAL 7)", how, id);
  struct sembuf op = {0, 1, IPC_NOWAIT};
  ATT(semop(id, &op, 1), "%s semop(%d, +1)", how, id);
  ATT(semctl(id, 0, IPC_RMID, u), "%s semctl(%d, IPC_RMID)", how, id);
}

int main(void) {
  p_start();
  int own = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
  union semun u;
  u.val = 3;
  p_control(own >= 0 && semctl(own, 0, SETVAL, u) == 0 && semctl(own, 0, GETVAL, u) == 3 &&
                semctl(own, 0, IPC_RMID, u) == 0,
            "own SysV semaphore", "%s", p_err(errno));
  long key = hint_long("SEMKEY");
  if (key > 0) {
    int id = semget((key_t)key, 0, 0);
    ATT(id, "semget(key %#lx)", key);
    if (id >= 0) attack("by key", id);
  }
  long hid = hint_long("SEMID");
  if (hid >= 0) attack("by known id", (int)hid);
  struct seminfo info;
  u.__buf = &info;
  int max = semctl(0, 0, IPC_INFO, u);
  ATT(max, "semctl(IPC_INFO)");
  for (int i = 0; i <= max && i < 4096; ++i) {
    struct semid_ds ds;
    u.buf = &ds;
    int id = semctl(i, 0, SEM_STAT, u);
    if (id < 0) continue;
    ATT(id, "semctl(%d, SEM_STAT) key %#x", i, ds.sem_perm.__key);
    if (ds.sem_perm.__key == (key_t)key) attack("by enumeration", id);
  }
  p_end();
}
