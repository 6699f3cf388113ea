// Test fixtures shared by the sandbox tests: busybox and Debian rootfs builders and a helper that
// runs a shell command in the sandbox and captures its output.
#pragma once

#include <cstdint>
#include <map>
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
  int peak_handling = 0;         // RunResult::peak_handling
  uint64_t restarted_calls = 0;  // RunResult::restarted_calls
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
// Runs `spec` (its rootfs, argv, ids and options) with stdout/stderr captured.
Result<Captured> Run(RunSpec spec);
// sh -c SCRIPT.
Result<Captured> Sh(const std::string& rootfs, const std::string& script, uint32_t uid = 0,
                    uint32_t gid = 0);

// The static probe program (tests/sandbox/probe.c), embedded in the test binary.
std::string_view ProbeBinary();

// The reference for a RUN step: unpacks `tar` into `dir` with real owners (needs root) and runs
// `script` with bash in a real chroot there (own mount namespace, /proc mounted).
Result<Captured> RunInRootChroot(const std::string& tar, const std::string& dir,
                                 const std::string& script);

// Owner, mode, device number and file capability of a file as an image would record it.
struct FileInfo {
  uint32_t uid = 0, gid = 0, mode = 0;
  uint64_t rdev = 0;
  std::string cap;
  bool operator==(const FileInfo&) const = default;
};
std::string Describe(const FileInfo& m);

// Every file under root by guest path, as the image sees it: with a store, the store's word
// (else root:root + host mode); without, the host's owners. Volatile trees (/proc, /sys, /tmp,
// /var/log, /var/cache, apt lists) are left out.
std::map<std::string, FileInfo> WalkMeta(const std::string& root, const oci::MetaStore* store);

// Compares the files both walks have, adding a test failure per difference (the first 25
// named); returns how many were compared.
int CompareMeta(const std::map<std::string, FileInfo>& want,
                const std::map<std::string, FileInfo>& got);

}  // namespace ocibuild::sandbox::testing
