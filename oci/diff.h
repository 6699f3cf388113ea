// What changed in a rootfs since a Snapshot, as layer entries for WriteLayer:
//  - added or changed paths (stat or store entry differs; racy files re-hashed), plus their
//    parent directories so the layer recreates them with the right owner and mode;
//  - a whiteout for each deleted path whose parent still exists as a directory;
//  - a directory that was replaced by a new one (different inode) gets an opaque marker and
//    all of its current contents, so nothing of the old directory shows through.
// Unchanged files are only stat'ed, never read: the cost grows with the tree for the walk and
// with the changes for everything else.
#pragma once

#include <vector>

#include "oci/layer_writer.h"
#include "oci/metastore.h"
#include "oci/safe_path.h"
#include "oci/snapshot.h"
#include "util/result.h"

namespace ocibuild::oci {

// Compares `after` with `before`; the result is in layer order.
Result<std::vector<LayerChange>> DiffSnapshots(const Snapshot& before, const Snapshot& after,
                                               const RootDir& root);

// The same for the tree `delta` (Snapshot::Changes) says moved on from `before`: costs the
// changes, not the tree.
Result<std::vector<LayerChange>> DiffDelta(const Snapshot& before, const SnapshotDelta& delta,
                                           const RootDir& root);

// Takes a new snapshot of `root` and diffs it against `before`. When `after` is given it
// receives the new snapshot (the base of the next step).
Result<std::vector<LayerChange>> Diff(const Snapshot& before, const RootDir& root,
                                      const MetaStore& store, Snapshot* after = nullptr);

}  // namespace ocibuild::oci
