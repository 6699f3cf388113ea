// Test fixtures shared by the sandbox tests: busybox and Debian rootfs builders and a helper that
// runs a shell command in the sandbox and captures its output.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "builder/sandbox/sandbox.h"
#include "oci/metastore.h"
#include "util/fs.h"
#include "util/result.h"

namespace ocibuild::sandbox::testing {

struct Captured {
  int exit_code = -1;
  int term_signal = 0;
  std::string out;
  std::string err;
};

// A rootfs with /bin/busybox (static) and its applets as symlinks, /etc/passwd and /etc/group
// (root, app=1000, nobody), /tmp and /var/tmp (1777), and the static probe program at /probe.
Status MakeBusyboxRootfs(const std::string& dir);

// Extracts a tar (e.g. $OCIBUILD_DEBIAN_BASE) into dir as the current user, recording owners,
// modes the host cannot hold and device nodes in the metadata store, as the layer applier does.
Status ExtractRootfs(const std::string& tar, const std::string& dir);

// Runs argv in the sandbox with stdout/stderr captured.
Result<Captured> Run(const std::string& rootfs, const std::vector<std::string>& argv,
                     uint32_t uid = 0, uint32_t gid = 0,
                     const std::vector<std::string>& extra_env = {}, bool network = true);
// sh -c SCRIPT.
Result<Captured> Sh(const std::string& rootfs, const std::string& script, uint32_t uid = 0,
                    uint32_t gid = 0);

// The static probe program (tests/sandbox/probe.c), embedded in the test binary.
std::string_view ProbeBinary();

}  // namespace ocibuild::sandbox::testing
