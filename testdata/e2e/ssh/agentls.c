/* Lists the identities of the ssh-agent at $SSH_AUTH_SOCK: "<count> <comment>...". Built
 * static by the e2e test and run inside RUN --mount=type=ssh. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int read_all(int fd, unsigned char *buf, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, buf, n);
    if (r <= 0) return -1;
    buf += r;
    n -= (size_t)r;
  }
  return 0;
}

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int main(void) {
  const char *path = getenv("SSH_AUTH_SOCK");
  if (!path) {
    fprintf(stderr, "SSH_AUTH_SOCK is not set\n");
    return 2;
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, path, sizeof sa.sun_path - 1);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    perror("connect");
    return 3;
  }
  /* SSH2_AGENTC_REQUEST_IDENTITIES: length 1, type 11. */
  const unsigned char req[5] = {0, 0, 0, 1, 11};
  if (write(fd, req, sizeof req) != (ssize_t)sizeof req) return 4;
  unsigned char hdr[4];
  if (read_all(fd, hdr, 4) != 0) return 5;
  uint32_t len = be32(hdr);
  if (len < 5 || len > (1u << 20)) return 6;
  unsigned char *msg = malloc(len);
  if (!msg || read_all(fd, msg, len) != 0) return 7;
  if (msg[0] != 12) { /* SSH2_AGENT_IDENTITIES_ANSWER */
    fprintf(stderr, "unexpected agent answer %d\n", msg[0]);
    return 8;
  }
  uint32_t count = be32(msg + 1), at = 5;
  printf("%u", count);
  for (uint32_t i = 0; i < count; ++i) {
    if (at + 4 > len) return 9;
    at += 4 + be32(msg + at); /* key blob */
    if (at + 4 > len) return 9;
    uint32_t clen = be32(msg + at);
    if (at + 4 + clen > len) return 9;
    printf(" %.*s", (int)clen, (const char *)msg + at + 4);
    at += 4 + clen;
  }
  printf("\n");
  return 0;
}
