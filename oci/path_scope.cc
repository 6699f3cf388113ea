#include "oci/path_scope.h"

#include <algorithm>

#include "util/fs.h"

namespace ocibuild::oci {
PathScope::PathScope(std::vector<std::string> roots) {
  std::sort(roots.begin(), roots.end());
  roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
  // A root below another adds nothing.
  for (const auto& r : roots) {
    bool covered = std::any_of(roots.begin(), roots.end(), [&](const std::string& o) {
      return &o != &r && StrictlyBelow(r, o);
    });
    if (!covered) roots_.push_back(r);
  }
  for (const auto& r : roots_) {
    root_set_.insert(r);
    if (r.empty()) continue;
    for (std::string_view p = ParentPath(r);; p = ParentPath(p)) {
      ancestors_.emplace(p);
      if (p.empty()) break;
    }
  }
}

namespace {
// A scan of the roots is cheaper than hashing each ancestor of `p` (a string made for every
// lookup) while they are few: a snapshot asks for every one of its paths.
constexpr size_t kScanRoots = 16;

// `p` is `r` or below it.
bool AtOrBelow(std::string_view p, std::string_view r) {
  return r.empty() || (p.starts_with(r) && (p.size() == r.size() || p[r.size()] == '/'));
}
}  // namespace

bool PathScope::Contains(std::string_view p) const {
  if (root_set_.empty()) return false;
  if (roots_.size() <= kScanRoots)
    return std::any_of(roots_.begin(), roots_.end(),
                       [&](const std::string& r) { return AtOrBelow(p, r); });
  for (;;) {
    if (root_set_.count(std::string(p))) return true;
    if (p.empty()) return false;
    p = ParentPath(p);
  }
}

bool PathScope::IsAncestor(std::string_view p) const {
  if (roots_.size() <= kScanRoots) {
    bool above = std::any_of(roots_.begin(), roots_.end(), [&](const std::string& r) {
      return r.size() > p.size() && AtOrBelow(r, p);
    });
    return above && !Contains(p);
  }
  return ancestors_.count(std::string(p)) > 0 && !Contains(p);
}

std::string PathScope::AttachPoint(std::string_view p) const {
  while (!p.empty() && !Relevant(p)) p = ParentPath(p);
  return std::string(p);
}

bool PathScope::Covers(const PathScope& other) const {
  return std::all_of(other.roots_.begin(), other.roots_.end(),
                     [&](const std::string& r) { return Contains(r); });
}

PathScope Union(const PathScope& a, const PathScope& b) {
  std::vector<std::string> roots = a.roots();
  roots.insert(roots.end(), b.roots().begin(), b.roots().end());
  return PathScope(std::move(roots));
}

}  // namespace ocibuild::oci
