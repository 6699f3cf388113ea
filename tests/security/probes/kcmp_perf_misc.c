// Class 4, the rest of the calls that name another process: kcmp, perf_event_open on it,
// get_robust_list, move_pages, migrate_pages, process_madvise, pidfd-based waitid. Each one that
// succeeds on a process outside the step is an escape (they leak or change its state).
#include <linux/perf_event.h>
#include <sys/uio.h>

#include "probe.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif

int main(void) {
  p_start();
  pid_t c = fork();
  if (c == 0) {
    pause();
    _exit(0);
  }
  ATT(syscall(SYS_kcmp, getpid(), c, 0 /*KCMP_FILE*/, 1, 1), "kcmp(self, own child)");
  kill(c, SIGKILL);
  waitpid(c, NULL, 0);
  pid_t t[64];
  int n = targets(t, 64);
  for (int i = 0; i < n; ++i) {
    pid_t p = t[i];
    if (ATT(syscall(SYS_kcmp, getpid(), p, 0 /*KCMP_FILE*/, 1, 1), "kcmp(self, %d, FILE)",
            (int)p) >= 0)
      p_escape("kcmp compared with pid %d", (int)p);
    if (ATT(syscall(SYS_kcmp, p, p, 5 /*KCMP_VM*/, 0, 0), "kcmp(%d, %d, VM)", (int)p, (int)p) >= 0)
      p_escape("kcmp on pid %d", (int)p);
    struct perf_event_attr pa;
    memset(&pa, 0, sizeof pa);
    pa.size = sizeof pa;
    pa.type = PERF_TYPE_SOFTWARE;
    pa.config = PERF_COUNT_SW_TASK_CLOCK;
    pa.exclude_kernel = 1;
    int pe = (int)syscall(SYS_perf_event_open, &pa, p, -1, -1, 0);
    if (ATT(pe, "perf_event_open(pid %d)", (int)p) >= 0) {
      p_escape("perf_event_open on pid %d", (int)p);
      close(pe);
    }
    void* head;
    size_t len;
    if (ATT(syscall(SYS_get_robust_list, p, &head, &len), "get_robust_list(%d)", (int)p) == 0)
      p_escape("get_robust_list of pid %d: %p", (int)p, head);
    void* pages[1] = {(void*)0x400000};
    int status[1];
    if (ATT(syscall(SYS_move_pages, p, 1, pages, NULL, status, 0), "move_pages(%d, query)",
            (int)p) == 0)
      p_escape("move_pages queried pid %d", (int)p);
    unsigned long mask = 1;
    if (ATT(syscall(SYS_migrate_pages, p, 8 * sizeof mask, &mask, &mask), "migrate_pages(%d)",
            (int)p) >= 0)
      p_escape("migrate_pages on pid %d", (int)p);
    int pfd = (int)syscall(SYS_pidfd_open, p, 0);
    if (pfd >= 0) {
      struct iovec iov = {(void*)0x400000, 4096};
      if (ATT(syscall(SYS_process_madvise, pfd, &iov, 1, 20 /*MADV_COLD*/, 0),
              "process_madvise(%d, MADV_COLD)", (int)p) >= 0)
        p_escape("process_madvise on pid %d", (int)p);
      siginfo_t si;
      ATT(waitid(P_PIDFD, (id_t)pfd, &si, WEXITED | WNOHANG), "waitid(P_PIDFD %d)", (int)p);
      close(pfd);
    }
  }
  p_end();
}
