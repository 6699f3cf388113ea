// Per-process fake credentials: what get*id/set*id/setgroups/capget see inside the sandbox. The
// rules follow credentials(7) closely enough for su, runuser, setpriv, gosu and apt's _apt drop
// (which checks that setuid(0) fails afterwards). Privilege = fake euid 0.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace ocibuild::sandbox {

struct FakeCreds {
  uint32_t ruid = 0, euid = 0, suid = 0, fsuid = 0;
  uint32_t rgid = 0, egid = 0, sgid = 0, fsgid = 0;
  std::vector<uint32_t> groups;

  static FakeCreds For(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups);
  bool privileged() const { return euid == 0; }

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
