#include "builder/rootfs_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <functional>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "builder/trash.h"
#include "util/bytes.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/two_threads.h"

namespace ocibuild::builder {
namespace {

// "manifest": what each inode was when saved, and in which entry of the chain its node is.
// (Entries from before chains had "files" and no id: evicted when the cache is opened.)
constexpr char kManifest[] = "manifest";
constexpr char kMeta[] = "meta";
constexpr char kTmpPrefix[] = "tmp-";
// A random name of the entry, made when it is saved. A key names whatever entry holds that layer
// chain now: an entry removed and saved again under its key is another entry, whose nodes/ may
// reuse the inode numbers of the old one's for other files.
constexpr char kId[] = "id";
// The entries whose nodes/ this entry uses too, nearest first, one "<key> <id>" per line (see
// RootfsCache::Save). Empty: every node is in the entry's own nodes/.
constexpr char kChain[] = "chain";
// An entry refers to at most this many others: a chain that grows with every save of every
// build would keep old entries alive without end, and each one is a directory to open.
constexpr size_t kMaxChain = 3;

// What an entry knows about each inode it shares: a change to any of these means the inode was
// written in place after the entry was made.
struct Recorded {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;
  bool operator==(const Recorded&) const = default;
};
// `level`: 0 when the inode is linked in the entry's own nodes/, k when in that of the k-th
// entry of its chain.
struct Node {
  Recorded rec;
  uint8_t level = 0;
};
using Manifest = std::unordered_map<uint64_t, Node>;

Recorded RecordOf(const struct stat& st) {
  return Recorded{static_cast<uint64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                  st.st_mode};
}

std::string EncodeManifest(const Manifest& m) {
  ByteWriter w;
  for (const auto& [ino, n] : m) {
    w.U64(ino);
    w.U64(n.rec.size);
    w.U64(static_cast<uint64_t>(n.rec.mtime_ns));
    w.U32(n.rec.mode);
    w.U8(n.level);
  }
  return w.data();
}

Result<Manifest> DecodeManifest(const std::string& data, const std::string& shown) {
  constexpr size_t kRecord = 29;
  if (data.size() % kRecord != 0) return Error{shown + ": truncated"};
  Manifest m;
  m.reserve(data.size() / kRecord);
  ByteReader in(data);
  while (!in.done()) {
    uint64_t ino = in.U64();
    Node n;
    n.rec.size = in.U64();
    n.rec.mtime_ns = static_cast<int64_t>(in.U64());
    n.rec.mode = in.U32();
    n.level = in.U8();
    m.emplace(ino, n);
  }
  return m;
}

Result<Manifest> ReadManifest(const std::string& entry) {
  std::string path = JoinPath(entry, kManifest);
  OCIB_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  return DecodeManifest(data, path);
}

struct ChainLink {
  std::string key;
  std::string id;
};

// The chain of an entry (its kChain file; an entry without one is damaged).
Result<std::vector<ChainLink>> ReadChain(const std::string& entry) {
  std::string path = JoinPath(entry, kChain);
  OCIB_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  std::vector<ChainLink> links;
  for (size_t at = 0; at < data.size();) {
    size_t nl = data.find('\n', at);
    size_t sp = data.find(' ', at);
    if (nl == std::string::npos || sp == std::string::npos || sp > nl)
      return Error{path + ": damaged"};
    links.push_back({data.substr(at, sp - at), data.substr(sp + 1, nl - sp - 1)});
    at = nl + 1;
  }
  if (links.size() > kMaxChain) return Error{path + ": too long"};
  return links;
}

// Whether every entry of `chain` is still the entry it was when the chain was written.
bool ChainIntact(const std::string& dir, const std::vector<ChainLink>& chain) {
  for (const auto& link : chain) {
    auto id = ReadFile(JoinPath(JoinPath(dir, link.key), kId));
    if (!id.ok() || *id != link.id) return false;
  }
  return true;
}

// An entry is flat: every non-directory of the tree is one hardlink in nodes/, named by its
// inode number, and `dirs` lists the tree in pre-order (directories with their mode, times and
// xattrs; other nodes by inode). Saving makes no directory at all: on a filesystem where making
// an inode is slow (ext4 without a journal scans for inodes not recently deleted) thousands of
// mkdirs were most of a save's cost; links are cheap everywhere.
constexpr char kNodes[] = "nodes";
constexpr char kDirs[] = "dirs";

// The nodes/ directories of `entry` (in the cache directory `dir`) and of its chain, in the
// order a manifest level indexes them.
std::vector<std::string> ChainNodes(const std::string& dir, const std::string& entry,
                                    const std::vector<ChainLink>& chain) {
  std::vector<std::string> out{JoinPath(entry, kNodes)};
  for (const auto& link : chain) out.push_back(JoinPath(JoinPath(dir, link.key), kNodes));
  return out;
}

struct DirAttrs {
  uint32_t mode = 0;
  struct timespec times[2] = {};
  XattrList xattrs;
};

void PutDirAttrs(ByteWriter& w, int fd, const struct stat& st) {
  w.U32(st.st_mode);
  w.U64(static_cast<uint64_t>(st.st_atim.tv_sec));
  w.U64(static_cast<uint64_t>(st.st_atim.tv_nsec));
  w.U64(static_cast<uint64_t>(st.st_mtim.tv_sec));
  w.U64(static_cast<uint64_t>(st.st_mtim.tv_nsec));
  XattrList xs = ReadXattrs(fd);
  w.U32(static_cast<uint32_t>(xs.size()));
  for (const auto& [name, value] : xs) {
    w.Str(name);
    w.Str(value);
  }
}

DirAttrs GetDirAttrs(ByteReader& r) {
  DirAttrs a;
  a.mode = r.U32();
  for (auto& t : a.times) {
    t.tv_sec = static_cast<time_t>(r.U64());
    t.tv_nsec = static_cast<long>(r.U64());
  }
  for (uint32_t n = r.U32(); r.ok() && n > 0; --n) {
    std::string name = r.Str();
    a.xattrs.emplace_back(std::move(name), r.Str());
  }
  return a;
}

// Walks the work tree: links its nodes into nodes/ and lists the tree into `w`.
class Saver {
 public:
  // `parent`: the manifest of the entry the tree already shares inodes with (nullptr: none).
  Saver(int nodes_fd, const oci::MetaStore& from, oci::MetaStore& meta, Manifest& manifest,
        std::unordered_set<uint64_t>* linked, const Manifest* parent,
        std::vector<uint64_t>* relinked)
      : nodes_(nodes_fd),
        from_(from),
        meta_(meta),
        manifest_(manifest),
        linked_(linked),
        parent_(parent),
        relinked_(relinked) {}

