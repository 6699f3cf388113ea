#include "oci/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "oci/safe_path.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace ocibuild::oci {
namespace {

// Coarse kernel timestamps tick at most every 10 ms (HZ=100); anything changed within this
// window of the walk could change again without moving its timestamps.
constexpr int64_t kRacyWindowNs = 20'000'000;

int64_t Ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string Join(const std::string& dir, const char* name) {
  if (dir.empty()) return name;
  std::string s;
  s.reserve(dir.size() + 1 + std::strlen(name));
  s += dir;
  s += '/';
  s += name;
  return s;
}

NodeState FromStat(const struct stat& st, const MetaStore& store) {
  NodeState n;
  n.mode = st.st_mode;
  n.nlink = static_cast<uint32_t>(st.st_nlink);
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.ino = st.st_ino;
  n.size = static_cast<uint64_t>(st.st_size);
  n.mtime_ns = Ns(st.st_mtim);
  n.ctime_ns = Ns(st.st_ctim);
  if (const FileMeta* m = store.Find(st.st_ino)) n.meta = *m;
  return n;
}

// A regular file changed within the racy window before `taken_ns`: its content is hashed, not
// trusted to stat.
bool IsRacy(const struct stat& st, int64_t taken_ns) {
  return S_ISREG(st.st_mode) &&
         std::max(Ns(st.st_mtim), Ns(st.st_ctim)) >= taken_ns - kRacyWindowNs;
}

int64_t RealtimeNs() {
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  return Ns(now);
}

}  // namespace

Result<std::string> HashFileInRoot(const RootDir& root, const std::string& path, bool follow) {
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd,
                        root.OpenAt(path, O_RDONLY | (follow ? 0 : O_NOFOLLOW) | O_NONBLOCK));
  Sha256 sha;
  // Racy files are hashed one by one, most of them small: a zeroed 1 MiB buffer each cost more
  // than the hashing.
  constexpr size_t kBuf = 128 << 10;
  std::unique_ptr<char[]> buf(new char[kBuf]);
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.get(), kBuf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read", path);
    }
    if (n == 0) break;
    sha.Update(buf.get(), static_cast<size_t>(n));
  }
  return sha.FinishHex();
}

