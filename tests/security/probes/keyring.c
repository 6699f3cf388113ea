// Per-user kernel state: the user keyring (@u) and the session keyring are shared by every
// process of the uid. The harness put a canary key in @u; the probe searches, reads, adds keys
// (the harness checks that none with the nonce appears) and tries to join/replace keyrings.
#include <linux/keyctl.h>

#include "probe.h"

static long keyctl(int op, unsigned long a, unsigned long b, unsigned long c, unsigned long d) {
  return syscall(SYS_keyctl, op, a, b, c, d);
}

static void read_key(const char* what, long id) {
  char buf[4096];
  long n = keyctl(KEYCTL_DESCRIBE, (unsigned long)id, (unsigned long)buf, sizeof buf, 0);
  if (n > 0) p_loot(p_strf("%s describe %ld", what, id), buf, strnlen(buf, sizeof buf));
  n = keyctl(KEYCTL_READ, (unsigned long)id, (unsigned long)buf, sizeof buf, 0);
  ATT(n, "%s keyctl(READ, %ld)", what, id);
  if (n > 0)
    p_loot(p_strf("%s read %ld", what, id), buf, n > (long)sizeof buf ? sizeof buf : (size_t)n);
}

int main(void) {
  p_start();
  const char* desc = hint("KEYDESC");
  long ring[] = {KEY_SPEC_USER_KEYRING, KEY_SPEC_SESSION_KEYRING, KEY_SPEC_USER_SESSION_KEYRING,
                 KEY_SPEC_PROCESS_KEYRING, KEY_SPEC_THREAD_KEYRING};
  const char* names[] = {"@u", "@s", "@us", "@p", "@t"};
  for (int i = 0; i < 5; ++i) {
    long id = keyctl(KEYCTL_GET_KEYRING_ID, (unsigned long)ring[i], 0, 0, 0);
    ATT(id, "keyctl(GET_KEYRING_ID, %s)", names[i]);
    if (id < 0) continue;
    long ids[256];
    long n = keyctl(KEYCTL_READ, (unsigned long)id, (unsigned long)ids, sizeof ids, 0);
    ATT(n, "keyctl(READ keyring %s)", names[i]);
    for (long k = 0; k < n / (long)sizeof(long) && k < 256; ++k) read_key(names[i], ids[k]);
    if (desc) {
      long found =
          keyctl(KEYCTL_SEARCH, (unsigned long)id, (unsigned long)"user", (unsigned long)desc, 0);
      ATT(found, "keyctl(SEARCH %s, user:%s)", names[i], desc);
      if (found >= 0) read_key("search", found);
    }
  }
  if (desc) {
    long id = syscall(SYS_request_key, "user", desc, NULL, 0);
    ATT(id, "request_key(user, %s)", desc);
    if (id >= 0) read_key("request_key", id);
  }
  char* mine = p_strf("ocib-probe-key-%s", nonce());
  ATT(syscall(SYS_add_key, "user", mine, "planted", 7, KEY_SPEC_USER_KEYRING), "add_key(@u, %s)",
      mine);
  ATT(syscall(SYS_add_key, "user", mine, "planted", 7, KEY_SPEC_SESSION_KEYRING), "add_key(@s, %s)",
      mine);
  ATT(syscall(SYS_add_key, "keyring", p_strf("ocib-ring-%s", nonce()), NULL, 0,
              KEY_SPEC_USER_KEYRING),
      "add_key(keyring in @u)");
  ATT(keyctl(KEYCTL_JOIN_SESSION_KEYRING, 0, 0, 0, 0), "keyctl(JOIN_SESSION_KEYRING, anonymous)");
  p_end();
}