  Status Dir(int fd, const std::string& rel, const std::string& shown, const struct stat& st) {
    w_.U8('d');
    w_.Str(rel);
    w_.U64(st.st_ino);
    PutDirAttrs(w_, fd, st);
    if (const oci::FileMeta* m = from_.Find(st.st_ino)) meta_.Set(st.st_ino, *m);
    OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(fd, shown));
    for (const auto& name : names) {
      std::string sub_rel = rel.empty() ? name : rel + "/" + name;
      std::string sub = shown + "/" + name;
      struct stat cst;
      if (::fstatat(fd, name.c_str(), &cst, AT_SYMLINK_NOFOLLOW) != 0) return SysError("stat", sub);
      if (S_ISDIR(cst.st_mode)) {
        UniqueFd c(::openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!c) return SysError("open", sub);
        OCIB_TRY(Dir(c.get(), sub_rel, sub, cst));
        continue;
      }
      Recorded rec = RecordOf(cst);
      if (!manifest_.count(cst.st_ino)) {
        // An inode the parent entry holds unchanged is not linked again: most of a tree saved
        // after a step is the tree it was restored from, and a link is most of a save's cost.
        // That entry's node keeps the inode, so the number names the same file.
        auto p = parent_ ? parent_->find(cst.st_ino) : Manifest::const_iterator();
        if (parent_ && p != parent_->end() && p->second.rec == rec) {
          manifest_.emplace(cst.st_ino, Node{rec, static_cast<uint8_t>(p->second.level + 1)});
        } else {
          std::string node = std::to_string(cst.st_ino);
          if (::linkat(fd, name.c_str(), nodes_, node.c_str(), 0) != 0)
            return SysError("link", sub);
          manifest_.emplace(cst.st_ino, Node{rec, 0});
          if (relinked_) relinked_->push_back(cst.st_ino);
        }
        if (linked_) linked_->insert(cst.st_ino);
        if (const oci::FileMeta* m = from_.Find(cst.st_ino)) meta_.Set(cst.st_ino, *m);
      }
      w_.U8('n');
      w_.Str(sub_rel);
      w_.U64(cst.st_ino);
    }
    return Ok();
  }
  const std::string& listing() const { return w_.data(); }

