#include "tests/integration/integration_testing.h"

#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

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

ProcessResult Exec(const std::vector<std::string>& argv, std::map<std::string, std::string> env) {
  SpawnOptions o;
  o.extra_env = std::move(env);
  auto r = RunProcess(argv, o);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : ProcessResult{};
}

}  // namespace ocibuild::testing
