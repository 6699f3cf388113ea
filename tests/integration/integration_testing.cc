#include "tests/integration/integration_testing.h"

#include <unistd.h>

#include <cstdlib>

namespace ocibuild::testing {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string Busybox() {
  for (const char* p : {"/usr/local/bin/busybox", "/bin/busybox", "/usr/bin/busybox"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

}  // namespace ocibuild::testing