Result<Snapshot> Snapshot::Walk(const RootDir& root, const MetaStore& store, size_t expected_size,
                                const std::vector<std::string>& singles,
                                std::vector<std::string> dirs) {
  Snapshot snap;
  if (expected_size > 0) snap.nodes_.reserve(expected_size + expected_size / 8);
  snap.taken_ns_ = RealtimeNs();
  auto is_racy = [&snap](const struct stat& st) { return IsRacy(st, snap.taken_ns_); };

  std::vector<std::string> racy;
  for (const std::string& p : singles) {
    struct stat st;
    if (p.empty()) {
      if (::fstat(root.fd(), &st) != 0) return SysError("fstat", root.path());
    } else {
      auto fd = root.OpenAt(p, O_PATH | O_NOFOLLOW);
      if (!fd.ok()) {
        if (fd.error().sys_errno == ENOENT || fd.error().sys_errno == ENOTDIR) continue;
        return fd.error();
      }
      if (::fstat(fd->get(), &st) != 0) return SysError("fstat", p);
      if (is_racy(st)) racy.push_back(p);
    }
    snap.nodes_.emplace(p, FromStat(st, store));
  }

  // Two workers share a queue of directories: the walk is all stat() calls, which a second core
  // halves. Each keeps its own results; they are merged once at the end.
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> queue;
    int busy = 0;
    bool failed = false;
    Error error;
  } sh;
  sh.queue = std::move(dirs);
  struct Local {
    std::vector<std::pair<std::string, NodeState>> nodes;
    std::vector<std::string> racy;
  };
  auto walk_dir = [&](const std::string& dir, Local& out,
                      std::vector<std::string>& subdirs) -> Status {
    // Each directory is reopened from the root (in-root resolution) rather than through a chain
    // of held fds: deep trees then cost no fds, and a directory swapped for a symlink during the
    // walk still cannot lead outside the root.
    auto dfd = root.OpenAt(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dfd.ok()) {
      // Vanished while we walked: the diff reports what is there now.
      if (dfd.error().sys_errno == ENOENT || dfd.error().sys_errno == ENOTDIR) return Ok();
      return dfd.error();
    }
    int fd = dfd->release();
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return SysError("fdopendir", dir);
    }
    std::unique_ptr<DIR, int (*)(DIR*)> guard(d, ::closedir);
    errno = 0;
    while (struct dirent* de = ::readdir(d)) {
      const char* name = de->d_name;
      if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
      struct stat st;
      if (::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno == ENOENT) continue;
        return SysError("fstatat", Join(dir, name));
      }
      std::string path = Join(dir, name);
      if (S_ISDIR(st.st_mode)) subdirs.push_back(path);
      if (is_racy(st)) out.racy.push_back(path);
      out.nodes.emplace_back(std::move(path), FromStat(st, store));
      errno = 0;
    }
    if (errno != 0) return SysError("readdir", dir);
    return Ok();
  };
  auto worker = [&](Local& out) {
    std::vector<std::string> subdirs;
    std::unique_lock<std::mutex> lock(sh.mu);
    for (;;) {
      sh.cv.wait(lock, [&] { return sh.failed || !sh.queue.empty() || sh.busy == 0; });
      if (sh.failed || sh.queue.empty()) break;
      std::string dir = std::move(sh.queue.back());
      sh.queue.pop_back();
      ++sh.busy;
      lock.unlock();
      subdirs.clear();
      Status st = walk_dir(dir, out, subdirs);
      lock.lock();
      --sh.busy;
      if (!st.ok() && !sh.failed) {
        sh.failed = true;
        sh.error = std::move(st).error();
      }
      for (auto& sd : subdirs) sh.queue.push_back(std::move(sd));
      sh.cv.notify_all();
    }
  };
  unsigned n_workers = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  std::vector<Local> locals(n_workers);
  {
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < n_workers; ++i) threads.emplace_back(worker, std::ref(locals[i]));
    worker(locals[0]);
    for (auto& t : threads) t.join();
  }
  if (sh.failed) return sh.error;
  size_t total = 0;
  for (auto& l : locals) total += l.nodes.size();
  snap.nodes_.reserve(total + snap.nodes_.size());
  for (auto& l : locals) {
    for (auto& [p, n] : l.nodes) snap.nodes_.emplace(std::move(p), std::move(n));
    for (auto& r : l.racy) racy.push_back(std::move(r));
  }
  OCIB_TRY(snap.HashRacy(root, racy));
  return snap;
}

Status Snapshot::HashRacy(const RootDir& root, const std::vector<std::string>& racy) {
  for (const auto& p : racy) {
    auto h = HashFileInRoot(root, p);
    if (!h.ok()) {
      if (h.error().sys_errno == ENOENT) continue;
      return h.error();
    }
    nodes_[p].racy_hash = std::move(*h);
  }
  return Ok();
}

void Snapshot::WaitPastRacyWindow(const std::vector<std::pair<std::string, struct stat>>& stats) {
  int64_t newest = 0;
  for (const auto& [p, st] : stats)
    if (S_ISREG(st.st_mode)) newest = std::max({newest, Ns(st.st_mtim), Ns(st.st_ctim)});
  // IsRacy's bound, one millisecond on: a file is racy while newest >= taken - window.
  int64_t wait = newest + kRacyWindowNs + 1'000'000 - RealtimeNs();
  if (wait > 0)
    ::usleep(static_cast<useconds_t>(std::min<int64_t>(wait, kRacyWindowNs * 2) / 1000));
}

