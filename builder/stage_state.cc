#include "builder/stage_state.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "builder/scoped_tree.h"
#include "oci/diff.h"
#include "oci/layer_applier.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

constexpr char kHistoryComment[] = "buildkit.dockerfile.v0";

Result<std::string> ReadInRoot(const oci::RootDir& root, const std::string& rel) {
  auto fd = root.OpenAt(rel, O_RDONLY);
  if (!fd.ok()) {
    if (fd.error().sys_errno == ENOENT || fd.error().sys_errno == ENOTDIR) return std::string();
    return std::move(fd).error();
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd->get(), buf, sizeof buf);
    if (n < 0) return SysError("read", "/" + rel);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

}  // namespace

dockerfile::Env StageState::ExpansionEnv() const {
  dockerfile::Env env = args;
  for (const auto& kv : config.config.env) {
    auto [k, v] = SplitOnce(kv, '=');
    env.Set(k, v);
  }
  return env;
}

Result<UserDb> StageState::Users() const {
  if (!root) return Error{"internal: stage " + name + " has no rootfs"};
  OCIB_ASSIGN_OR_RETURN(std::string passwd, ReadInRoot(*root, "etc/passwd"));
  OCIB_ASSIGN_OR_RETURN(std::string group, ReadInRoot(*root, "etc/group"));
  return UserDb::Parse(passwd, group);
}

void StageWorkspace::Finish(StageState& s) {
  std::lock_guard lock(s.mu);
  s.finished = true;
  if (rootfs_cache_) rootfs_cache_->Release(&s);
}

void StageWorkspace::DropTree(StageState& s) {
  s.root.reset();
  s.store.reset();
  s.snapshot.reset();
  s.after_step.reset();
  s.after_delta.reset();
  s.applied = 0;
  s.shared_inodes.clear();
  s.shared_nodes.clear();
  s.cache_layers = 0;
  s.scope.reset();
  s.cross_links.clear();
  s.stale = false;
  s.unsaved_bytes = 0;
}

Status StageWorkspace::NewTree(StageState& s) {
  s.dir = JoinPath(work_root_, "stage-" + std::to_string(next_dir_++));
  OCIB_TRY(RemoveAll(s.dir));
  OCIB_TRY(MakeDirs(s.rootfs(), 0755));
  s.store = std::make_unique<oci::MetaStore>();
  OCIB_ASSIGN_OR_RETURN(oci::RootDir r, oci::RootDir::Open(s.rootfs()));
  s.root.emplace(std::move(r));
  return Ok();
}

namespace {
// Longer than the snapshot's racy window (oci/snapshot.cc): what was linked before is not racy.
constexpr int64_t kNapNs = 25'000'000;
}  // namespace

Status StageWorkspace::Resnap(StageState& s, bool linked) {
  // Files whose ctime is this recent would count as racy and be hashed by the snapshot.
  if (linked) ::usleep(kNapNs / 1000);
  size_t expect = s.snapshot ? s.snapshot->size() : 0;
  OCIB_ASSIGN_OR_RETURN(oci::Snapshot snap, oci::Snapshot::Take(*s.root, *s.store, expect));
  ReplaceSnapshot(s, std::move(snap));
  return Ok();
}

void StageWorkspace::ReplaceSnapshot(StageState& s, oci::Snapshot&& next) {
  if (s.snapshot) disposer_.Dispose(std::move(*s.snapshot));
  s.snapshot = std::move(next);
}

Status StageWorkspace::MaterializeScope(StageState& s, const oci::PathScope& want) {
  if (!s.scoped_ok || want.empty() || (s.root && !s.scope)) return Materialize(s);
  // A shared inode was written in place through another tree: start again.
  if (s.stale) DropTree(s);
  oci::PathScope scope = want;
  if (s.scope && !s.scope->Covers(want)) {
    scope = oci::Union(*s.scope, want);
    DropTree(s);
  }
  bool linked = false, changed = false;
  if (!s.root) {
    OCIB_TRY(NewTree(s));
    s.scope = std::move(scope);
    // Linking the cache's nodes moves their ctimes, which only the claimant may do (see
    // rootfs_cache.h); without the claim the directories alone are restored, or nothing. The
    // claim is given back at once when nothing was linked, so that a stage after this one
    // still finds the cache free.
    bool claimed = rootfs_cache_ && !s.layers.empty() && rootfs_cache_->Claim(&s);
    Status st = RestoreScoped(s, rootfs_cache_, claimed);
    linked = !s.shared_inodes.empty();
    if (claimed && !linked) rootfs_cache_->Release(&s);
    if (!st.ok()) {
      DropTree(s);
      return Materialize(s);
    }
    changed = true;
  }
  if (s.applied < s.layers.size()) {
    auto ok = TopUpScoped(s, store_);
    if (!ok.ok() || !*ok) {
      DropTree(s);
      return Materialize(s);
    }
    changed = true;
  }
  // The nap spares the snapshot hashing every file just linked (racy): worth it for many.
  constexpr size_t kNapFrom = 256;
  if (changed || !s.snapshot) OCIB_TRY(Resnap(s, linked && s.shared_inodes.size() >= kNapFrom));
  auto exact = ScopeIsExact(*s.root, *s.snapshot, *s.scope, want, s.cross_links);
  if (!exact.ok() || !*exact) {
    DropTree(s);
    return Materialize(s);
  }
  return Ok();
}

