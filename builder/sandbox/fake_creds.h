// Per-process fake credentials: what get*id/set*id/setgroups/capget see inside the sandbox. The
// rules follow credentials(7) closely enough for su, runuser, setpriv, gosu and apt's _apt drop
// (which checks that setuid(0) fails afterwards). Capabilities follow capabilities(7) for uid
// transitions, PR_SET_KEEPCAPS and capset, so setpriv's keep-caps dance works too.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace ocibuild::sandbox {

struct FakeCreds {
  uint32_t ruid = 0, euid = 0, suid = 0, fsuid = 0;
  uint32_t rgid = 0, egid = 0, sgid = 0, fsgid = 0;
  std::vector<uint32_t> groups;
  uint64_t cap_eff = 0, cap_prm = 0, cap_inh = 0;
  bool keepcaps = false;

  // All capabilities up to CAP_CHECKPOINT_RESTORE (40), as a container's root has.
  static constexpr uint64_t kAllCaps = (uint64_t{1} << 41) - 1;
  static FakeCreds For(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups);
  bool HasCap(int cap) const { return (cap_eff >> cap) & 1; }
  // File-ownership privilege (CAP_CHOWN/CAP_FOWNER/CAP_MKNOD...): fake root.
  bool privileged() const { return HasCap(0 /*CAP_CHOWN*/); }
  // Capabilities after execve (no file capabilities, no ambient set).
  void OnExec();
  // capset(2) semantics; 0 or -EPERM.
  int SetCaps(uint64_t eff, uint64_t prm, uint64_t inh);

  // Each returns 0 or -errno, like the syscall. kKeep (-1) leaves an id unchanged.
  static constexpr uint32_t kKeep = static_cast<uint32_t>(-1);
  int SetUid(uint32_t uid);
  int SetGid(uint32_t gid);
  int SetReUid(uint32_t r, uint32_t e);
  int SetReGid(uint32_t r, uint32_t e);
  int SetResUid(uint32_t r, uint32_t e, uint32_t s);
  int SetResGid(uint32_t r, uint32_t e, uint32_t s);
  // Returns the previous fsuid/fsgid, as the syscalls do.
  uint32_t SetFsUid(uint32_t uid);
  uint32_t SetFsGid(uint32_t gid);
  int SetGroups(std::vector<uint32_t> list);
};

}  // namespace ocibuild::sandbox
