// Helpers shared by the integration tests that drive the real ocibuild binary.
#pragma once

#include <string>

namespace ocibuild::testing {

// The value of an environment variable, "" when unset (tests/test_main.cc sets the OCIBUILD_*
// paths).
std::string Env(const char* name);

// A statically linked busybox for FROM-scratch test images, "" when the machine has none
// (Debian's busybox-static; /usr/local/bin first, where container runs put one).
std::string Busybox();

}  // namespace ocibuild::testing