Status StageWorkspace::Materialize(StageState& s) {
  if (s.scope) DropTree(s);
  Status st = MaterializeTree(s);
  // A finished stage restored for a reader keeps no claim: it diffs nothing.
  if (s.finished && rootfs_cache_) rootfs_cache_->Release(&s);
  return st;
}

Status StageWorkspace::MaterializeTree(StageState& s) {
  if (s.stale) {
    // Its shared inodes were written through another tree: start again from the layers.
    std::string old = s.dir;
    DropTree(s);
    if (!old.empty()) OCIB_TRY(RemoveAll(old));
  }
  if (!s.root) {
    OCIB_TRY(NewTree(s));
    s.applied = 0;
    s.snapshot.reset();
  }
  if (s.applied < s.layers.size() || !s.snapshot) {
    bool restored = false, from_nothing = s.applied == 0;
    RestoreStats stats;
    if (s.applied == 0 && !s.layers.empty() && rootfs_cache_ && rootfs_cache_->Claim(&s)) {
      OCIB_ASSIGN_OR_RETURN(size_t k,
                            rootfs_cache_->RestoreLongest(s.config.diff_ids, s.rootfs(), *s.store,
                                                          &s.shared_inodes, &stats));
      s.applied = k;
      restored = k > 0;
      if (restored) {
        std::vector<oci::Digest> chain(s.config.diff_ids.begin(),
                                       s.config.diff_ids.begin() + static_cast<long>(k));
        AddSharedNodes(s, rootfs_cache_->NodesDirs(chain));
        s.cache_layers = k;
      }
    }
    size_t unpacked = 0;
    // On a restored tree, what the layers on top wrote: the restore's stats brought up to date
    // with these are the snapshot, without a walk of the whole tree (when nothing was removed).
    std::vector<std::string> written;
    bool removed = false;
    for (; s.applied < s.layers.size(); ++s.applied, ++unpacked) {
      const oci::Descriptor& d = s.layers[s.applied];
      OCIB_ASSIGN_OR_RETURN(UniqueFd fd, store_.Open(d.digest));
      oci::ApplyOptions ao;
      ao.list_paths = restored;
      auto st = oci::ApplyLayer(*s.root, *s.store, fd.get(), ao);
      if (!st.ok()) return st.error().Context("unpacking layer " + d.digest.str());
      s.unsaved_bytes += static_cast<uint64_t>(d.size);
      removed |= st->RemovedAnything();
      for (auto& p : st->paths) written.push_back(std::move(p));
    }
    // A tree unpacked from nothing is always worth keeping (a base image, say); one restored
    // and topped up only when the top-up was large.
    s.snapshot.reset();
    // Nothing to save: the restore's own stats are the snapshot (brought up to date with what
    // the top-up wrote, when that can be exact), once the links are no longer racy.
    bool from_stats = restored && unpacked == 0 && s.unsaved_bytes == 0;
    if (!from_stats && restored && !removed && !WouldSave(s, false)) {
      OCIB_ASSIGN_OR_RETURN(from_stats, oci::Snapshot::RestatChanged(*s.root, &stats, written));
    }
    if (from_stats) {
      oci::Snapshot::WaitPastRacyWindow(stats);
      OCIB_ASSIGN_OR_RETURN(oci::Snapshot snap,
                            oci::Snapshot::FromStats(*s.root, *s.store, std::move(stats)));
      s.snapshot = std::move(snap);
      return Ok();
    }
    return MaybeSave(s, from_nothing && !restored && unpacked > 0, restored);
  }
  return Ok();
}

bool StageWorkspace::WouldSave(const StageState& s, bool force) const {
  return !s.scope && rootfs_cache_ && rootfs_cache_->Owns(&s) && s.unsaved_bytes > 0 &&
         (force || s.unsaved_bytes >= save_bytes_);
}

