#include "builder/sandbox/permissions.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>

namespace ocibuild::sandbox {
namespace {

constexpr int kCapDacOverride = 1;
constexpr int kCapDacReadSearch = 2;
constexpr int kCapFowner = 3;

}  // namespace

Who Who::Fs(const FakeCreds& c) {
  return Who{c.fsuid, c.fsgid, &c.groups, c.cap_eff};
}

Who Who::Real(const FakeCreds& c) {
  // As faccessat() builds its override credentials: real ids, and the permitted set as effective
  // for a real root, nothing otherwise.
  return Who{c.ruid, c.rgid, &c.groups, c.ruid == 0 ? c.cap_prm : 0};
}

bool Who::InGroup(uint32_t g) const {
  if (g == gid) return true;
  return groups && std::find(groups->begin(), groups->end(), g) != groups->end();
}

bool Who::Bypasses() const {
  return Cap(kCapDacOverride) && Cap(kCapDacReadSearch) && Cap(kCapFowner);
}

int Permission(const Who& who, const oci::FileMeta& m, int mask) {
  mask &= kMayRead | kMayWrite | kMayExec;
  uint32_t mode = m.mode;
  uint32_t bits;
  if (who.uid == m.uid) {
    bits = (mode >> 6) & 7;
  } else if (who.InGroup(m.gid)) {
    bits = (mode >> 3) & 7;
  } else {
    bits = mode & 7;
  }
  if ((mask & ~static_cast<int>(bits)) == 0) return 0;
  bool dir = S_ISDIR(mode);
  // Capability overrides, in the kernel's order.
  if (dir) {
    if (!(mask & kMayWrite) && who.Cap(kCapDacReadSearch)) return 0;
    if (who.Cap(kCapDacOverride)) return 0;
    return -EACCES;
  }
  if (who.Cap(kCapDacOverride)) {
    // Even root may only execute what somebody may execute.
    if (!(mask & kMayExec) || (mode & 0111)) return 0;
  }
  if (mask == kMayRead && who.Cap(kCapDacReadSearch)) return 0;
  return -EACCES;
}

int StickyCheck(const Who& who, const oci::FileMeta& dir, const oci::FileMeta& victim) {
  if (!(dir.mode & S_ISVTX)) return 0;
  if (who.uid == victim.uid || who.uid == dir.uid || who.Cap(kCapFowner)) return 0;
  return -EPERM;
}

int TimesCheck(const Who& who, const oci::FileMeta& m, bool explicit_times) {
  if (who.uid == m.uid || who.Cap(kCapFowner)) return 0;
  if (explicit_times) return -EPERM;
  return Permission(who, m, kMayWrite);
}

}  // namespace ocibuild::sandbox
