// Helpers shared by the integration tests that drive the real ocibuild binary.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "util/subprocess.h"

namespace ocibuild::testing {

// The value of an environment variable, "" when unset (tests/test_main.cc sets the OCIBUILD_*
// paths).
std::string Env(const char* name);

// A statically linked busybox for FROM-scratch test images, "" when the machine has none
// (Debian's busybox-static; /usr/local/bin first, where container runs put one).
std::string Busybox();

// Runs a command to completion with extra environment variables; a failure to start it fails
// the calling test (an empty result is returned then).
ProcessResult Exec(const std::vector<std::string>& argv,
                   std::map<std::string, std::string> env = {});

}  // namespace ocibuild::testing
