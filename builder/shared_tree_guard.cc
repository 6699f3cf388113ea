#include "builder/shared_tree_guard.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "util/bytes.h"
#include "util/fd.h"
#include "util/fs.h"

namespace ocibuild::builder {
namespace {

int64_t Ns(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Shared inode `ino` as the cache entries see it: its ctime (through the first that still links
// it) and how many of them link it.
struct InEntries {
  int64_t ctime = 0;
  uint32_t count = 0;
};
InEntries LookUp(const std::vector<UniqueFd>& dirs, uint64_t ino) {
  std::string name = std::to_string(ino);
  InEntries in;
  for (const UniqueFd& d : dirs) {
    struct stat st;
    if (::fstatat(d.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (st.st_ino != ino) continue;
    if (in.count++ == 0) in.ctime = Ns(st.st_ctim);
  }
  return in;
}

Result<int64_t> CtimeOf(const std::vector<UniqueFd>& dirs, uint64_t ino) {
  InEntries in = LookUp(dirs, ino);
  if (in.count == 0)
    return Error{"shared inode " + std::to_string(ino) + " is in no cache entry", ENOENT};
  return in.ctime;
}

Result<std::vector<UniqueFd>> OpenDirs(const std::vector<std::string>& paths) {
  std::vector<UniqueFd> out;
  for (const std::string& p : paths) {
    UniqueFd fd(::open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) continue;  // an entry dropped since
      return SysError("open", p);
    }
    out.push_back(std::move(fd));
  }
  return out;
}

}  // namespace

Result<std::vector<CopyUpRecord>> ReadCopyUpLog(const std::string& path) {
  std::vector<CopyUpRecord> out;
  if (!PathExists(path)) return out;
  OCIB_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  if (data.size() % 24 != 0) return Error{path + ": truncated copy-up log", EIO};
  ByteReader r(data);
  while (!r.done()) {
    CopyUpRecord c;
    c.ino = r.U64();
    c.ctime_before = static_cast<int64_t>(r.U64());
    c.ctime_after = static_cast<int64_t>(r.U64());
    out.push_back(c);
  }
  return out;
}

Result<SharedTreeGuard> SharedTreeGuard::Arm(const std::unordered_set<uint64_t>& shared,
                                             const std::vector<std::string>& nodes_dirs,
                                             const oci::Snapshot* tree) {
  SharedTreeGuard g;
  g.nodes_dirs_ = nodes_dirs;
  int64_t newest = 0;
  g.ctimes_.reserve(shared.size());
  if (tree) {
    // A shared inode without a name in the tree is out of the guest's reach.
    std::unordered_map<uint64_t, std::pair<uint32_t, uint32_t>> names;  // nlink, names in tree
    for (const auto& [path, n] : tree->nodes()) {
      if (S_ISDIR(n.mode) || !shared.count(n.ino)) continue;
      g.ctimes_.emplace(n.ino, n.ctime_ns);
      newest = std::max(newest, n.ctime_ns);
      auto& [nlink, in_tree] = names[n.ino];
      nlink = n.nlink;
      ++in_tree;
    }
    for (const auto& [ino, counts] : names)
      if (counts.first > counts.second) g.foreign_links_.emplace(ino, counts.first - counts.second);
  } else {
    OCIB_ASSIGN_OR_RETURN(std::vector<UniqueFd> dirs, OpenDirs(nodes_dirs));
    for (uint64_t ino : shared) {
      InEntries in = LookUp(dirs, ino);
      if (in.count == 0) continue;  // no longer in any entry: nothing to protect
      g.ctimes_.emplace(ino, in.ctime);
      newest = std::max(newest, in.ctime);
      g.foreign_links_.emplace(ino, in.count);
    }
  }
  // ctime comes from a coarse clock: a change within the same tick as the newest recorded one
  // would not show. Start the step only once the clock has passed it.
  for (int i = 0; i < 1000; ++i) {
    struct timespec now;
    ::clock_gettime(CLOCK_REALTIME_COARSE, &now);
    if (Ns(now) > newest) break;
    ::usleep(1000);
  }
  return g;
}

Result<std::vector<uint64_t>> SharedTreeGuard::Changed(const std::vector<CopyUpRecord>& copy_ups,
                                                       const oci::Snapshot* tree) const {
  std::unordered_map<uint64_t, int64_t> in_tree;
  if (tree) {
    for (const auto& [path, n] : tree->nodes())
      if (!S_ISDIR(n.mode) && ctimes_.count(n.ino)) in_tree.emplace(n.ino, n.ctime_ns);
  }
  std::vector<uint64_t> all;
  all.reserve(ctimes_.size());
  for (const auto& [ino, ctime] : ctimes_) all.push_back(ino);
  return Check(copy_ups, in_tree, all);
}

Result<std::vector<uint64_t>> SharedTreeGuard::Changed(const std::vector<CopyUpRecord>& copy_ups,
                                                       const oci::Snapshot& before,
                                                       const oci::SnapshotDelta& delta) const {
  // The delta names every path of an inode whose ctime moved (the watch, and the other names of
  // a hardlinked one): the shared inodes it does not name are as armed.
  std::unordered_map<uint64_t, int64_t> in_tree;
  std::unordered_set<uint64_t> touched;
  for (const auto& [path, n] : delta.now) {
    // A name that now holds another inode: the one it held is looked at too (written in place,
    // then replaced).
    const oci::NodeState* was = before.Find(path);
    if (was && !S_ISDIR(was->mode) && was->ino != n.ino && ctimes_.count(was->ino))
      touched.insert(was->ino);
    if (S_ISDIR(n.mode) || !ctimes_.count(n.ino)) continue;
    in_tree.emplace(n.ino, n.ctime_ns);
    touched.insert(n.ino);
  }
  for (const std::string& path : delta.gone) {
    const oci::NodeState* n = before.Find(path);
    if (n && !S_ISDIR(n->mode) && ctimes_.count(n->ino)) touched.insert(n->ino);
  }
  return Check(copy_ups, in_tree, std::vector<uint64_t>(touched.begin(), touched.end()));
}

Result<std::vector<uint64_t>> SharedTreeGuard::Check(
    const std::vector<CopyUpRecord>& copy_ups, const std::unordered_map<uint64_t, int64_t>& in_tree,
    const std::vector<uint64_t>& inodes) const {
  std::unordered_map<uint64_t, std::vector<const CopyUpRecord*>> copied;
  for (const CopyUpRecord& c : copy_ups) copied[c.ino].push_back(&c);
  std::vector<UniqueFd> dirs;
  bool opened = false;
  std::vector<uint64_t> changed;
  for (uint64_t ino : inodes) {
    int64_t before = ctimes_.at(ino);
    Result<int64_t> now = Error{"not looked up"};
    if (auto it = in_tree.find(ino); it != in_tree.end()) {
      now = it->second;
    } else {
      // All its names in the tree went during the step (a copy-up, an unlink, a rename over it):
      // only the cache still names it.
      if (!opened) {
        OCIB_ASSIGN_OR_RETURN(dirs, OpenDirs(nodes_dirs_));
        opened = true;
      }
      now = CtimeOf(dirs, ino);
    }
    if (!now.ok() || *now == before) continue;
    // Each copy-up of this inode must start from the ctime the last one (or the arming) left,
    // and the last must leave the ctime it has now: anything between is a change in place.
    int64_t expect = before;
    bool explained = false;
    auto it = copied.find(ino);
    if (it != copied.end()) {
      for (const CopyUpRecord* c : it->second) {
        if (c->ctime_before != expect) break;
        expect = c->ctime_after;
      }
      explained = expect == *now;
    }
    if (!explained) changed.push_back(ino);
  }
  return changed;
}

}  // namespace ocibuild::builder