 private:
  int nodes_;
  const oci::MetaStore& from_;
  oci::MetaStore& meta_;
  Manifest& manifest_;
  std::unordered_set<uint64_t>* linked_;
  const Manifest* parent_;
  std::vector<uint64_t>* relinked_;
  ByteWriter w_;
};

enum class Restored { kOk, kDamaged, kNeedsLink };

// The nodes/ directories of an entry's chain, its own first (a manifest level indexes it).
using NodesFds = std::vector<UniqueFd>;

// The nodes/ directory where the manifest says node `ino` is; -1 when it says nothing.
int NodesOf(const NodesFds& nodes, const Manifest& manifest, uint64_t ino) {
  auto it = manifest.find(ino);
  if (it == manifest.end() || it->second.level >= nodes.size()) return -1;
  return nodes[it->second.level].get();
}

// Stats node `ino` of an entry into `st`: true when it is still what the manifest recorded.
bool NodeIntact(const NodesFds& nodes, uint64_t ino, const Manifest& manifest, struct stat& st) {
  int dir = NodesOf(nodes, manifest, ino);
  std::string node = std::to_string(ino);
  return dir >= 0 && ::fstatat(dir, node.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         st.st_ino == ino && manifest.at(ino).rec == RecordOf(st);
}

// Links the nodes `made` (inode, path) of a whole tree, whose directories all exist, then
// checks each inode against the manifest and appends every path's final stat to `stats`.
// Linking is most of a restore and the names are independent: two threads share it.
Result<bool> LinkAndCheck(const NodesFds& nodes, int root_fd, const std::string& rootfs,
                          const Manifest& manifest,
                          std::vector<std::pair<uint64_t, std::string>>& made,
                          RestoreStats& stats) {
  std::vector<uint64_t> inos;
  inos.reserve(made.size());
  {
    std::unordered_set<uint64_t> seen;
    seen.reserve(made.size());
    for (const auto& [ino, rel] : made)
      if (seen.insert(ino).second) inos.push_back(ino);
  }
  std::vector<struct stat> st(inos.size());
  FirstFailure link;  // the index in `made` of a link that failed
  std::atomic<bool> damaged{false};
  // Every name linked first; then each inode stat'ed once (after every link, so that the stat
  // holds the final link count and ctime).
  OnTwoThreads(made.size(), [&](size_t from, size_t to) {
    for (size_t i = from; i < to && !link.failed(); ++i) {
      std::string node = std::to_string(made[i].first);
      int dir = NodesOf(nodes, manifest, made[i].first);
      if (dir < 0 || ::linkat(dir, node.c_str(), root_fd, made[i].second.c_str(), 0) != 0)
        link.Set(i, "link");
    }
  });
  if (link.failed()) return link.ToError(JoinPath(rootfs, made[link.at.load()].second));
  OnTwoThreads(inos.size(), [&](size_t from, size_t to) {
    for (size_t i = from; i < to && !damaged.load(); ++i)
      if (!NodeIntact(nodes, inos[i], manifest, st[i])) damaged.store(true);
  });
  if (damaged.load()) return false;
  std::unordered_map<uint64_t, size_t> index;
  index.reserve(inos.size());
  for (size_t i = 0; i < inos.size(); ++i) index.emplace(inos[i], i);
  stats.reserve(stats.size() + made.size());
  for (auto& [ino, rel] : made) stats.emplace_back(std::move(rel), st[index[ino]]);
  return true;
}

// Rebuilds the tree of an entry in the empty directory `root_fd`: all of it, or only what
// `scope` holds (the listing is flat: records outside the scope are skipped, and a directory's
// records all lie below it, so its ancestors come first). kDamaged when a node was changed in
// place since the save (or the entry is damaged): the caller drops the entry. Without
// `may_link`, kNeedsLink as soon as a node would have to be linked. A whole tree's nodes are
// linked once its directories are made (LinkAndCheck), and `stats`, when given, receives every
// path's lstat once the tree is made, taken on the way (see Snapshot::FromStats).
Result<Restored> RestoreTree(const std::string& entry, const NodesFds& nodes, int root_fd,
                             const std::string& rootfs, const Manifest* manifest,
                             const oci::MetaStore& meta, oci::MetaStore& store,
                             std::unordered_set<uint64_t>* linked, const oci::PathScope* scope,
                             bool may_link, std::vector<std::string>* cross_links,
                             RestoreStats* stats) {
  auto listing = ReadFile(JoinPath(entry, kDirs));
  if (!listing.ok()) return Restored::kDamaged;
  struct PendingDir {
    std::string rel;
    uint64_t key;
    DirAttrs attrs;
  };
  std::vector<PendingDir> dirs;
  // Scoped: how many names each inode has in the whole tree, and its names in the scope.
  std::unordered_map<uint64_t, size_t> names;
  std::vector<std::pair<uint64_t, std::string>> in_scope;
  // Whole trees: the names to link once the directories are made.
  std::vector<std::pair<uint64_t, std::string>> made;
  ByteReader r(*listing);
  while (!r.done() && r.ok()) {
    uint8_t kind = r.U8();
    std::string rel = r.Str();
    uint64_t ino = r.U64();
    if (kind == 'd') {
      DirAttrs attrs = GetDirAttrs(r);
      if (scope && !scope->Relevant(rel)) continue;
      if (!rel.empty() && ::mkdirat(root_fd, rel.c_str(), 0700) != 0)
        return SysError("mkdir", JoinPath(rootfs, rel));
      dirs.push_back({std::move(rel), ino, std::move(attrs)});
      continue;
    }
    if (kind != 'n' || rel.empty()) return Restored::kDamaged;
    if (scope) {
      ++names[ino];
      if (!scope->Relevant(rel)) continue;
      in_scope.emplace_back(ino, rel);
    }
    if (!may_link) return Restored::kNeedsLink;
    if (linked) linked->insert(ino);
    if (const oci::FileMeta* m = meta.Find(ino)) store.Set(ino, *m);
    if (!scope) {
      made.emplace_back(ino, std::move(rel));
      continue;
    }
    struct stat st;
    if (!NodeIntact(nodes, ino, *manifest, st)) return Restored::kDamaged;
    if (::linkat(NodesOf(nodes, *manifest, ino), std::to_string(ino).c_str(), root_fd, rel.c_str(),
                 0) != 0)
      return SysError("link", JoinPath(rootfs, rel));
  }
  RestoreStats unused;
  if (!scope) {
    OCIB_ASSIGN_OR_RETURN(bool intact, LinkAndCheck(nodes, root_fd, rootfs, *manifest, made,
                                                    stats ? *stats : unused));
    if (!intact) return Restored::kDamaged;
  }
  if (!r.ok() || dirs.empty() || !dirs[0].rel.empty()) return Restored::kDamaged;
  if (cross_links) {
    std::unordered_map<uint64_t, size_t> inside;
    for (const auto& [ino, rel] : in_scope) ++inside[ino];
    for (const auto& [ino, rel] : in_scope)
      if (names[ino] > inside[ino]) cross_links->push_back(rel);
  }
  // Every child is made by now, so no later change moves a directory's times: the directories
  // take theirs in any order, on two threads. Those without xattrs by path (three calls instead
  // of open, chmod, utimens, stat and close): the tree is ours, and no step runs in it yet.
  std::vector<struct stat> dst(dirs.size());
  FirstFailure attrs;
  OnTwoThreads(dirs.size(), [&](size_t from, size_t to) {
    for (size_t i = from; i < to && !attrs.failed(); ++i) {
      const PendingDir& d = dirs[i];
      if (d.rel.empty() || !d.attrs.xattrs.empty()) {
        UniqueFd fd(d.rel.empty() ? ::fcntl(root_fd, F_DUPFD_CLOEXEC, 0)
                                  : ::openat(root_fd, d.rel.c_str(),
                                             O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!fd) {
          attrs.Set(i, "open");
          continue;
        }
        WriteXattrs(fd.get(), d.attrs.xattrs);
        if (::fchmod(fd.get(), d.attrs.mode & 07777) != 0) {
          attrs.Set(i, "chmod");
        } else if (::futimens(fd.get(), d.attrs.times) != 0) {
          attrs.Set(i, "utimens");
        } else if (::fstat(fd.get(), &dst[i]) != 0) {
          attrs.Set(i, "stat");
        }
        continue;
      }
      const char* rel = d.rel.c_str();
      if (::fchmodat(root_fd, rel, d.attrs.mode & 07777, 0) != 0) {
        attrs.Set(i, "chmod");
      } else if (::utimensat(root_fd, rel, d.attrs.times, AT_SYMLINK_NOFOLLOW) != 0) {
        attrs.Set(i, "utimens");
      } else if (::fstatat(root_fd, rel, &dst[i], AT_SYMLINK_NOFOLLOW) != 0) {
        attrs.Set(i, "stat");
      }
    }
  });
  if (attrs.failed()) return attrs.ToError(JoinPath(rootfs, dirs[attrs.at.load()].rel));
  for (size_t i = dirs.size(); i-- > 0;) {
    if (const oci::FileMeta* m = meta.Find(dirs[i].key)) store.Set(dst[i].st_ino, *m);
    if (stats) stats->emplace_back(dirs[i].rel, dst[i]);
  }
  return Restored::kOk;
}

// Empties a directory whose descriptor others hold open (the stage's RootDir).
Status ClearDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return SysError("open", dir);
  OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(fd.get(), dir));
  for (const auto& n : names) OCIB_TRY(RemoveAll(JoinPath(dir, n)));
  return Ok();
}

void Touch(const std::string& path) {
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
}

}  // namespace

