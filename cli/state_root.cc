#include "cli/state_root.h"

#include <unistd.h>

#include <cstring>
#include <vector>

#include "util/fs.h"

namespace ocibuild::cli {
namespace {

std::string Get(const std::map<std::string, std::string>& env, const char* key) {
  auto it = env.find(key);
  return it == env.end() ? "" : it->second;
}

// Creates `dir` if needed and checks that we may write there.
Status Usable(const std::string& dir) {
  OCIB_TRY(MakeDirs(dir, 0700));
  if (::access(dir.c_str(), W_OK | X_OK) != 0) return SysError("access", dir);
  return Ok();
}

}  // namespace

Result<StateRoot> ChooseStateRoot(const std::map<std::string, std::string>& env) {
  if (std::string root = Get(env, "OCIBUILD_ROOT"); !root.empty()) {
    Status st = Usable(root);
    if (!st.ok()) return st.error().Context("OCIBUILD_ROOT=" + root + " cannot be used");
    return StateRoot{root, "OCIBUILD_ROOT", ""};
  }
  std::vector<std::pair<std::string, std::string>> candidates;
  if (std::string x = Get(env, "XDG_CACHE_HOME"); !x.empty())
    candidates.emplace_back(JoinPath(x, "ocibuild"), "XDG_CACHE_HOME");
  if (std::string h = Get(env, "HOME"); !h.empty())
    candidates.emplace_back(JoinPath(h, ".cache/ocibuild"), "HOME");
  std::string tmp = Get(env, "TMPDIR");
  if (tmp.empty()) tmp = "/tmp";
  candidates.emplace_back(JoinPath(tmp, "ocibuild-" + std::to_string(::getuid())), "TMPDIR");
  std::string skipped;
  for (const auto& [path, source] : candidates) {
    Status st = Usable(path);
    if (st.ok()) return StateRoot{path, source, skipped};
    skipped += (skipped.empty() ? "" : "; ") + st.error().message;
  }
  return Error{"no writable place for ocibuild's cache (" + skipped +
               "); set OCIBUILD_ROOT to a writable directory"};
}

}  // namespace ocibuild::cli
