#include "oci/diff.h"

#include <sys/stat.h>

#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "util/fs.h"

namespace ocibuild::oci {
namespace {

bool SameType(uint32_t a, uint32_t b) {
  return (a & S_IFMT) == (b & S_IFMT);
}

// Whether the entry at `p` differs from `o` (its state in the snapshot before; null: new).
Result<bool> Changed(const NodeState* o, const NodeState& n, const std::string& p,
                     const RootDir& root) {
  if (!o || !SameType(o->mode, n.mode) || !o->SameStat(n)) return true;
  if (!S_ISREG(n.mode) || o->racy_hash.empty()) return false;
  std::string now = n.racy_hash;
  if (now.empty()) {
    OCIB_ASSIGN_OR_RETURN(now, HashFileInRoot(root, p));
  }
  return now != o->racy_hash;
}

// A deleted path needs a whiteout only when it is the topmost deleted one: below a directory
// that was deleted or became something else nothing survives.
bool NeedsWhiteout(const std::string& p, const Snapshot& before, const NodeState* parent_after) {
  if (!parent_after || !S_ISDIR(parent_after->mode)) return false;
  const NodeState* op = before.Find(std::string(ParentPath(p)));
  return op && S_ISDIR(op->mode);
}

// Parents of every change, so the layer carries their owner and mode; then layer order.
void AddParentsAndSort(std::vector<LayerChange>& changes) {
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
}

}  // namespace

Result<std::vector<LayerChange>> DiffSnapshots(const Snapshot& before, const Snapshot& after,
                                               const RootDir& root) {
  std::vector<LayerChange> changes;
  // A directory removed and made again under the same name is diffed as the same directory:
  // its new entries are added and its old ones whited out one by one, as BuildKit's differ does.
  // Telling "replaced" apart by inode number would make the layer depend on whether the
  // filesystem happened to reuse the number (ext4 often does for `rm -rf d && mkdir d`), and
  // the same build would then give different layer digests.
  size_t matched = 1;  // the root
  for (const auto& [p, n] : after.nodes()) {
    if (p.empty()) continue;
    const NodeState* o = before.Find(p);
    if (o) ++matched;
    OCIB_ASSIGN_OR_RETURN(bool changed, Changed(o, n, p, root));
    if (changed) changes.push_back({LayerChange::Kind::kPath, p});
  }
  // Every old path still present: nothing was deleted, and the second pass can be skipped.
  bool deletions = matched < before.size();
  for (const auto& [p, o] : before.nodes()) {
    if (!deletions) break;
    if (p.empty() || after.Find(p)) continue;
    if (NeedsWhiteout(p, before, after.Find(std::string(ParentPath(p)))))
      changes.push_back({LayerChange::Kind::kWhiteout, p});
  }
  AddParentsAndSort(changes);
  return changes;
}

Result<std::vector<LayerChange>> DiffDelta(const Snapshot& before, const SnapshotDelta& delta,
                                           const RootDir& root) {
  std::vector<LayerChange> changes;
  std::unordered_map<std::string_view, const NodeState*> now;
  for (const auto& [p, n] : delta.now) now.emplace(p, &n);
  std::unordered_set<std::string_view> gone(delta.gone.begin(), delta.gone.end());
  for (const auto& [p, n] : delta.now) {
    if (p.empty()) continue;
    OCIB_ASSIGN_OR_RETURN(bool changed, Changed(before.Find(p), n, p, root));
    if (changed) changes.push_back({LayerChange::Kind::kPath, p});
  }
  for (const std::string& p : delta.gone) {
    std::string_view parent = ParentPath(p);
    const NodeState* pn = nullptr;
    if (auto it = now.find(parent); it != now.end())
      pn = it->second;
    else if (!gone.count(parent))
      pn = before.Find(std::string(parent));
    if (NeedsWhiteout(p, before, pn)) changes.push_back({LayerChange::Kind::kWhiteout, p});
  }
  AddParentsAndSort(changes);
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