Status StageWorkspace::MaybeSave(StageState& s, bool force, bool linked) {
  // The snapshot is current, and the save will move only the ctimes of what it links.
  bool current = !linked && s.snapshot;
  std::vector<uint64_t> relinked;
  bool replaced = false;
  if (WouldSave(s, force)) {
    std::vector<oci::Digest> chain(s.config.diff_ids.begin(),
                                   s.config.diff_ids.begin() + static_cast<long>(s.applied));
    // A failed save (a full disk, the link limit) costs the entry, not the build; what it
    // linked before failing moved ctimes all the same.
    Status saved = rootfs_cache_->Save(chain, s.rootfs(), *s.store, &s.shared_inodes,
                                       s.cache_layers, &relinked, &replaced);
    current = current && saved.ok() && !replaced && relinked.size() < s.snapshot->size() / 2;
    AddSharedNodes(s, rootfs_cache_->NodesDirs(chain));
    s.cache_layers = saved.ok() ? s.applied : 0;
    s.unsaved_bytes = 0;
    linked = true;
  }
  if (!linked && s.snapshot) return Ok();
  if (current) {
    // A save on top of the entry the tree came from links what the steps since made: those
    // names are stat'ed again instead of the whole tree (once not racy, as after any link).
    if (relinked.empty()) return Ok();
    ::usleep(kNapNs / 1000);
    OCIB_ASSIGN_OR_RETURN(oci::SnapshotDelta delta,
                          oci::Snapshot::Changes(*s.snapshot, *s.root, *s.store, {}, {}, relinked));
    s.snapshot->Apply(std::move(delta));
    return Ok();
  }
  return Resnap(s, linked);
}

void StageWorkspace::AddHistory(StageState& s, const std::string& created_by, bool empty_layer,
                                const std::string& created) {
  oci::HistoryEntry h;
  h.created = created;
  h.created_by = created_by;
  h.comment = kHistoryComment;
  h.empty_layer = empty_layer;
  s.config.history.push_back(std::move(h));
}

void AddSharedNodes(StageState& s, const std::vector<std::string>& dirs) {
  for (const auto& d : dirs)
    if (std::find(s.shared_nodes.begin(), s.shared_nodes.end(), d) == s.shared_nodes.end())
      s.shared_nodes.push_back(d);
}

Result<std::string> TreeDigest(const oci::RootDir& root, const oci::MetaStore& store,
                               const std::string& rel) {
  Sha256 h;
  std::vector<std::string> stack = {rel.empty() ? "." : rel};
  bool top = true;
  while (!stack.empty()) {
    std::string p = std::move(stack.back());
    stack.pop_back();
    // The top is followed in-root, as the copy and the bind mount follow it; below it a link is
    // content.
    bool follow = top;
    top = false;
    OCIB_ASSIGN_OR_RETURN(UniqueFd fd,
                          root.OpenAt(p == "." ? "" : p, O_PATH | (follow ? 0 : O_NOFOLLOW)));
    struct stat st;
    if (::fstat(fd.get(), &st) != 0) return SysError("stat", "/" + p);
    oci::FileMeta m = store.Effective(st);
    std::string below = rel.empty() || rel == "." ? p : p == rel ? "." : p.substr(rel.size() + 1);
    // Names, link targets and xattr values may hold any byte but NUL: each is length-prefixed.
    auto field = [](std::string_view v) { return std::to_string(v.size()) + ':' + std::string(v); };
    std::string rec = field(below) + std::to_string(m.mode) + '\0' + std::to_string(m.uid) + ':' +
                      std::to_string(m.gid) + '\0';
    if (S_ISCHR(m.mode) || S_ISBLK(m.mode)) rec += "rdev=" + std::to_string(m.rdev) + '\0';
    for (const auto& [name, value] : m.xattrs) rec += field(name) + field(value);
    if (S_ISREG(st.st_mode)) {
      OCIB_ASSIGN_OR_RETURN(std::string hex, oci::HashFileInRoot(root, p, follow));
      rec += hex;
    } else if (S_ISLNK(st.st_mode)) {
      char buf[PATH_MAX];
      ssize_t n = ::readlinkat(fd.get(), "", buf, sizeof buf);
      if (n < 0) return SysError("readlink", "/" + p);
      rec += field(std::string_view(buf, static_cast<size_t>(n)));
    } else if (S_ISDIR(st.st_mode)) {
      OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(fd.get(), "/" + p));
      std::sort(names.rbegin(), names.rend());
      for (const auto& n : names) stack.push_back(p == "." ? n : p + "/" + n);
    }
    h.Update(rec);
    h.Update("\n", 1);
  }
  return "sha256:" + h.FinishHex();
}

