/* Prints a greeting, its arguments and a checksum of them: a small program with some logic. */
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

static uint32_t fnv1a(const char *s, uint32_t h) {
  for (; *s; ++s) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

int main(int argc, char **argv) {
  uint32_t h = 2166136261u;
  for (int i = 1; i < argc; ++i) h = fnv1a(argv[i], h);
  printf("Hello from C, built with gcc %d.%d, %d argument(s), fnv1a %08x, uid %d\n", __GNUC__,
         __GNUC_MINOR__, argc - 1, (unsigned)h, (int)getuid());
  return 0;
}