std::string RootfsChainKey(const std::vector<oci::Digest>& diff_ids) {
  Sha256 h;
  for (const auto& d : diff_ids) {
    h.Update(d.str());
    h.Update("\n");
  }
  return h.FinishHex();
}

namespace {

// Entries waiting in the trash (not its lock files).
size_t TrashBacklog(const std::string& trash_dir) {
  UniqueFd fd(::open(trash_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return 0;
  auto names = ReadDirNames(fd.get(), trash_dir);
  if (!names.ok()) return 0;
  return static_cast<size_t>(std::count_if(names->begin(), names->end(),
                                           [](const std::string& n) { return n[0] != '.'; }));
}

// Takes the cache lock. When it is busy because the trash emptier is unlinking (it holds
// kUnlinkingLock meanwhile), says so with kWaitingLock and waits: the emptier gives the lock up
// after its current slice. A build holding it is not waited for.
Result<bool> TakeLock(int lock, const std::string& lock_path, const std::string& trash_dir) {
  auto try_lock = [&]() -> Result<bool> {
    while (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return false;
      if (errno != EINTR) return SysError("flock", lock_path);
    }
    return true;
  };
  OCIB_ASSIGN_OR_RETURN(bool got, try_lock());
  if (got || trash_dir.empty()) return got;
  auto open_lock = [&](const char* name) {
    return UniqueFd(::open(JoinPath(trash_dir, name).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  };
  UniqueFd unlinking = open_lock(RootfsCache::kUnlinkingLock);
  UniqueFd waiting = open_lock(RootfsCache::kWaitingLock);
  if (!unlinking || !waiting) return false;
  auto emptier_holds = [&] {
    if (::flock(unlinking.get(), LOCK_SH | LOCK_NB) != 0) return true;
    ::flock(unlinking.get(), LOCK_UN);
    return false;
  };
  if (!emptier_holds()) return try_lock();
  if (TrashBacklog(trash_dir) > RootfsCache::kTrashBacklog) {
    // Builds back to back would leave the emptier no time to unlink shared names, and the trash
    // would grow without end: past a few builds' worth, this one lets it work for a while first.
    // Not until it is done: at nice 19 on a machine busy with anything else it may get almost
    // no CPU (a build waited 80 s for it while a compiler ran on both CPUs).
    for (int64_t i = 0; i < RootfsCache::kBacklogWaitMs / 20; ++i) {
      OCIB_ASSIGN_OR_RETURN(got, try_lock());
      if (got) return true;
      if (!emptier_holds()) return try_lock();
      ::usleep(20'000);
    }
  }
  ::flock(waiting.get(), LOCK_SH);
  // The emptier looks every few dozen unlinks; an idle-class emptier on a busy disk may take
  // longer, and then this build goes without the cache rather than wait on.
  for (int i = 0; i < 2500; ++i) {
    OCIB_ASSIGN_OR_RETURN(got, try_lock());
    if (got) return true;
    if (i % 8 == 7 && !emptier_holds()) return try_lock();
    ::usleep(2000);
  }
  return false;
}

Status Discard(const std::string& path, const std::string& trash_dir) {
  if (!trash_dir.empty() && MoveIntoTrash(trash_dir, path).ok()) return Ok();
  return RemoveAll(path);
}

}  // namespace

Result<std::unique_ptr<RootfsCache>> RootfsCache::Open(const std::string& dir, size_t keep,
                                                       const std::string& trash_dir) {
  OCIB_TRY(MakeDirs(dir, 0700));
  if (!trash_dir.empty()) OCIB_TRY(PrepareTrash(trash_dir));
  std::string lock_path = JoinPath(dir, kLock);
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return SysError("open", lock_path);
  OCIB_ASSIGN_OR_RETURN(bool got, TakeLock(lock.get(), lock_path, trash_dir));
  if (!got) return std::unique_ptr<RootfsCache>();
  UniqueFd dfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return SysError("open", dir);
  OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(dfd.get(), dir));
  std::vector<std::pair<int64_t, std::string>> entries;
  for (const auto& n : names) {
    if (n == kLock) continue;
    std::string p = JoinPath(dir, n);
    struct stat st;
    // Interrupted saves, and entries of an older ocibuild (no id: a chain could not name them).
    if (n.rfind(kTmpPrefix, 0) == 0 || ::lstat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) ||
        !PathExists(JoinPath(p, kId))) {
      OCIB_TRY(Discard(p, trash_dir));
      continue;
    }
    entries.emplace_back(
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, p);
  }
  std::sort(entries.begin(), entries.end(), std::greater<>());
  // The entries a kept one uses nodes of are kept too.
  std::unordered_set<std::string> kept;
  for (size_t i = 0; i < entries.size() && i < keep; ++i) {
    kept.insert(entries[i].second);
    if (auto chain = ReadChain(entries[i].second); chain.ok())
      for (const auto& link : *chain) kept.insert(JoinPath(dir, link.key));
  }
  for (const auto& [mtime, path] : entries)
    if (!kept.count(path)) OCIB_TRY(Discard(path, trash_dir));
  return std::unique_ptr<RootfsCache>(new RootfsCache(dir, std::move(lock)));
}

std::vector<std::string> RootfsCache::NodesDirs(const std::vector<oci::Digest>& diff_ids) const {
  std::string entry = JoinPath(dir_, RootfsChainKey(diff_ids));
  auto chain = ReadChain(entry);
  return ChainNodes(dir_, entry, chain.ok() ? *chain : std::vector<ChainLink>{});
}

bool RootfsCache::Claim(const void* owner) {
  std::lock_guard lock(mu_);
  if (!owner_) owner_ = owner;
  return owner_ == owner;
}

bool RootfsCache::Owns(const void* owner) const {
  std::lock_guard lock(mu_);
  return owner_ == owner;
}

void RootfsCache::Release(const void* owner) {
  std::lock_guard lock(mu_);
  if (owner_ == owner) owner_ = nullptr;
}

Result<int> RootfsCache::Restore(const std::string& entry, const std::string& rootfs,
                                 oci::MetaStore& store, std::unordered_set<uint64_t>* shared,
                                 const oci::PathScope* scope, bool may_link,
                                 std::vector<std::string>* cross_links, RestoreStats* stats) {
  // The manifest only checks the nodes linked: without linking it is not read.
  Result<Manifest> manifest = Manifest();
  if (may_link) manifest = ReadManifest(entry);
  auto meta = oci::MetaStore::Load(JoinPath(entry, kMeta));
  auto chain = ReadChain(entry);
  if (!manifest.ok() || !meta.ok() || !chain.ok()) return static_cast<int>(Restored::kDamaged);
  // An entry whose chain lost an entry (evicted, or dropped as changed, and maybe saved again
  // since) is damaged: its nodes there are gone.
  if (!ChainIntact(dir_, *chain)) return static_cast<int>(Restored::kDamaged);
  NodesFds nodes;
  for (const auto& dir : ChainNodes(dir_, entry, *chain)) {
    nodes.emplace_back(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!nodes.back()) return static_cast<int>(Restored::kDamaged);
  }
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return SysError("open", rootfs);
  std::unordered_set<uint64_t> linked;
  if (stats) stats->clear();
  auto got = RestoreTree(entry, nodes, root.get(), rootfs, &*manifest, *meta, store, &linked, scope,
                         may_link, cross_links, scope ? nullptr : stats);
  if (!got.ok()) return static_cast<int>(Restored::kDamaged);
  if (*got == Restored::kOk) {
    if (shared) shared->insert(linked.begin(), linked.end());
    Touch(entry);
  }
  return static_cast<int>(*got);
}

Result<size_t> RootfsCache::RestoreLongest(const std::vector<oci::Digest>& diff_ids,
                                           const std::string& rootfs, oci::MetaStore& store,
                                           std::unordered_set<uint64_t>* shared,
                                           RestoreStats* stats) {
  return RestoreScoped(diff_ids, rootfs, store, shared, nullptr, true, nullptr, stats);
}

Result<size_t> RootfsCache::RestoreScoped(const std::vector<oci::Digest>& diff_ids,
                                          const std::string& rootfs, oci::MetaStore& store,
                                          std::unordered_set<uint64_t>* shared,
                                          const oci::PathScope* scope, bool may_link,
                                          std::vector<std::string>* cross_links,
                                          RestoreStats* stats) {
  for (size_t k = diff_ids.size(); k > 0; --k) {
    if (cross_links) cross_links->clear();
    std::vector<oci::Digest> prefix(diff_ids.begin(), diff_ids.begin() + static_cast<long>(k));
    std::string entry = JoinPath(dir_, RootfsChainKey(prefix));
    if (!PathExists(JoinPath(entry, kManifest))) continue;
    OCIB_ASSIGN_OR_RETURN(
        int got, Restore(entry, rootfs, store, shared, scope, may_link, cross_links, stats));
    if (got == static_cast<int>(Restored::kOk)) return k;
    store.Clear();
    OCIB_TRY(ClearDir(rootfs));
    // A shorter prefix would need links all the same.
    if (got == static_cast<int>(Restored::kNeedsLink)) return size_t{0};
    // Changed in place by an earlier RUN step (or damaged): never use it again. Only the
    // claimant removes entries: unlinking a node moves its ctime in the claimant's tree.
    if (may_link) OCIB_TRY(RemoveAll(entry));
  }
  return size_t{0};
}

Status RootfsCache::Save(const std::vector<oci::Digest>& diff_ids, const std::string& rootfs,
                         const oci::MetaStore& store, std::unordered_set<uint64_t>* shared,
                         size_t parent_layers, std::vector<uint64_t>* relinked, bool* replaced) {
  if (replaced) *replaced = false;
  std::string entry = JoinPath(dir_, RootfsChainKey(diff_ids));
  // The entry the tree shares inodes with, when it is intact enough to build on.
  std::optional<Manifest> parent;
  std::vector<ChainLink> chain;
  if (parent_layers > 0 && parent_layers < diff_ids.size()) {
    std::vector<oci::Digest> prefix(diff_ids.begin(),
                                    diff_ids.begin() + static_cast<long>(parent_layers));
    std::string key = RootfsChainKey(prefix);
    std::string parent_entry = JoinPath(dir_, key);
    auto pchain = ReadChain(parent_entry);
    auto pmanifest = ReadManifest(parent_entry);
    auto pid = ReadFile(JoinPath(parent_entry, kId));
    if (pchain.ok() && pmanifest.ok() && pid.ok() && pchain->size() < kMaxChain &&
        ChainIntact(dir_, *pchain)) {
      parent = std::move(*pmanifest);
      chain.push_back({key, *pid});
      chain.insert(chain.end(), pchain->begin(), pchain->end());
    }
  }
  OCIB_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create(kTmpPrefix, dir_));
  std::string nodes_path = JoinPath(tmp.path(), kNodes);
  OCIB_TRY(MakeDirs(nodes_path, 0700));
  UniqueFd nodes(::open(nodes_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!nodes) return SysError("open", nodes_path);
  UniqueFd root(::open(rootfs.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return SysError("open", rootfs);
  struct stat st;
  if (::fstat(root.get(), &st) != 0) return SysError("stat", rootfs);
  Manifest manifest;
  oci::MetaStore meta;
  Saver saver(nodes.get(), store, meta, manifest, shared, parent ? &*parent : nullptr, relinked);
  OCIB_TRY(saver.Dir(root.get(), "", rootfs, st));
  OCIB_TRY(WriteFile(JoinPath(tmp.path(), kDirs), saver.listing(), 0600));
  std::string chain_text;
  for (const auto& link : chain) chain_text += link.key + " " + link.id + "\n";
  OCIB_TRY(WriteFile(JoinPath(tmp.path(), kChain), chain_text, 0600));
  OCIB_TRY(WriteFile(JoinPath(tmp.path(), kId), RandomHex(16), 0600));
  OCIB_TRY(WriteFile(JoinPath(tmp.path(), kManifest), EncodeManifest(manifest), 0600));
  OCIB_TRY(meta.Save(JoinPath(tmp.path(), kMeta)));
  // An entry of the same chain saved before goes: unlinking its names moves the ctimes of those
  // of its inodes the tree still holds, which the caller must know.
  if (replaced) *replaced = PathExists(entry);
  OCIB_TRY(RemoveAll(entry));
  if (::rename(tmp.path().c_str(), entry.c_str()) != 0) return SysError("rename", entry);
  tmp.Release();
  return Ok();
}

}  // namespace ocibuild::builder
