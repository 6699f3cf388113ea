#include "oci/metastore.h"

#include <cstring>

#include "util/fs.h"

namespace ocibuild::oci {
namespace {

constexpr char kMagic[8] = {'O', 'C', 'I', 'B', 'M', 'E', 'T', '1'};

void PutU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }
void PutU64(std::string& out, uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void PutStr(std::string& out, const std::string& s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out += s;
}

struct Reader {
  std::string_view data;
  bool ok = true;
  template <typename T>
  T Get() {
    T v{};
    if (data.size() < sizeof v) {
      ok = false;
      return v;
    }
    std::memcpy(&v, data.data(), sizeof v);
    data.remove_prefix(sizeof v);
    return v;
  }
  std::string GetStr() {
    uint32_t n = Get<uint32_t>();
    if (!ok || data.size() < n) {
      ok = false;
      return {};
    }
    std::string s(data.substr(0, n));
    data.remove_prefix(n);
    return s;
  }
};

}  // namespace

Result<MetaStore> MetaStore::Load(const std::string& path) {
  MetaStore store;
  if (!PathExists(path)) return store;
  OCIB_ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  Reader r{data};
  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    return Error{"metadata store " + path + ": bad magic (not an ocibuild metadata store)"};
  r.data.remove_prefix(sizeof kMagic);
  uint64_t n = r.Get<uint64_t>();
  for (uint64_t i = 0; r.ok && i < n; ++i) {
    ino_t ino = static_cast<ino_t>(r.Get<uint64_t>());
    FileMeta m;
    m.uid = r.Get<uint32_t>();
    m.gid = r.Get<uint32_t>();
    m.mode = r.Get<uint32_t>();
    m.rdev = r.Get<uint64_t>();
    uint32_t nx = r.Get<uint32_t>();
    for (uint32_t j = 0; r.ok && j < nx; ++j) {
      std::string k = r.GetStr();
      std::string v = r.GetStr();
      m.xattrs.emplace(std::move(k), std::move(v));
    }
    store.entries_.emplace(ino, std::move(m));
  }
  if (!r.ok || !r.data.empty())
    return Error{"metadata store " + path + ": truncated or corrupt"};
  return store;
}

Status MetaStore::Save(const std::string& path) const {
  std::string out(kMagic, sizeof kMagic);
  PutU64(out, entries_.size());
  for (const auto& [ino, m] : entries_) {
    PutU64(out, static_cast<uint64_t>(ino));
    PutU32(out, m.uid);
    PutU32(out, m.gid);
    PutU32(out, m.mode);
    PutU64(out, m.rdev);
    PutU32(out, static_cast<uint32_t>(m.xattrs.size()));
    for (const auto& [k, v] : m.xattrs) {
      PutStr(out, k);
      PutStr(out, v);
    }
  }
  return WriteFileAtomic(path, out, 0600);
}

const FileMeta* MetaStore::Find(ino_t ino) const {
  auto it = entries_.find(ino);
  return it == entries_.end() ? nullptr : &it->second;
}

void MetaStore::Set(ino_t ino, FileMeta meta) { entries_[ino] = std::move(meta); }
void MetaStore::Erase(ino_t ino) { entries_.erase(ino); }

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
