#include "builder/sandbox/fake_creds.h"

#include <cerrno>

namespace ocibuild::sandbox {

FakeCreds FakeCreds::For(uint32_t uid, uint32_t gid, std::vector<uint32_t> groups) {
  FakeCreds c;
  c.ruid = c.euid = c.suid = c.fsuid = uid;
  c.rgid = c.egid = c.sgid = c.fsgid = gid;
  c.groups = std::move(groups);
  if (uid == 0) c.cap_eff = c.cap_prm = kAllCaps;
  return c;
}

void FakeCreds::OnExec() {
  keepcaps = false;
  if (euid == 0 || ruid == 0) {
    cap_prm = kAllCaps;
    cap_eff = euid == 0 ? kAllCaps : 0;
  } else {
    cap_prm = cap_eff = 0;
  }
}

int FakeCreds::SetCaps(uint64_t eff, uint64_t prm, uint64_t inh) {
  if ((prm & ~cap_prm) || (eff & ~prm)) return -EPERM;
  cap_eff = eff;
  cap_prm = prm;
  cap_inh = inh;
  return 0;
}

namespace {
bool OneOf(uint32_t v, uint32_t a, uint32_t b, uint32_t c) {
  return v == a || v == b || v == c;
}
constexpr int kCapSetgid = 6;
constexpr int kCapSetuid = 7;

// capabilities(7), "Effect of user ID changes on capabilities".
void FixCaps(FakeCreds* c, uint32_t old_r, uint32_t old_e, uint32_t old_s) {
  bool had_root = old_r == 0 || old_e == 0 || old_s == 0;
  if (had_root && c->ruid != 0 && c->euid != 0 && c->suid != 0) {
    if (!c->keepcaps) c->cap_prm = 0;
    c->cap_eff = 0;
  }
  if (old_e == 0 && c->euid != 0) c->cap_eff = 0;
  if (old_e != 0 && c->euid == 0) c->cap_eff = c->cap_prm;
}
}  // namespace

int FakeCreds::SetUid(uint32_t uid) {
  uint32_t o_r = ruid, o_e = euid, o_s = suid;
  if (uid == kKeep) return -EINVAL;
  if (HasCap(kCapSetuid)) {
    ruid = euid = suid = fsuid = uid;
    FixCaps(this, o_r, o_e, o_s);
    return 0;
  }
  if (uid != ruid && uid != suid) return -EPERM;
  euid = fsuid = uid;
  FixCaps(this, o_r, o_e, o_s);
  return 0;
}

int FakeCreds::SetGid(uint32_t gid) {
  if (gid == kKeep) return -EINVAL;
  if (HasCap(kCapSetgid)) {
    rgid = egid = sgid = fsgid = gid;
    return 0;
  }
  if (gid != rgid && gid != sgid) return -EPERM;
  egid = fsgid = gid;
  return 0;
}

int FakeCreds::SetReUid(uint32_t r, uint32_t e) {
  uint32_t o_r = ruid, o_e = euid, o_s = suid;
  if (!HasCap(kCapSetuid)) {
    if (r != kKeep && r != ruid && r != euid) return -EPERM;
    if (e != kKeep && !OneOf(e, ruid, euid, suid)) return -EPERM;
  }
  uint32_t old_ruid = ruid;
  if (r != kKeep) ruid = r;
  if (e != kKeep) euid = e;
  // credentials(7): the saved id follows the new effective id when the real id is set or the
  // effective id differs from the old real id.
  if (r != kKeep || (e != kKeep && e != old_ruid)) suid = euid;
  fsuid = euid;
  FixCaps(this, o_r, o_e, o_s);
  return 0;
}

int FakeCreds::SetReGid(uint32_t r, uint32_t e) {
  if (!HasCap(kCapSetgid)) {
    if (r != kKeep && r != rgid && r != egid) return -EPERM;
    if (e != kKeep && !OneOf(e, rgid, egid, sgid)) return -EPERM;
  }
  uint32_t old_rgid = rgid;
  if (r != kKeep) rgid = r;
  if (e != kKeep) egid = e;
  if (r != kKeep || (e != kKeep && e != old_rgid)) sgid = egid;
  fsgid = egid;
  return 0;
}

int FakeCreds::SetResUid(uint32_t r, uint32_t e, uint32_t s) {
  uint32_t o_r = ruid, o_e = euid, o_s = suid;
  if (!HasCap(kCapSetuid)) {
    for (uint32_t v : {r, e, s})
      if (v != kKeep && !OneOf(v, ruid, euid, suid)) return -EPERM;
  }
  if (r != kKeep) ruid = r;
  if (e != kKeep) euid = e;
  if (s != kKeep) suid = s;
  fsuid = euid;
  FixCaps(this, o_r, o_e, o_s);
  return 0;
}

int FakeCreds::SetResGid(uint32_t r, uint32_t e, uint32_t s) {
  if (!HasCap(kCapSetgid)) {
    for (uint32_t v : {r, e, s})
      if (v != kKeep && !OneOf(v, rgid, egid, sgid)) return -EPERM;
  }
  if (r != kKeep) rgid = r;
  if (e != kKeep) egid = e;
  if (s != kKeep) sgid = s;
  fsgid = egid;
  return 0;
}

uint32_t FakeCreds::SetFsUid(uint32_t uid) {
  uint32_t old = fsuid;
  if (uid != kKeep && (HasCap(kCapSetuid) || OneOf(uid, ruid, euid, suid) || uid == fsuid))
    fsuid = uid;
  return old;
}

uint32_t FakeCreds::SetFsGid(uint32_t gid) {
  uint32_t old = fsgid;
  if (gid != kKeep && (HasCap(kCapSetgid) || OneOf(gid, rgid, egid, sgid) || gid == fsgid))
    fsgid = gid;
  return old;
}

int FakeCreds::SetGroups(std::vector<uint32_t> list) {
  if (!HasCap(kCapSetgid)) return -EPERM;
  groups = std::move(list);
  return 0;
}

}  // namespace ocibuild::sandbox