Result<bool> Snapshot::RestatChanged(const RootDir& root,
                                     std::vector<std::pair<std::string, struct stat>>* stats,
                                     const std::vector<std::string>& paths) {
  // The paths and every directory above them, parents first.
  std::vector<std::string> touched;
  {
    std::unordered_set<std::string> seen{""};
    touched.emplace_back();
    for (const std::string& raw : paths) {
      auto clean = CleanPath(raw);
      if (!clean.ok()) return false;
      for (std::string_view p = *clean; !p.empty(); p = ParentPath(p)) {
        if (!seen.emplace(p).second) break;
        touched.emplace_back(p);
      }
    }
    auto depth = [](const std::string& x) {
      return x.empty() ? -1 : std::count(x.begin(), x.end(), '/');
    };
    std::stable_sort(
        touched.begin(), touched.end(),
        [&](const std::string& a, const std::string& b) { return depth(a) < depth(b); });
  }
  std::unordered_map<std::string_view, size_t> index;
  index.reserve(stats->size());
  for (size_t i = 0; i < stats->size(); ++i) index.emplace((*stats)[i].first, i);

  std::unordered_map<std::string, struct stat> fresh;  // each touched path, as it is now
  std::unordered_set<ino_t> aliased;  // inodes whose other names' link count and ctime moved
  for (const std::string& t : touched) {
    struct stat st;
    if (t.empty()) {
      if (::fstat(root.fd(), &st) != 0) return SysError("fstat", root.path());
    } else {
      // Its parent was stat'ed just before (parents first). Only through directories is the
      // path the one a walk would find: a symlink on the way sent the write elsewhere.
      auto parent = fresh.find(std::string(ParentPath(t)));
      if (parent == fresh.end() || !S_ISDIR(parent->second.st_mode)) return false;
      // Written, then gone, or anything else odd: the caller walks instead.
      if (::fstatat(root.fd(), t.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
    }
    auto it = index.find(t);
    if (it != index.end()) {
      const struct stat& old = (*stats)[it->second].second;
      if (S_ISDIR(old.st_mode) && !S_ISDIR(st.st_mode)) return false;  // a subtree went
      if (!S_ISDIR(old.st_mode) && old.st_nlink > 1) aliased.insert(old.st_ino);
    }
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) aliased.insert(st.st_ino);
    fresh.emplace(t, st);
  }
  for (auto& [p, st] : *stats) {
    if (auto f = fresh.find(p); f != fresh.end()) {
      st = f->second;
      fresh.erase(f);
    } else if (!S_ISDIR(st.st_mode) && aliased.count(st.st_ino)) {
      if (::fstatat(root.fd(), p.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
    }
  }
  for (auto& [p, st] : fresh) stats->emplace_back(p, st);  // new paths
  return true;
}

Result<Snapshot> Snapshot::FromStats(const RootDir& root, const MetaStore& store,
                                     std::vector<std::pair<std::string, struct stat>> stats) {
  Snapshot snap;
  snap.taken_ns_ = RealtimeNs();
  snap.nodes_.reserve(stats.size());
  std::vector<std::string> racy;
  for (auto& [p, st] : stats) {
    if (!p.empty() && IsRacy(st, snap.taken_ns_)) racy.push_back(p);
    snap.nodes_.insert_or_assign(std::move(p), FromStat(st, store));
  }
  OCIB_TRY(snap.HashRacy(root, racy));
  return snap;
}

Result<Snapshot> Snapshot::Take(const RootDir& root, const MetaStore& store, size_t expected_size) {
  return Walk(root, store, expected_size, {""}, {""});
}

Result<SnapshotDelta> Snapshot::Changes(const Snapshot& before, const RootDir& root,
                                        const MetaStore& store,
                                        const std::vector<std::string>& restat,
                                        const std::vector<std::string>& rewalk,
                                        const std::vector<uint64_t>& linked) {
  std::vector<std::string> singles(restat);
  singles.insert(singles.end(), rewalk.begin(), rewalk.end());
  // Owners the sandbox recorded without touching the disk.
  for (const auto& [p, n] : before.nodes_) {
    const FileMeta* m = store.Find(n.ino);
    if (m ? !n.meta || !(*n.meta == *m) : n.meta.has_value()) singles.push_back(p);
  }
  std::sort(singles.begin(), singles.end());
  singles.erase(std::unique(singles.begin(), singles.end()), singles.end());
  OCIB_ASSIGN_OR_RETURN(Snapshot fresh, Walk(root, store, 0, singles, {}));
  std::unordered_set<std::string_view> moved(rewalk.begin(), rewalk.end());

  // A named path whose directory went, or is another directory now (made during the step, so
  // without a watch), loses its old subtree and is walked again.
  std::unordered_set<std::string_view> gone_dirs;
  std::vector<std::string> walk;
  for (const std::string& p : singles) {
    if (p.empty()) continue;  // the root stays the root
    const NodeState* was = before.Find(p);
    const NodeState* now = fresh.Find(p);
    bool same_dir = was && now && S_ISDIR(was->mode) && S_ISDIR(now->mode) &&
                    was->ino == now->ino && !moved.count(p);
    if (was && S_ISDIR(was->mode) && !same_dir) gone_dirs.insert(p);
    if (now && S_ISDIR(now->mode) && !same_dir) walk.push_back(p);
  }
  {  // only the outermost of nested directories is walked
    std::unordered_set<std::string_view> walked(walk.begin(), walk.end());
    std::erase_if(walk, [&](const std::string& p) {
      for (std::string_view a = ParentPath(p); !a.empty(); a = ParentPath(a))
        if (walked.count(a)) return true;
      return false;
    });
  }
  Snapshot below;
  if (!walk.empty()) {
    OCIB_ASSIGN_OR_RETURN(below, Walk(root, store, 0, {}, walk));
  }

  // The old paths that may be no more: the named ones and what was below a directory that went.
  std::unordered_set<std::string_view> erased;
  // Inodes whose other names' link count and ctime moved.
  std::unordered_set<uint64_t> aliased(linked.begin(), linked.end());
  auto note_alias = [&](const NodeState& n) {
    if (!S_ISDIR(n.mode) && n.nlink > 1) aliased.insert(n.ino);
  };
  auto under_gone = [&](std::string_view p) {
    for (std::string_view a = ParentPath(p);; a = ParentPath(a)) {
      if (gone_dirs.count(a)) return true;
      if (a.empty()) return false;
    }
  };
  if (!gone_dirs.empty()) {
    for (const auto& [p, n] : before.nodes_) {
      if (p.empty() || !under_gone(p)) continue;
      erased.insert(p);
      note_alias(n);
    }
  }
  for (const std::string& p : singles) {
    if (const NodeState* n = before.Find(p)) {
      erased.insert(p);
      note_alias(*n);
    }
  }
  // What is there now, parents first: a path is only what a walk finds when every directory
  // above it is one now (a path a moved directory's watch reported may lead through a symlink
  // that took its place).
  std::vector<std::pair<std::string, NodeState>> found;
  found.reserve(fresh.nodes_.size() + below.nodes_.size());
  for (Snapshot* part : {&fresh, &below})
    for (auto& [p, n] : part->nodes_) found.emplace_back(p, std::move(n));
  auto depth = [](const std::string& x) {
    return x.empty() ? -1 : std::count(x.begin(), x.end(), '/');
  };
  std::stable_sort(found.begin(), found.end(),
                   [&](const auto& a, const auto& b) { return depth(a.first) < depth(b.first); });
  std::unordered_map<std::string_view, const NodeState*> now;
  auto find_now = [&](std::string_view p) -> const NodeState* {
    if (auto it = now.find(p); it != now.end()) return it->second;
    if (erased.count(p)) return nullptr;
    return before.Find(std::string(p));
  };
  SnapshotDelta delta;
  delta.now.reserve(found.size());
  for (auto& [p, n] : found) {
    if (now.count(p)) continue;  // the same path from both walks
    if (!p.empty()) {
      const NodeState* parent = find_now(ParentPath(p));
      if (!parent || !S_ISDIR(parent->mode)) continue;
    }
    note_alias(n);
    now.emplace(p, &n);
  }
  // The other names of those inodes, as they are now.
  if (!aliased.empty()) {
    std::vector<std::string> others;
    for (const auto& [p, n] : before.nodes_)
      if (!S_ISDIR(n.mode) && aliased.count(n.ino) && !erased.count(p) && !now.count(p))
        others.push_back(p);
    if (!others.empty()) {
      OCIB_ASSIGN_OR_RETURN(Snapshot again, Walk(root, store, 0, others, {}));
      for (const std::string& p : others) {
        auto it = again.nodes_.find(p);
        if (it == again.nodes_.end()) {
          delta.gone.push_back(p);
        } else {
          delta.now.emplace_back(p, std::move(it->second));
        }
      }
    }
  }
  for (const std::string_view p : erased)
    if (!now.count(p)) delta.gone.emplace_back(p);
  for (auto& [p, n] : found)
    if (auto it = now.find(p); it != now.end() && it->second == &n)
      delta.now.emplace_back(p, std::move(n));
  return delta;
}

void Snapshot::Apply(SnapshotDelta&& delta) {
  for (const std::string& p : delta.gone) nodes_.erase(p);
  for (auto& [p, n] : delta.now) nodes_.insert_or_assign(std::move(p), std::move(n));
  taken_ns_ = RealtimeNs();
}

std::vector<std::string> Snapshot::Differences(const Snapshot& a, const Snapshot& b, size_t max) {
  std::vector<std::string> out;
  auto add = [&](const std::string& p, const std::string& what) {
    out.push_back((p.empty() ? std::string("/") : p) + ": " + what);
  };
  for (const auto& [p, n] : a.nodes_) {
    const NodeState* o = b.Find(p);
    if (!o) {
      add(p, "only in the first");
      continue;
    }
    if (!n.SameStat(*o)) {
      std::string what;
      if (n.mode != o->mode) what += " mode";
      if (n.ino != o->ino) what += " inode";
      if (n.size != o->size) what += " size";
      if (n.mtime_ns != o->mtime_ns) what += " mtime";
      if (n.ctime_ns != o->ctime_ns) what += " ctime";
      if (n.uid != o->uid || n.gid != o->gid) what += " host owner";
      if (n.meta != o->meta) what += " store record";
      add(p, "differs in" + what);
    } else if (!n.racy_hash.empty() && !o->racy_hash.empty() && n.racy_hash != o->racy_hash) {
      add(p, "differs in content");
    }
  }
  for (const auto& [p, n] : b.nodes_)
    if (!a.Find(p)) add(p, "only in the second");
  std::sort(out.begin(), out.end());
  if (out.size() > max) out.resize(max);
  return out;
}

Result<Snapshot> Snapshot::TakeScoped(const RootDir& root, const MetaStore& store,
                                      const PathScope& scope) {
  std::vector<std::string> singles{""};
  std::vector<std::string> dirs;
  for (const std::string& r : scope.roots()) {
    if (r.empty()) return Take(root, store);
    for (std::string_view a = ParentPath(r); !a.empty(); a = ParentPath(a)) singles.emplace_back(a);
    singles.push_back(r);
  }
  std::sort(singles.begin(), singles.end());
  singles.erase(std::unique(singles.begin(), singles.end()), singles.end());
  OCIB_ASSIGN_OR_RETURN(Snapshot snap, Walk(root, store, 0, singles, {}));
  // The roots that are directories now: their subtrees.
  for (const std::string& r : scope.roots()) {
    const NodeState* n = snap.Find(r);
    if (n && S_ISDIR(n->mode)) dirs.push_back(r);
  }
  if (dirs.empty()) return snap;
  OCIB_ASSIGN_OR_RETURN(Snapshot below, Walk(root, store, 0, {}, std::move(dirs)));
  for (auto& [p, n] : below.nodes_) snap.nodes_.insert_or_assign(p, std::move(n));
  return snap;
}

Snapshot Snapshot::Part(const PathScope& scope) const {
  Snapshot part;
  part.taken_ns_ = taken_ns_;
  for (const auto& [p, n] : nodes_)
    if (p.empty() || scope.Relevant(p)) part.nodes_.emplace(p, n);
  return part;
}

void Snapshot::Merge(const PathScope& scope, Snapshot&& part) {
  std::erase_if(nodes_,
                [&](const auto& kv) { return kv.first.empty() || scope.Relevant(kv.first); });
  for (auto& [p, n] : part.nodes_) nodes_.insert_or_assign(p, std::move(n));
}

std::vector<std::string> Snapshot::Paths() const {
  std::vector<std::string> out;
  out.reserve(nodes_.size());
  for (const auto& [p, n] : nodes_)
    if (!p.empty()) out.push_back(p);
  return out;
}

}  // namespace ocibuild::oci
