#include "oci/safe_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace ocibuild::oci {

namespace {

Result<std::string> Clean(std::string_view path, bool clamp) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view c = path.substr(i, j - i);
    i = j + 1;
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (parts.empty()) {
        if (clamp) continue;
        return Error{"path escapes the root"};
      }
      parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  std::string out;
  for (auto c : parts) {
    if (!out.empty()) out += '/';
    out += c;
  }
  return out;
}

}  // namespace

Result<std::string> CleanPath(std::string_view path) {
  return Clean(path, false);
}
std::string ClampPath(std::string_view path) {
  return *Clean(path, true);
}

std::pair<std::string_view, std::string_view> SplitParent(std::string_view clean) {
  size_t slash = clean.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), clean};
  return {clean.substr(0, slash), clean.substr(slash + 1)};
}

Result<RootDir> RootDir::Open(const std::string& path, std::optional<sys::InRootMethod> method) {
  int fd = ::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysError("open", path);
  UniqueFd ufd(fd);
  sys::InRootMethod m =
      method ? *method
             : (sys::Openat2Usable(fd) ? sys::InRootMethod::kOpenat2 : sys::InRootMethod::kWalk);
  return RootDir(std::move(ufd), path, m);
}

Result<UniqueFd> RootDir::OpenAt(std::string_view rel, int flags, mode_t mode) const {
  return sys::OpenInRoot(fd_.get(), rel, flags, mode, method_);
}

Result<UniqueFd> RootDir::MkdirAll(std::string_view rel, mode_t dir_mode) const {
  return MkdirAllDepth(rel, dir_mode, 0);
}

Result<UniqueFd> RootDir::MkdirAllDepth(std::string_view rel, mode_t dir_mode, int depth) const {
  auto fast = OpenAt(rel, O_PATH | O_DIRECTORY);
  if (fast.ok() || fast.error().sys_errno != ENOENT) return fast;
  // Walk down from the deepest existing ancestor. Each prefix is resolved in-root afresh, so a
  // symlink among the existing components is followed inside the root, and a new directory is
  // always created with mkdirat() relative to a directory fd we already resolved.
  UniqueFd cur;
  {
    int d = ::fcntl(fd_.get(), F_DUPFD_CLOEXEC, 0);
    if (d < 0) return SysError("dup", path_);
    cur.reset(d);
  }
  size_t i = 0;
  while (i < rel.size()) {
    size_t j = rel.find('/', i);
    if (j == std::string_view::npos) j = rel.size();
    std::string comp(rel.substr(i, j - i));
    std::string_view prefix = rel.substr(0, j);
    i = j + 1;
    auto next = OpenAt(prefix, O_PATH | O_DIRECTORY);
    if (!next.ok()) {
      if (next.error().sys_errno != ENOENT) return next;
      if (::mkdirat(cur.get(), comp.c_str(), dir_mode) != 0) {
        if (errno != EEXIST) return SysError("mkdirat", std::string(prefix));
        // A dangling symlink: create its target (in-root) as containerd's MkdirAll would, then
        // continue through the link.
        char target[4096];
        ssize_t n = ::readlinkat(cur.get(), comp.c_str(), target, sizeof target - 1);
        if (n < 0) return SysError("mkdirat", std::string(prefix));
        if (depth >= 40) return SysError("mkdirat", std::string(prefix), ELOOP);
        std::string_view t(target, static_cast<size_t>(n));
        std::string joined = t.starts_with('/')
                                 ? std::string(t)
                                 : std::string(SplitParent(prefix).first) + "/" + std::string(t);
        OCIB_TRY(MkdirAllDepth(ClampPath(joined), dir_mode, depth + 1));
      }
      next = OpenAt(prefix, O_PATH | O_DIRECTORY);
      if (!next.ok()) return next;
    }
    cur = std::move(*next);
  }
  return cur;
}

Result<RootDir::Parent> RootDir::OpenParent(std::string_view rel, bool create,
                                            mode_t dir_mode) const {
  auto [dir, name] = SplitParent(rel);
  Parent p;
  p.name = std::string(name);
  if (create) {
    OCIB_ASSIGN_OR_RETURN(p.dir, MkdirAll(dir, dir_mode));
  } else {
    OCIB_ASSIGN_OR_RETURN(p.dir, OpenAt(dir, O_PATH | O_DIRECTORY));
  }
  return p;
}

}  // namespace ocibuild::oci
