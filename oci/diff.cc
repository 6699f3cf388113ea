#include "oci/diff.h"

#include <sys/stat.h>

#include <unordered_set>
#include "util/fs.h"

namespace ocibuild::oci {
namespace {

bool SameType(uint32_t a, uint32_t b) {
  return (a & S_IFMT) == (b & S_IFMT);
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
    bool changed = !o || !SameType(o->mode, n.mode) || !o->SameStat(n);
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
    // Only the topmost deleted path needs a whiteout: below a directory that was deleted or
    // became something else nothing survives.
    if (!pn || !S_ISDIR(pn->mode)) continue;
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
