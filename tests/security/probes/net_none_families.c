// --network=none, every address family: socket() for each family and type. Any socket of a
// family that can carry traffic off the machine or to other local services (everything but
// AF_UNIX, AF_NETLINK and AF_ALG) is an escape; AF_VSOCK even reaches the hypervisor.
#include "probe.h"

int main(void) {
  p_start();
  int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET, SOCK_RDM};
  for (int fam = 0; fam < 50; ++fam) {
    for (size_t t = 0; t < sizeof types / sizeof *types; ++t) {
      int s = socket(fam, types[t] | SOCK_CLOEXEC, 0);
      if (s < 0) {
        if (errno != EAFNOSUPPORT && errno != EINVAL && errno != EPROTONOSUPPORT &&
            errno != ESOCKTNOSUPPORT && errno != EPROTOTYPE)
          ATT(s, "socket(%d, %d)", fam, types[t]);
        continue;
      }
      ATT(s, "socket(%d, %d)", fam, types[t]);
      close(s);
      if (fam != AF_UNIX && fam != AF_NETLINK && fam != AF_ALG)
        p_escape("socket family %d type %d under --network=none", fam, types[t]);
    }
  }
  ATT(socket(AF_INET, SOCK_STREAM, 0), "socket(AF_INET, STREAM) (summary)");
  p_end();
}
