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

bool PathScope::Contains(std::string_view p) const {
  if (root_set_.empty()) return false;
  for (;;) {
    if (root_set_.count(std::string(p))) return true;
    if (p.empty()) return false;
    p = ParentPath(p);
  }
}

bool PathScope::IsAncestor(std::string_view p) const {
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
