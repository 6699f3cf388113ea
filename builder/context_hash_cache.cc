#include "builder/context_hash_cache.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "util/bytes.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace ocibuild::builder {
namespace {

constexpr std::string_view kMagic = "ocibuild-context-hashes-1\n";
constexpr size_t kDigestHex = 64;

int64_t Ns(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

FileStamp FileStamp::Of(const struct stat& st) {
  FileStamp s;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = static_cast<uint64_t>(st.st_size);
  s.mtime_ns = Ns(st.st_mtim);
  s.ctime_ns = Ns(st.st_ctim);
  return s;
}

ContextHashCache::ContextHashCache(std::string file) : file_(std::move(file)) {
  auto data = ReadFile(file_);
  // Missing, damaged or from another version: start empty, and write the file at the end of
  // even a build whose files were all too new to keep, so that the state directory holds the
  // same files after the first build as after any later one (only their contents change).
  dirty_ = true;
  if (!data.ok() || data->size() < kMagic.size() + kDigestHex ||
      std::string_view(*data).substr(0, kMagic.size()) != kMagic)
    return;
  std::string_view body = std::string_view(*data).substr(0, data->size() - kDigestHex);
  if (Sha256::HexOf(body) != std::string_view(*data).substr(body.size())) return;
  ByteReader r(body.substr(kMagic.size()));
  uint64_t n = r.U64();
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string rel = r.Str();
    Entry e;
    e.stamp.dev = r.U64();
    e.stamp.ino = r.U64();
    e.stamp.size = r.U64();
    e.stamp.mtime_ns = static_cast<int64_t>(r.U64());
    e.stamp.ctime_ns = static_cast<int64_t>(r.U64());
    e.hex = r.Str();
    e.persist = true;
    if (r.ok()) entries_.insert_or_assign(std::move(rel), std::move(e));
  }
  if (!r.ok() || !r.done()) {
    entries_.clear();
    return;
  }
  dirty_ = false;
}

std::optional<std::string> ContextHashCache::Find(const std::string& rel, const FileStamp& stamp) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(rel);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.stamp != stamp) {
    entries_.erase(it);
    dirty_ = true;
    return std::nullopt;
  }
  it->second.used = true;
  return it->second.hex;
}

void ContextHashCache::Record(const std::string& rel, const FileStamp& stamp,
                              const std::string& hex, int64_t stat_ns) {
  std::lock_guard lock(mu_);
  Entry e;
  e.stamp = stamp;
  e.hex = hex;
  e.used = true;
  e.persist = std::max(stamp.mtime_ns, stamp.ctime_ns) < stat_ns - kRacySeconds * 1'000'000'000;
  if (e.persist) dirty_ = true;
  entries_.insert_or_assign(rel, std::move(e));
}

int64_t ContextHashCache::Now() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return Ns(ts);
}

size_t ContextHashCache::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

Status ContextHashCache::Save() const {
  std::lock_guard lock(mu_);
  if (file_.empty() || !dirty_) return Ok();
  std::vector<const std::pair<const std::string, Entry>*> keep;
  for (const auto& kv : entries_)
    if (kv.second.persist) keep.push_back(&kv);
  // This build's entries first, then the rest up to the bound; sorted for a stable file.
  std::sort(keep.begin(), keep.end(), [](const auto* a, const auto* b) {
    if (a->second.used != b->second.used) return a->second.used;
    return a->first < b->first;
  });
  if (keep.size() > kMaxEntries) keep.resize(kMaxEntries);
  ByteWriter w;
  w.Raw(kMagic.data(), kMagic.size());
  w.U64(keep.size());
  for (const auto* kv : keep) {
    const Entry& e = kv->second;
    w.Str(kv->first);
    w.U64(e.stamp.dev);
    w.U64(e.stamp.ino);
    w.U64(e.stamp.size);
    w.U64(static_cast<uint64_t>(e.stamp.mtime_ns));
    w.U64(static_cast<uint64_t>(e.stamp.ctime_ns));
    w.Str(e.hex);
  }
  std::string out = w.data();
  out += Sha256::HexOf(out);
  // No fsync: a file lost or torn by a crash is detected by its digest and only costs the
  // next build the reading; a no-change rebuild should not wait for the disk.
  std::string tmp = file_ + ".tmp-" + std::to_string(::getpid());
  OCIB_TRY(WriteFile(tmp, out, 0600));
  if (::rename(tmp.c_str(), file_.c_str()) != 0) {
    Error e = SysError("rename", tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  return Ok();
}

Result<std::string> ContextHashFile(const std::string& state_root, const std::string& context_dir) {
  char real[PATH_MAX];
  if (!::realpath(context_dir.c_str(), real)) return SysError("realpath", context_dir);
  std::string dir = JoinPath(state_root, "context-hashes");
  OCIB_TRY(MakeDirs(dir, 0700));
  std::string file = JoinPath(dir, Sha256::HexOf(real).substr(0, 32));
  // Used now: its mtime orders the eviction below (a rebuild that changed nothing writes none).
  ::utimensat(AT_FDCWD, file.c_str(), nullptr, 0);
  std::vector<std::pair<int64_t, std::string>> files;
  OCIB_ASSIGN_OR_RETURN(UniqueFd dfd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
  if (auto names = ReadDirNames(dfd.get(), dir); names.ok()) {
    for (const auto& n : *names) {
      struct stat st;
      if (::fstatat(AT_FDCWD, JoinPath(dir, n).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
        files.emplace_back(Ns(st.st_mtim), n);
    }
  }
  if (files.size() > kMaxContexts) {
    std::sort(files.rbegin(), files.rend());
    for (size_t i = kMaxContexts; i < files.size(); ++i)
      ::unlink(JoinPath(dir, files[i].second).c_str());
  }
  return file;
}

}  // namespace ocibuild::builder
