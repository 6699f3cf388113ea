// Discretionary access control for the fake identity, the way the kernel's generic_permission()
// and may_delete() decide it, but against the owners and modes the image records (metadata
// store) instead of the host's: on the host the builder owns every file, so the host kernel would
// let `USER app` write root's files and would never deny fake root anything.
#pragma once

#include <cstdint>
#include <vector>

#include "builder/sandbox/fake_creds.h"
#include "oci/metastore.h"

namespace ocibuild::sandbox {

constexpr int kMayExec = 1;
constexpr int kMayWrite = 2;
constexpr int kMayRead = 4;

// The identity a permission check is made for.
struct Who {
  uint32_t uid = 0;
  uint32_t gid = 0;
  const std::vector<uint32_t>* groups = nullptr;
  uint64_t caps = 0;

  // Filesystem identity and effective capabilities: every path syscall.
  static Who Fs(const FakeCreds& c);
  // access()/faccessat() without AT_EACCESS: real ids; capabilities only when the real uid is 0.
  static Who Real(const FakeCreds& c);

  bool Cap(int cap) const { return (caps >> cap) & 1; }
  bool InGroup(uint32_t g) const;
  // CAP_DAC_OVERRIDE + CAP_DAC_READ_SEARCH + CAP_FOWNER: no read/write/search check can fail, so
  // the tracer skips them (exec still needs an x bit).
  bool Bypasses() const;
};

// 0 or -EACCES for `mask` (kMay*) on a file the image describes as `m` (type + mode + owner).
int Permission(const Who& who, const oci::FileMeta& m, int mask);

// Whether `who` may remove or rename away `victim` from directory `dir` once it may write the
// directory: the sticky-bit rule. 0 or -EPERM.
int StickyCheck(const Who& who, const oci::FileMeta& dir, const oci::FileMeta& victim);

// utimensat/utimes: setting explicit times needs ownership (else EPERM); setting "now" needs
// ownership or write permission (else EACCES). 0 or -errno.
int TimesCheck(const Who& who, const oci::FileMeta& m, bool explicit_times);

}  // namespace ocibuild::sandbox
