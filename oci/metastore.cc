#include "oci/metastore.h"

#include <cstring>

#include "util/bytes.h"
#include "util/fs.h"

namespace ocibuild::oci {
namespace {

constexpr char kMagic[8] = {'O', 'C', 'I', 'B', 'M', 'E', 'T', '1'};

}  // namespace

Result<MetaStore> MetaStore::Load(const std::string& path) {
  MetaStore store;
  if (!PathExists(path)) return store;
  OCIB_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  ByteReader r(data);
  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return Error{"metadata store " + path + ": bad magic (not an ocibuild metadata store)"};
  r.Skip(sizeof kMagic);
  uint64_t n = r.U64();
  for (uint64_t i = 0; r.ok() && i < n; ++i) {
    ino_t ino = static_cast<ino_t>(r.U64());
    FileMeta m;
    m.uid = r.U32();
    m.gid = r.U32();
    m.mode = r.U32();
    m.rdev = r.U64();
    uint32_t nx = r.U32();
    for (uint32_t j = 0; r.ok() && j < nx; ++j) {
      std::string k = r.Str();
      std::string v = r.Str();
      m.xattrs.emplace(std::move(k), std::move(v));
    }
    store.entries_.emplace(ino, std::move(m));
  }
  if (!r.ok() || !r.done()) return Error{"metadata store " + path + ": truncated or corrupt"};
  return store;
}

Status MetaStore::Save(const std::string& path) const {
  ByteWriter w;
  w.Raw(kMagic, sizeof kMagic);
  w.U64(entries_.size());
  for (const auto& [ino, m] : entries_) {
    w.U64(static_cast<uint64_t>(ino));
    w.U32(m.uid);
    w.U32(m.gid);
    w.U32(m.mode);
    w.U64(m.rdev);
    w.U32(static_cast<uint32_t>(m.xattrs.size()));
    for (const auto& [k, v] : m.xattrs) {
      w.Str(k);
      w.Str(v);
    }
  }
  return WriteFileAtomic(path, w.data(), 0600);
}

const FileMeta* MetaStore::Find(ino_t ino) const {
  auto it = entries_.find(ino);
  return it == entries_.end() ? nullptr : &it->second;
}

void MetaStore::Set(ino_t ino, FileMeta meta) {
  entries_[ino] = std::move(meta);
}
void MetaStore::Erase(ino_t ino) {
  entries_.erase(ino);
}

FileMeta MetaStore::Effective(const struct stat& host) const {
  if (const FileMeta* m = Find(host.st_ino)) return *m;
  FileMeta m;
  m.mode = host.st_mode;
  m.rdev = host.st_rdev;
  return m;
}

void MetaStore::Virtualize(struct stat* st) const {
  const FileMeta* m = Find(st->st_ino);
  if (!m) {
    st->st_uid = 0;
    st->st_gid = 0;
    return;
  }
  st->st_uid = m->uid;
  st->st_gid = m->gid;
  st->st_mode = m->mode;
  st->st_rdev = m->rdev;
}

}  // namespace ocibuild::oci
