#include "builder/rootfs_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "util/fs.h"
#include "util/sha256.h"

namespace ocibuild::builder {
namespace {

constexpr char kManifest[] = "files";
constexpr char kMeta[] = "meta";
constexpr char kTree[] = "tree";
constexpr char kTmpPrefix[] = "tmp-";

// What an entry knows about each inode it shares: a change to any of these means the inode was
// written in place after the entry was made.
struct Recorded {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  uint32_t mode = 0;
  bool operator==(const Recorded&) const = default;
};
using Manifest = std::unordered_map<uint64_t, Recorded>;

Recorded RecordOf(const struct stat& st) {
  return Recorded{static_cast<uint64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
                  st.st_mode};
}

std::string EncodeManifest(const Manifest& m) {
  std::string out;
  out.reserve(m.size() * 28);
  auto put = [&](const void* p, size_t n) { out.append(static_cast<const char*>(p), n); };
  for (const auto& [ino, r] : m) {
    put(&ino, 8);
    put(&r.size, 8);
    put(&r.mtime_ns, 8);
    put(&r.mode, 4);
  }
  return out;
}

Result<Manifest> DecodeManifest(const std::string& data, const std::string& shown) {
  constexpr size_t kRecord = 28;
  if (data.size() % kRecord != 0) return Error{shown + ": truncated"};
  Manifest m;
  m.reserve(data.size() / kRecord);
  for (size_t off = 0; off < data.size(); off += kRecord) {
    uint64_t ino;
    Recorded r;
    std::memcpy(&ino, data.data() + off, 8);
    std::memcpy(&r.size, data.data() + off + 8, 8);
    std::memcpy(&r.mtime_ns, data.data() + off + 16, 8);
    std::memcpy(&r.mode, data.data() + off + 24, 4);
    m.emplace(ino, r);
  }
  return m;
}

// An entry found changed (or unreadable) while restoring: drop it and try a shorter one.
struct Stale {};

// Mirrors a tree: directories recreated with their host mode, times and xattrs, everything else
// hardlinked. Metadata-store entries follow (files keep their inode; directories get new ones).
// Saving records every linked inode in `record`; restoring checks each against `check`.
class Farm {
 public:
  Farm(const oci::MetaStore& from, oci::MetaStore& to, Manifest* record, const Manifest* check,
       std::unordered_set<uint64_t>* linked)
      : from_(from), to_(to), record_(record), check_(check), linked_(linked) {}

  bool stale() const { return stale_; }

