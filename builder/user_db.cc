#include "builder/user_db.h"

#include <charconv>

#include "util/strings.h"

namespace ocibuild::builder {
namespace {

std::optional<uint32_t> ParseId(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

UserDb UserDb::Parse(std::string_view passwd, std::string_view group) {
  UserDb db;
  for (const auto& line : Split(passwd, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto f = Split(line, ':');
    if (f.size() < 7) continue;
    auto uid = ParseId(f[2]), gid = ParseId(f[3]);
    if (!uid || !gid || f[0].empty()) continue;
    db.users_.push_back(PasswdEntry{f[0], *uid, *gid, f[5], f[6]});
  }
  for (const auto& line : Split(group, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    auto f = Split(line, ':');
    if (f.size() < 4) continue;
    auto gid = ParseId(f[2]);
    if (!gid || f[0].empty()) continue;
    GroupEntry g{f[0], *gid, {}};
    if (!f[3].empty()) g.members = Split(f[3], ',');
    db.groups_.push_back(std::move(g));
  }
  return db;
}

const PasswdEntry* UserDb::FindUser(std::string_view s) const {
  for (const auto& u : users_)
    if (u.name == s) return &u;
  if (auto id = ParseId(s)) {
    for (const auto& u : users_)
      if (u.uid == *id) return &u;
  }
  return nullptr;
}

const GroupEntry* UserDb::FindGroup(std::string_view s) const {
  for (const auto& g : groups_)
    if (g.name == s) return &g;
  if (auto id = ParseId(s)) {
    for (const auto& g : groups_)
      if (g.gid == *id) return &g;
  }
  return nullptr;
}

Result<UserDb::Identity> UserDb::ResolveUser(std::string_view spec) const {
  Identity id;
  if (spec.empty()) {
    // No USER: root, whether or not the image has an /etc/passwd (runc's defaults).
    if (const PasswdEntry* root = FindUser("0")) return ResolveUser(root->name);
    return id;
  }
  bool has_group = false;
  auto [user, group] = SplitOnce(spec, ':', &has_group);
  if (user.empty()) return Error{"invalid user \"" + std::string(spec) + "\": empty user name"};
  const PasswdEntry* pw = nullptr;
  if (auto num = ParseId(user)) {
    id.uid = *num;
    pw = FindUser(user);
    if (pw && pw->uid != *num) pw = nullptr;
  } else {
    pw = FindUser(user);
    if (!pw)
      return Error{"unable to find user " + user + ": no matching entries in passwd file"};
    id.uid = pw->uid;
  }
  if (pw) {
    id.gid = pw->gid;
    id.home = pw->home.empty() ? "/" : pw->home;
    id.name = pw->name;
  }
  if (has_group) {
    if (group.empty()) return Error{"invalid user \"" + std::string(spec) + "\": empty group name"};
    if (auto num = ParseId(group)) {
      id.gid = *num;
    } else {
      const GroupEntry* g = FindGroup(group);
      if (!g) return Error{"unable to find group " + group + ": no matching entries in group file"};
      id.gid = g->gid;
    }
  } else if (pw) {
    // Supplementary groups come from /etc/group membership, as initgroups() does.
    for (const auto& g : groups_) {
      for (const auto& m : g.members) {
        if (m == pw->name && g.gid != id.gid) {
          id.groups.push_back(g.gid);
          break;
        }
      }
    }
  }
  return id;
}

Result<std::pair<uint32_t, uint32_t>> UserDb::ResolveChown(std::string_view spec) const {
  bool has_group = false;
  auto [user, group] = SplitOnce(spec, ':', &has_group);
  if (user.empty()) return Error{"invalid --chown \"" + std::string(spec) + "\": empty user"};
  uint32_t uid, gid;
  if (auto num = ParseId(user)) {
    uid = *num;
  } else {
    const PasswdEntry* pw = FindUser(user);
    if (!pw)
      return Error{"invalid --chown \"" + std::string(spec) + "\": unable to find user " + user +
                   ": no matching entries in passwd file"};
    uid = pw->uid;
  }
  if (!has_group) return std::make_pair(uid, uid);
  if (group.empty()) return Error{"invalid --chown \"" + std::string(spec) + "\": empty group"};
  if (auto num = ParseId(group)) {
    gid = *num;
  } else {
    const GroupEntry* g = FindGroup(group);
    if (!g)
      return Error{"invalid --chown \"" + std::string(spec) + "\": unable to find group " + group +
                   ": no matching entries in group file"};
    gid = g->gid;
  }
  return std::make_pair(uid, gid);
}

}  // namespace ocibuild::builder
