#include "oci/snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

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

}  // namespace

Result<std::string> HashFileInRoot(const RootDir& root, const std::string& path) {
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, root.OpenAt(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK));
  Sha256 sha;
  std::string buf(1 << 20, '\0');
  for (;;) {
    ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read", path);
    }
    if (n == 0) break;
    sha.Update(buf.data(), static_cast<size_t>(n));
  }
  return sha.FinishHex();
}

Result<Snapshot> Snapshot::Take(const RootDir& root, const MetaStore& store) {
  Snapshot snap;
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  snap.taken_ns_ = Ns(now);
  int64_t racy_from = snap.taken_ns_ - kRacyWindowNs;

  struct stat rst;
  if (::fstat(root.fd(), &rst) != 0) return SysError("fstat", root.path());
  snap.nodes_.emplace("", FromStat(rst, store));

  std::vector<std::string> racy;
  std::vector<std::string> pending{""};
  while (!pending.empty()) {
    std::string dir = std::move(pending.back());
    pending.pop_back();
    // Each directory is reopened from the root (in-root resolution) rather than through a chain
    // of held fds: deep trees then cost no fds, and a directory swapped for a symlink during the
    // walk still cannot lead outside the root.
    auto dfd = root.OpenAt(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    if (!dfd.ok()) {
      // Vanished while we walked: the diff reports what is there now.
      if (dfd.error().sys_errno == ENOENT || dfd.error().sys_errno == ENOTDIR) continue;
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
      if (S_ISDIR(st.st_mode)) pending.push_back(path);
      if (S_ISREG(st.st_mode) && std::max(Ns(st.st_mtim), Ns(st.st_ctim)) >= racy_from)
        racy.push_back(path);
      snap.nodes_.emplace(std::move(path), FromStat(st, store));
    }
    if (errno != 0) return SysError("readdir", dir);
  }
  for (const auto& p : racy) {
    auto h = HashFileInRoot(root, p);
    if (!h.ok()) {
      if (h.error().sys_errno == ENOENT) continue;
      return h.error();
    }
    snap.nodes_[p].racy_hash = std::move(*h);
  }
  return snap;
}

std::vector<std::string> Snapshot::Paths() const {
  std::vector<std::string> out;
  out.reserve(nodes_.size());
  for (const auto& [p, n] : nodes_)
    if (!p.empty()) out.push_back(p);
  return out;
}

}  // namespace ocibuild::oci
