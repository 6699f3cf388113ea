#include "builder/scoped_tree.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <optional>
#include <unordered_set>
#include <vector>

#include "builder/stage_state.h"
#include "dockerfile-parser/path_match.h"
#include "oci/layer_applier.h"
#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

// Follows the symlink at `link` as RootDir resolves paths (an absolute target starts at the
// root, ".." stops there) and returns where it leads, as path components; nullopt when the way
// passes a path outside `scope` (the full tree may hold something else there) or loops. Every
// path the walk visits is one the scoped and the full tree agree on, so it ends where the full
// tree's resolution would. `link`'s own directories are real ones (it comes from a snapshot,
// which never follows a link), so reading it with a plain relative path stays in the tree.
Result<std::optional<std::vector<std::string>>> Follow(const oci::RootDir& root,
                                                       const oci::Snapshot& snap,
                                                       const oci::PathScope& scope,
                                                       const std::string& link, int depth) {
  using Out = std::optional<std::vector<std::string>>;
  if (depth > 40) return Out();
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(root.fd(), link.c_str(), buf, sizeof buf);
  if (n < 0) return SysError("readlink", "/" + link);
  std::string target(buf, static_cast<size_t>(n));
  std::vector<std::string> parts;
  std::string_view dir = ParentPath(link);
  if (!StartsWith(target, "/") && !dir.empty()) parts = Split(dir, '/');
  for (const auto& comp : Split(target, '/')) {
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(comp);
    std::string p = Join(parts, "/");
    if (!scope.Relevant(p)) return Out();
    const oci::NodeState* node = snap.Find(p);
    if (node && S_ISLNK(node->mode)) {
      OCIB_ASSIGN_OR_RETURN(Out next, Follow(root, snap, scope, p, depth + 1));
      if (!next) return Out();
      parts = std::move(*next);
    }
  }
  return Out(std::move(parts));
}

}  // namespace

oci::PathScope StepScope(const std::string& dest, bool users) {
  std::string d = dockerfile::CleanPath(dest);
  while (!d.empty() && d[0] == '/') d.erase(0, 1);
  if (d.empty() || d == ".") return oci::PathScope();
  std::vector<std::string> roots{d};
  if (users) {
    roots.push_back("etc/passwd");
    roots.push_back("etc/group");
  }
  return oci::PathScope(std::move(roots));
}

Status RestoreScoped(StageState& s, RootfsCache* cache, bool may_link) {
  s.applied = 0;
  if (!cache || s.layers.empty()) return Ok();
  size_t shared_before = s.shared_inodes.size();
  OCIB_ASSIGN_OR_RETURN(
      size_t k, cache->RestoreScoped(s.config.diff_ids, s.rootfs(), *s.store, &s.shared_inodes,
                                     &*s.scope, may_link, &s.cross_links));
  s.applied = k;
  if (k > 0 && s.shared_inodes.size() > shared_before) {
    std::vector<oci::Digest> chain(s.config.diff_ids.begin(),
                                   s.config.diff_ids.begin() + static_cast<long>(k));
    AddSharedNodes(s, cache->NodesDirs(chain));
  }
  return Ok();
}

Result<bool> TopUpScoped(StageState& s, oci::ContentStore& store) {
  oci::ApplyOptions opts;
  opts.scope = &*s.scope;
  for (; s.applied < s.layers.size(); ++s.applied) {
    auto fd = store.Open(s.layers[s.applied].digest);
    if (!fd.ok()) return false;
    auto st = oci::ApplyLayer(*s.root, *s.store, fd->get(), opts);
    if (!st.ok() || st->out_of_scope) return false;
    s.cross_links.insert(s.cross_links.end(), st->cross_links.begin(), st->cross_links.end());
  }
  return true;
}

Result<bool> ScopeIsExact(const oci::RootDir& root, const oci::Snapshot& snap,
                          const oci::PathScope& scope, const oci::PathScope& want,
                          const std::vector<std::string>& cross_links) {
  for (const auto& p : cross_links)
    if (want.Relevant(p)) return false;
  for (const auto& r : want.roots()) {
    if (r.empty() || !scope.Contains(r)) return false;
    std::string cur;
    for (const auto& part : Split(r, '/')) {
      cur = cur.empty() ? part : cur + "/" + part;
      const oci::NodeState* n = snap.Find(cur);
      if (!n) break;
      if (S_ISLNK(n->mode)) return false;
    }
  }
  for (const auto& [p, n] : snap.nodes()) {
    if (!S_ISLNK(n.mode)) continue;
    bool below = false;
    for (const auto& r : want.roots()) below = below || StrictlyBelow(p, r);
    if (!below) continue;
    OCIB_ASSIGN_OR_RETURN(auto to, Follow(root, snap, scope, p, 0));
    // It must end inside the scope's subtrees, not at a directory on the way: a copy writing
    // through a link to an ancestor (`up -> ..`) would create files beside the scope, which the
    // full tree may already hold and a focused walk would not see.
    if (!to || !scope.Contains(Join(*to, "/"))) return false;
  }
  return true;
}

Result<bool> FocusIsExact(const oci::RootDir& root, const oci::Snapshot& whole,
                          const oci::PathScope& want) {
  if (want.empty()) return false;
  for (const auto& r : want.roots())
    if (r.empty()) return false;
  // Inodes below a root with more names than one: every name they have in the tree must lie
  // below a root too (names outside the tree, such as the unpacked-tree cache's, are no layer's).
  std::unordered_set<uint64_t> linked;
  for (const auto& [p, n] : whole.nodes())
    if (!S_ISDIR(n.mode) && n.nlink > 1 && want.Contains(p)) linked.insert(n.ino);
  if (!linked.empty()) {
    for (const auto& [p, n] : whole.nodes())
      if (!S_ISDIR(n.mode) && linked.count(n.ino) && !want.Contains(p)) return false;
  }
  return ScopeIsExact(root, whole, want, want, {});
}

}  // namespace ocibuild::builder
