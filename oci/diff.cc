#include "oci/diff.h"

#include <sys/stat.h>

#include <unordered_set>
#include "util/fs.h"

namespace ocibuild::oci {
namespace {

bool SameType(uint32_t a, uint32_t b) {
  return (a & S_IFMT) == (b & S_IFMT);
}

bool UnderAny(std::string_view p, const std::unordered_set<std::string>& dirs) {
  if (dirs.empty()) return false;
  while (!p.empty()) {
    p = ParentPath(p);
    if (dirs.count(std::string(p))) return true;
  }
  return false;
}

}  // namespace

Result<std::vector<LayerChange>> DiffSnapshots(const Snapshot& before, const Snapshot& after,
                                               const RootDir& root) {
  std::vector<LayerChange> changes;
  // Directories replaced by a new directory (same name, new inode): their old contents are
  // hidden by an opaque marker and everything now inside them is new.
  std::unordered_set<std::string> replaced;
  for (const auto& [p, n] : after.nodes()) {
    if (p.empty() || !S_ISDIR(n.mode)) continue;
    const NodeState* o = before.Find(p);
    if (o && S_ISDIR(o->mode) && o->ino != n.ino) replaced.insert(p);
  }
  size_t matched = 1;  // the root
  for (const auto& [p, n] : after.nodes()) {
    if (p.empty()) continue;
    if (!replaced.empty() && replaced.count(p)) {
      ++matched;
      changes.push_back({LayerChange::Kind::kPath, p});
      changes.push_back({LayerChange::Kind::kOpaque, p});
      continue;
    }
    const NodeState* o = before.Find(p);
    if (o) ++matched;
    bool changed = !o || UnderAny(p, replaced) || !SameType(o->mode, n.mode) || !o->SameStat(n);
    if (!changed && S_ISREG(n.mode) && !o->racy_hash.empty()) {
      std::string now = n.racy_hash;
      if (now.empty()) {
        auto h = HashFileInRoot(root, p);
        if (!h.ok()) return h.error();
        now = std::move(*h);
      }
      changed = now != o->racy_hash;
    }
    if (changed) changes.push_back({LayerChange::Kind::kPath, p});
  }
  // Every old path still present: nothing was deleted, and the second pass can be skipped.
  bool deletions = matched < before.size();
  for (const auto& [p, o] : before.nodes()) {
    if (!deletions) break;
    if (p.empty() || after.Find(p)) continue;
    std::string parent(ParentPath(p));
    const NodeState* pn = after.Find(parent);
    // Only the topmost deleted path needs a whiteout; below a replaced directory the opaque
    // marker already hides it, and below a directory that became a file nothing survives.
    if (!pn || !S_ISDIR(pn->mode) || replaced.count(parent) || UnderAny(parent, replaced)) continue;
    const NodeState* op = before.Find(parent);
    if (!op || !S_ISDIR(op->mode)) continue;
    changes.push_back({LayerChange::Kind::kWhiteout, p});
  }
  // Parents of every change, so the layer carries their owner and mode.
  std::unordered_set<std::string> have;
  for (const auto& c : changes)
    if (c.kind == LayerChange::Kind::kPath) have.insert(c.path);
  size_t n = changes.size();
  for (size_t i = 0; i < n; ++i) {
    // A copy: push_back below may move the vector's strings.
    std::string path = changes[i].path;
    for (std::string_view p = ParentPath(path); !p.empty(); p = ParentPath(p)) {
      std::string ps(p);
      if (!have.insert(ps).second) break;
      changes.push_back({LayerChange::Kind::kPath, std::move(ps)});
    }
  }
  SortChanges(changes);
  return changes;
}

Result<std::vector<LayerChange>> Diff(const Snapshot& before, const RootDir& root,
                                      const MetaStore& store, Snapshot* after) {
  OCIB_ASSIGN_OR_RETURN(Snapshot now, Snapshot::Take(root, store, before.size()));
  auto changes = DiffSnapshots(before, now, root);
  if (after) *after = std::move(now);
  return changes;
}

}  // namespace ocibuild::oci
