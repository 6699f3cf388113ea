// Resolves USER and --chown specs against a rootfs's /etc/passwd and /etc/group, with Docker's
// rules: names must exist, numbers need not; "user" alone takes the user's primary group for
// USER/RUN, and for COPY --chown a user without a group uses the same number as the group.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ocibuild::builder {

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string home;
  std::string shell;
};

struct GroupEntry {
  std::string name;
  uint32_t gid = 0;
  std::vector<std::string> members;
};

class UserDb {
 public:
  // Parses the texts of /etc/passwd and /etc/group; malformed lines are skipped as libc does.
  static UserDb Parse(std::string_view passwd, std::string_view group);

  const PasswdEntry* FindUser(std::string_view name_or_uid) const;
  const GroupEntry* FindGroup(std::string_view name_or_gid) const;

  struct Identity {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::vector<uint32_t> groups;  // supplementary groups (from /etc/group membership)
    std::string home = "/";
    std::string name;              // empty when the user is not in /etc/passwd
  };
  // USER / RUN semantics ("user", "user:group", "uid", "uid:gid"; empty means root).
  Result<Identity> ResolveUser(std::string_view spec) const;
  // COPY/ADD --chown semantics: {uid, gid}.
  Result<std::pair<uint32_t, uint32_t>> ResolveChown(std::string_view spec) const;

 private:
  std::vector<PasswdEntry> users_;
  std::vector<GroupEntry> groups_;
};

}  // namespace ocibuild::builder
