// Scoped trees: the part of a stage's rootfs one COPY/ADD (without --link) or WORKDIR step can
// see, instead of the whole tree, when no later step of the stage runs a command.
//
// A one-file edit of an app on a Node or Python base misses the cache at a `COPY src ./src`;
// restoring the base's ~40,000 entries from the unpacked-tree cache, snapshotting and diffing
// them cost 0.7-0.8 s for a layer of a few files. Such a step only reads and writes its
// destination's subtree and the directories on the way to it (and /etc/passwd and /etc/group to
// resolve --chown or USER names), so only those are made: restored from the cache with a path
// filter and topped up with the stage's later layers, filtered the same way (oci::PathScope).
// Snapshot and Diff then walk the small tree, and the layer comes out byte for byte as the full
// tree's would: its changes lie in the scope and their parents are the directories on the way,
// which the scoped tree holds with their exact owners, modes, times and xattrs.
//
// Where a scoped tree could differ from the full one, the stage is unpacked fully instead:
//  - a layer does something the scope cannot show (oci::ApplyOptions::scope: a hardlink to a
//    file outside it, a change next to a directory on the way that the layer does not list);
//  - a symlink on the way to a root or at a root (a COPY follows it anywhere), or a symlink
//    below a root whose resolution leaves the scope (a COPY may write through it);
//  - a file below a root that is hardlinked from outside the scope: replacing it moves the
//    other name's link count and ctime, and the full tree's diff puts that name in the layer;
//  - any error while making the tree (the full unpack reports it, if it is real).
// The stage's own later steps reuse the tree when their paths lie in it, and otherwise make a new
// one for the union of both scopes. Anything else that needs the stage's files (RUN, COPY --from
// readers, RUN --mount from=, outputs, the SBOM) calls StageWorkspace::Materialize, which throws
// the scoped tree away (it stays in the build's work directory, which goes to the trash) and
// unpacks the whole tree. A scoped tree is never saved into the unpacked-tree cache.
#pragma once

#include <string>
#include <vector>

#include "builder/rootfs_cache.h"
#include "oci/content_store.h"
#include "oci/path_scope.h"
#include "oci/safe_path.h"
#include "oci/snapshot.h"
#include "util/result.h"

namespace ocibuild::builder {

struct StageState;

// What a step writing to the absolute guest path `dest` needs; with `users`, /etc/passwd and
// /etc/group too. Empty (the whole tree) for "/".
oci::PathScope StepScope(const std::string& dest, bool users);

// Fills the empty tree of `s` (its rootfs and store) with what `*s.scope` holds of the longest
// prefix of its layers the cache has (linking nodes only with `may_link`, the cache's claim)
// and sets s.applied. The inodes linked are added to s.shared_inodes.
Status RestoreScoped(StageState& s, RootfsCache* cache, bool may_link);

// Applies the layers of `s` that its scoped tree does not hold yet, filtered by `*s.scope`.
// False when a layer cannot be shown exactly in the scope (or failed): the tree is unfit.
Result<bool> TopUpScoped(StageState& s, oci::ContentStore& store);

// Whether steps writing to the roots of `want` work in the scoped tree exactly as in the full
// one: no symlink on the way to a root or at a root, every symlink below a root resolves
// (in-root, as COPY resolves paths) through paths the tree's scope holds to a path inside one of
// its roots' subtrees (not to a directory on the way), and no name there
// shares its inode with a name outside the scope (`cross_links`: replacing it would move the
// other name's link count and ctime, and the full tree's diff would carry that name too).
// `snap` is the tree's current snapshot.
Result<bool> ScopeIsExact(const oci::RootDir& root, const oci::Snapshot& snap,
                          const oci::PathScope& scope, const oci::PathScope& want,
                          const std::vector<std::string>& cross_links);

// Focused commits: a COPY/ADD or WORKDIR step in a stage's whole tree (a RUN comes later, so no
// scoped tree) changes only what `want` holds, under the same conditions as above. Its layer
// then comes from a walk of `want` alone, diffed against that part of the tree's snapshot, and
// is the same byte for byte as a walk of the whole tree would give: no symlink on the way to or
// at a root, symlinks below a root resolving inside `want`, and no file below a root with
// another name in the tree outside it. `whole` is the whole tree's snapshot before the step.
Result<bool> FocusIsExact(const oci::RootDir& root, const oci::Snapshot& whole,
                          const oci::PathScope& want);

}  // namespace ocibuild::builder