Result<bool> StageWorkspace::TryCache(StageState& s, const std::string& key,
                                      const std::string& created_by, const CommitOptions& opts) {
  if (no_cache_ || s.no_cache) return false;
  OCIB_ASSIGN_OR_RETURN(std::optional<CachedStep> hit, cache_.Get(key, store_));
  if (!hit) return false;
  if (hit->layer) {
    s.layers.push_back(*hit->layer);
    s.config.diff_ids.push_back(hit->diff_id);
  }
  AddHistory(s, created_by, !hit->layer.has_value(),
             hit->created.empty() ? opts.created : hit->created);
  s.cache_key = ContentChainKey(key, *hit);
  return true;
}

Result<bool> StageWorkspace::Focus(StageState& s, const oci::PathScope& want) {
  if (!s.root || s.scope || !s.snapshot) return false;
  return FocusIsExact(*s.root, *s.snapshot, want);
}

Status StageWorkspace::Commit(StageState& s, const std::string& key, const std::string& created_by,
                              const CommitOptions& opts, const oci::PathScope* focus) {
  oci::Snapshot after;
  std::vector<oci::LayerChange> changes;
  std::optional<oci::SnapshotDelta> delta = std::move(s.after_delta);
  s.after_delta.reset();
  if (focus) {
    OCIB_ASSIGN_OR_RETURN(after, oci::Snapshot::TakeScoped(*s.root, *s.store, *focus));
    OCIB_ASSIGN_OR_RETURN(changes, oci::DiffSnapshots(s.snapshot->Part(*focus), after, *s.root));
  } else if (delta) {
    OCIB_ASSIGN_OR_RETURN(changes, oci::DiffDelta(*s.snapshot, *delta, *s.root));
  } else if (s.after_step) {
    after = std::move(*s.after_step);
    s.after_step.reset();
    OCIB_ASSIGN_OR_RETURN(changes, oci::DiffSnapshots(*s.snapshot, after, *s.root));
  } else {
    OCIB_ASSIGN_OR_RETURN(changes, oci::Diff(*s.snapshot, *s.root, *s.store, &after));
  }
  CachedStep step;
  // A step that changed nothing still makes a layer (an empty tar), as in BuildKit: the layer
  // count and diff_ids follow the Dockerfile.
  {
    OCIB_ASSIGN_OR_RETURN(std::unique_ptr<oci::BlobWriter> w, store_.NewWriter());
    oci::LayerWriteOptions lo = opts.layer;
    if (lo.record_blocks) lo.earlier_blocks = &blocks_;
    OCIB_ASSIGN_OR_RETURN(oci::LayerResult lr,
                          oci::WriteLayer(*s.root, *s.store, std::move(changes), lo,
                                          [&](std::string_view data) { return w->Write(data); }));
    OCIB_ASSIGN_OR_RETURN(oci::Digest d, w->Commit(lr.digest, static_cast<int64_t>(lr.size)));
    blocks_.AddLayer(d, lr.blocks);
    if (!stats_path_.empty()) {
      nlohmann::json line = {{"created_by", created_by},
                             {"digest", d.str()},
                             {"size", lr.size},
                             {"uncompressed_size", lr.uncompressed_size},
                             {"entries", lr.entries},
                             {"recorded_blocks", lr.blocks.size()},
                             {"reused_blocks", lr.reused_blocks},
                             {"precompressed_blocks", lr.spliced_blocks}};
      std::lock_guard lock(stats_mu_);
      OCIB_ASSIGN_OR_RETURN(UniqueFd fd,
                            OpenFile(stats_path_, O_WRONLY | O_APPEND | O_CREAT, 0644));
      OCIB_TRY(WriteAll(fd.get(), line.dump() + "\n", stats_path_));
    }
    oci::Descriptor desc;
    desc.media_type = opts.media_type.empty() ? lr.media_type : opts.media_type;
    desc.digest = d;
    desc.size = static_cast<int64_t>(lr.size);
    step.layer = desc;
    step.diff_id = lr.diff_id;
    step.created = opts.created;
    s.layers.push_back(desc);
    s.config.diff_ids.push_back(lr.diff_id);
    s.applied = s.layers.size();  // the rootfs already holds this layer
    s.unsaved_bytes += static_cast<uint64_t>(desc.size);
  }
  if (focus) {
    s.snapshot->Merge(*focus, std::move(after));
  } else if (delta) {
    s.snapshot->Apply(std::move(*delta));
  } else {
    ReplaceSnapshot(s, std::move(after));
  }
  OCIB_TRY(MaybeSave(s, false, false));
  AddHistory(s, created_by, !step.layer.has_value(), opts.created);
  s.cache_key = ContentChainKey(key, step);
  return cache_.Put(key, step);
}

}  // namespace ocibuild::builder