  Status Children(int sfd, int dfd, const std::string& shown) {
    OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(sfd, shown));
    for (const auto& name : names) {
      std::string sub = shown + "/" + name;
      struct stat st;
      if (::fstatat(sfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return SysError("stat", sub);
      if (S_ISDIR(st.st_mode)) {
        if (::mkdirat(dfd, name.c_str(), 0700) != 0) return SysError("mkdir", sub);
        UniqueFd s(::openat(sfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!s) return SysError("open", sub);
        UniqueFd d(::openat(dfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!d) return SysError("open", sub);
        OCIB_TRY(Children(s.get(), d.get(), sub));
        if (stale_) return Ok();
        OCIB_TRY(FinishDir(s.get(), d.get(), st, sub));
        continue;
      }
      if (check_) {
        auto it = check_->find(st.st_ino);
        if (it == check_->end() || !(it->second == RecordOf(st))) {
          stale_ = true;
          return Ok();
        }
      }
      if (record_) (*record_)[st.st_ino] = RecordOf(st);
      if (::linkat(sfd, name.c_str(), dfd, name.c_str(), 0) != 0) return SysError("link", sub);
      if (linked_) linked_->insert(st.st_ino);
      if (const oci::FileMeta* m = from_.Find(st.st_ino)) to_.Set(st.st_ino, *m);
    }
    return Ok();
  }

  // After a directory's children exist: its xattrs, store entry, mode and times.
  Status FinishDir(int sfd, int dfd, const struct stat& sst, const std::string& shown) {
    CopyXattrs(sfd, dfd);
    struct stat dst;
    if (::fstat(dfd, &dst) != 0) return SysError("stat", shown);
    if (const oci::FileMeta* m = from_.Find(sst.st_ino)) to_.Set(dst.st_ino, *m);
    if (::fchmod(dfd, sst.st_mode & 07777) != 0) return SysError("chmod", shown);
    struct timespec times[2] = {sst.st_atim, sst.st_mtim};
    if (::futimens(dfd, times) != 0) return SysError("utimens", shown);
    return Ok();
  }

 private:
  const oci::MetaStore& from_;
  oci::MetaStore& to_;
  Manifest* record_;
  const Manifest* check_;
  std::unordered_set<uint64_t>* linked_;
  bool stale_ = false;
};

// Mirrors the tree at `src` into the existing empty directory `dst`.
Status FarmTree(Farm& farm, const std::string& src, const std::string& dst) {
  UniqueFd s(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!s) return SysError("open", src);
  UniqueFd d(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d) return SysError("open", dst);
  struct stat st;
  if (::fstat(s.get(), &st) != 0) return SysError("stat", src);
  OCIB_TRY(farm.Children(s.get(), d.get(), src));
  if (farm.stale()) return Ok();
  return farm.FinishDir(s.get(), d.get(), st, src);
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

Result<std::unique_ptr<RootfsCache>> RootfsCache::Open(const std::string& dir, size_t keep) {
  OCIB_TRY(MakeDirs(dir, 0700));
  std::string lock_path = JoinPath(dir, "lock");
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return SysError("open", lock_path);
  while (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return std::unique_ptr<RootfsCache>();
    if (errno != EINTR) return SysError("flock", lock_path);
  }
  UniqueFd dfd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return SysError("open", dir);
  OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(dfd.get(), dir));
  std::vector<std::pair<int64_t, std::string>> entries;
  for (const auto& n : names) {
    if (n == "lock") continue;
    std::string p = JoinPath(dir, n);
    struct stat st;
    if (n.rfind(kTmpPrefix, 0) == 0 || ::lstat(p.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      OCIB_TRY(RemoveAll(p));
      continue;
    }
    entries.emplace_back(
        static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, p);
  }
  std::sort(entries.begin(), entries.end(), std::greater<>());
  for (size_t i = keep; i < entries.size(); ++i) OCIB_TRY(RemoveAll(entries[i].second));
  return std::unique_ptr<RootfsCache>(new RootfsCache(dir, std::move(lock)));
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

Result<bool> RootfsCache::Restore(const std::string& entry, const std::string& rootfs,
                                  oci::MetaStore& store, std::unordered_set<uint64_t>* shared) {
  auto manifest_data = ReadFile(JoinPath(entry, kManifest));
  if (!manifest_data.ok()) return false;
  auto manifest = DecodeManifest(*manifest_data, entry);
  auto meta = oci::MetaStore::Load(JoinPath(entry, kMeta));
  if (!manifest.ok() || !meta.ok()) return false;
  std::unordered_set<uint64_t> linked;
  Farm farm(*meta, store, nullptr, &*manifest, &linked);
  auto st = FarmTree(farm, JoinPath(entry, kTree), rootfs);
  if (!st.ok() || farm.stale()) return false;
  if (shared) shared->insert(linked.begin(), linked.end());
  Touch(entry);
  return true;
}

Result<size_t> RootfsCache::RestoreLongest(const std::vector<oci::Digest>& diff_ids,
                                           const std::string& rootfs, oci::MetaStore& store,
                                           std::unordered_set<uint64_t>* shared) {
  for (size_t k = diff_ids.size(); k > 0; --k) {
    std::vector<oci::Digest> prefix(diff_ids.begin(), diff_ids.begin() + static_cast<long>(k));
    std::string entry = JoinPath(dir_, RootfsChainKey(prefix));
    if (!PathExists(JoinPath(entry, kManifest))) continue;
    OCIB_ASSIGN_OR_RETURN(bool ok, Restore(entry, rootfs, store, shared));
    if (ok) return k;
    // Changed in place by an earlier RUN step (or damaged): never use it again.
    store.Clear();
    OCIB_TRY(ClearDir(rootfs));
    OCIB_TRY(RemoveAll(entry));
  }
  return size_t{0};
}

Status RootfsCache::Save(const std::vector<oci::Digest>& diff_ids, const std::string& rootfs,
                         const oci::MetaStore& store, std::unordered_set<uint64_t>* shared) {
  std::string entry = JoinPath(dir_, RootfsChainKey(diff_ids));
  OCIB_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create(kTmpPrefix, dir_));
  std::string tree = JoinPath(tmp.path(), kTree);
  OCIB_TRY(MakeDirs(tree, 0700));
  Manifest manifest;
  oci::MetaStore meta;
  Farm farm(store, meta, &manifest, nullptr, shared);
  OCIB_TRY(FarmTree(farm, rootfs, tree));
  OCIB_TRY(WriteFile(JoinPath(tmp.path(), kManifest), EncodeManifest(manifest), 0600));
  OCIB_TRY(meta.Save(JoinPath(tmp.path(), kMeta)));
  OCIB_TRY(RemoveAll(entry));
  if (::rename(tmp.path().c_str(), entry.c_str()) != 0) return SysError("rename", entry);
  tmp.Release();
  return Ok();
}

}  // namespace ocibuild::builder
