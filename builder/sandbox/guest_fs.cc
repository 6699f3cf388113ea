#include "builder/sandbox/guest_fs.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/fs.h"

namespace ocibuild::sandbox {
namespace {

// Each cached directory holds a descriptor: at most a quarter of the soft RLIMIT_NOFILE, so
// calls in flight always have room.
size_t MaxCachedDirs() {
  struct rlimit r;
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return 4096;
  return std::clamp<size_t>(r.rlim_cur / 4, 64, 4096);
}
constexpr int kMaxLinks = 40;

std::string_view Parent(std::string_view guest) {
  size_t slash = guest.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : guest.substr(0, slash);
}

std::string_view Base(std::string_view guest) {
  size_t slash = guest.rfind('/');
  return slash == std::string_view::npos ? guest : guest.substr(slash + 1);
}

// "" stands for "/" inside the walk; outside it "/" is spelled out.
std::string Spell(std::string_view g) {
  return g.empty() ? std::string("/") : std::string(g);
}

std::string Inner(std::string_view g) {
  return g == "/" ? std::string() : std::string(g);
}

}  // namespace

std::vector<PathMapping> DefaultMappings(const std::string& private_dir) {
  using Kind = PathMapping::Kind;
  std::vector<PathMapping> out;
  struct stat st;
  if (::stat("/proc/self", &st) == 0) out.push_back({"/proc", "/proc", Kind::kProc, false});
  if (::stat("/sys", &st) == 0) out.push_back({"/sys", "/sys", Kind::kSys, true});
  static const char* const kDevices[] = {"null", "zero", "full", "random", "urandom", "tty"};
  if (private_dir.empty()) {
    for (const char* d : kDevices) {
      std::string p = std::string("/dev/") + d;
      if (::stat(p.c_str(), &st) == 0 && S_ISCHR(st.st_mode))
        out.push_back({p, p, Kind::kDevice, false});
    }
    return out;
  }
  // A /dev as runc makes it (a tmpfs over the image's /dev): the standard devices, pts, shm and
  // the fd links. Changes to it never reach the image, as in a container.
  std::string dev = private_dir + "/dev";
  if (::mkdir(dev.c_str(), 0755) != 0 && errno != EEXIST) return out;
  out.push_back({"/dev", dev, Kind::kBind, false});
  for (const char* d : kDevices) {
    std::string host = std::string("/dev/") + d;
    if (::stat(host.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) continue;
    std::string stub = dev + "/" + d;
    UniqueFd made(::open(stub.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0666));
    out.push_back({"/dev/" + std::string(d), host, Kind::kDevice, false});
  }
  ::mkdir((dev + "/pts").c_str(), 0755);
  if (::stat("/dev/pts", &st) == 0 && S_ISDIR(st.st_mode))
    out.push_back({"/dev/pts", "/dev/pts", Kind::kPts, false});
  ::mkdir((dev + "/shm").c_str(), 01777);
  ::mkdir((dev + "/mqueue").c_str(), 0755);
  std::string shm = private_dir + "/shm";
  if (::mkdir(shm.c_str(), 01777) == 0 || errno == EEXIST) {
    ::chmod(shm.c_str(), 01777);
    out.push_back({"/dev/shm", shm, Kind::kBind, false});
  }
  static const char* const kLinks[][2] = {
      {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
      {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},         {"core", "/proc/kcore"}};
  for (const auto& l : kLinks) ::symlink(l[1], (dev + "/" + l[0]).c_str());
  // Private copies: a step running as (fake) root must never edit the host's.
  for (const char* p : {"/etc/resolv.conf", "/etc/hosts"}) {
    std::string copy = private_dir + "/" + (std::strrchr(p, '/') + 1);
    auto data = ReadFile(p);
    if (!WriteFile(copy, data.ok() ? *data : std::string(), 0644).ok()) continue;
    out.push_back({p, copy, Kind::kBind, false});
  }
  return out;
}

Result<std::unique_ptr<GuestFs>> GuestFs::Create(const std::string& rootfs,
                                                 const std::vector<PathMapping>& mappings,
                                                 oci::MetaStore* store) {
  std::unique_ptr<GuestFs> fs(new GuestFs(store));
  fs->max_cached_dirs_ = MaxCachedDirs();
  char real[PATH_MAX];
  if (!::realpath(rootfs.c_str(), real)) return SysError("realpath", rootfs);
  auto add = [&](const std::string& guest, const std::string& host, PathMapping::Kind kind, bool ro,
                 const std::string& store_path, int64_t tmpfs_size) -> Status {
    auto m = std::make_unique<Mount>();
    m->guest = guest;
    m->host = host;
    m->kind = kind;
    m->read_only = ro;
    m->tmpfs_size = tmpfs_size;
    int fd = ::open(host.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) return SysError("open", "mount source " + host + " (for " + guest + ")");
    m->root = std::make_shared<UniqueFd>(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) return SysError("fstat", host);
    m->is_dir = S_ISDIR(st.st_mode);
    m->dev = st.st_dev;
    m->ino = st.st_ino;
    if (guest == "/") {
      if (!m->is_dir) return Error{"rootfs " + rootfs + " is not a directory", ENOTDIR};
      m->store = fs->store_;
    } else if (kind == PathMapping::Kind::kBind) {
      fs->own_stores_.push_back(std::make_unique<oci::MetaStore>());
      m->store = fs->own_stores_.back().get();
      if (!store_path.empty()) {
        OCIB_ASSIGN_OR_RETURN(*m->store, oci::MetaStore::Load(store_path));
        fs->saved_stores_.emplace_back(store_path, m->store);
      }
    }
    fs->by_guest_[guest] = m.get();
    fs->mounts_.push_back(std::move(m));
    return Ok();
  };
  OCIB_TRY(add("/", real, PathMapping::Kind::kBind, false, "", -1));
  for (const PathMapping& pm : mappings) {
    if (pm.guest.empty() || pm.guest[0] != '/' || pm.guest == "/")
      return Error{"bad mount target " + pm.guest, EINVAL};
    if (fs->by_guest_.count(pm.guest)) continue;  // the first mapping of a target wins
    std::string host = pm.host;
    if (pm.kind == PathMapping::Kind::kBind) {
      char buf[PATH_MAX];
      if (!::realpath(pm.host.c_str(), buf)) return SysError("realpath", pm.host);
      host = buf;
    }
    OCIB_TRY(add(pm.guest, host, pm.kind, pm.read_only, pm.metastore_path, pm.tmpfs_size));
  }
  return fs;
}

Status GuestFs::SaveMountStores() const {
  for (const auto& [path, store] : saved_stores_) OCIB_TRY(store->Save(path));
  return Ok();
}

const Mount* GuestFs::MountAt(std::string_view guest) const {
  auto it = by_guest_.find(std::string(guest.empty() ? "/" : guest));
  return it == by_guest_.end() ? nullptr : it->second;
}

const Mount* GuestFs::MountFor(std::string_view guest) const {
  std::string_view g = guest;
  while (!g.empty() && g != "/") {
    if (const Mount* m = MountAt(g)) return m;
    g = Parent(g);
  }
  return mounts_.front().get();
}

DirRef GuestFs::RootRef(const Mount& m) const {
  DirRef r;
  r.fd = m.root;
  r.mount = &m;
  uint64_t gen = generation();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (m.st_gen == gen) {
      r.st = m.st;
      return r;
    }
  }
  ::fstat(m.root->get(), &r.st);
  std::lock_guard<std::mutex> lock(mu_);
  m.st = r.st;
  m.st_gen = gen;
  return r;
}

bool GuestFs::CacheGet(const std::string& guest, DirRef* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = cache_.find(guest);
  if (it == cache_.end()) return false;
  *out = it->second;
  return true;
}

void GuestFs::CachePut(const std::string& guest, const DirRef& ref) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() >= max_cached_dirs_) cache_.clear();
  cache_[guest] = ref;
}

void GuestFs::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.clear();
  gen_.fetch_add(1, std::memory_order_acq_rel);
}

int GuestFs::OpenChild(const DirRef& dir, std::string_view name, DirRef* out,
                       std::string* link) const {
  std::string n(name);
  // One plain component, never followed: the new descriptor is a child of `dir`, whatever a
  // concurrent rename does.
  int fd = ::openat(dir.get(), n.c_str(), O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    out->fd = std::make_shared<UniqueFd>(fd);
    out->mount = dir.mount;
    if (::fstat(fd, &out->st) != 0) return -errno;
    return 0;
  }
  int err = errno;
  if (err != ENOTDIR && err != ELOOP) return -err;
  struct stat st;
  if (::fstatat(dir.get(), n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return -errno;
  if (!S_ISLNK(st.st_mode)) return -ENOTDIR;
  char buf[PATH_MAX];
  ssize_t len = ::readlinkat(dir.get(), n.c_str(), buf, sizeof buf);
  if (len < 0) return -errno;
  link->assign(buf, static_cast<size_t>(len));
  return kIsLink;
}

int GuestFs::Dir(std::string_view guest, DirRef* out, const SearchPolicy* search) {
  std::string g = Inner(guest);
  if (g.empty()) {
    *out = RootRef(rootfs());
    return 0;
  }
  if (!search && CacheGet(g, out)) return 0;
  WalkOptions o;
  o.search = search;
  Resolved r;
  if (int rc = Walk(0, "/", Spell(g) + "/", o, &r); rc != 0) return rc;
  if (r.in_proc()) return -ENOTDIR;  // below /proc there is nothing to hold
  if (r.is_mount_root()) {
    if (!r.mount->is_dir) return -ENOTDIR;
    *out = r.dir;
    return 0;
  }
  std::string link;
  int rc = OpenChild(r.dir, r.name, out, &link);
  if (rc == kIsLink) return -ELOOP;  // swapped for a symlink since the walk: the caller's race
  if (rc != 0) return rc;
  CachePut(r.guest == "/" ? std::string() : r.guest, *out);
  return 0;
}

int GuestFs::Walk(pid_t caller_tid, std::string_view base, std::string_view path,
                  const WalkOptions& o, Resolved* out, int* links_io) {
  int links_local = 0;
  int& links = links_io ? *links_io : links_local;
  std::string start = Inner(base);
  std::string floor = (o.in_root || o.beneath) ? start : std::string();
  return WalkFrom(caller_tid, floor, start, path, o, out, links);
}

int GuestFs::WalkFrom(pid_t caller_tid, const std::string& floor, const std::string& start,
                      std::string_view path, const WalkOptions& o, Resolved* out, int& links) {
  if (path.empty()) return -ENOENT;
  if (path.size() >= PATH_MAX) return -ENAMETOOLONG;
  std::string todo(path);
  std::string cur;  // resolved so far; "" is "/"
  if (todo[0] == '/') {
    if (o.beneath) return -EXDEV;
    cur = floor;
  } else {
    cur = start;
  }
  const Mount* mount = MountFor(cur);
  bool trailing = todo.back() == '/';
  DirRef dir;
  bool have_dir = false;
  std::string final_name;
  std::string cand, link;
  size_t pos = 0;
  auto need_dir = [&]() -> int {
    if (have_dir) return 0;
    int rc = Dir(Spell(cur), &dir, nullptr);
    if (rc == 0) have_dir = true;
    return rc;
  };
  auto splice = [&](const std::string& text) -> int {
    if (o.beneath && !text.empty() && text[0] == '/') return -EXDEV;
    std::string rest = pos < todo.size() ? todo.substr(pos) : std::string();
    todo = text;
    if (!rest.empty()) {
      todo += '/';
      todo += rest;
    } else if (trailing) {
      todo += '/';
    }
    pos = 0;
    if (!todo.empty() && todo[0] == '/') cur = floor;
    mount = MountFor(cur);
    have_dir = false;
    return 0;
  };
  while (pos < todo.size()) {
    size_t end = todo.find('/', pos);
    if (end == std::string::npos) end = todo.size();
    std::string comp = todo.substr(pos, end - pos);
    size_t next = end;
    while (next < todo.size() && todo[next] == '/') ++next;
    bool last = next >= todo.size();
    pos = next;
    if (comp.empty() || comp == ".") continue;
    if (comp.size() > NAME_MAX) return -ENAMETOOLONG;
    bool in_proc = mount->kind == PathMapping::Kind::kProc;
    if (o.search && !in_proc) {
      if (int rc = need_dir(); rc != 0) return rc;
      if (int rc = o.search->MaySearch(MetaOf(*dir.mount, dir.st)); rc != 0) return rc;
    }
    if (comp == "..") {
      if (cur == floor) {
        if (o.beneath) return -EXDEV;
        continue;
      }
      const Mount* before = mount;
      cur = std::string(Parent(cur));
      mount = MountFor(cur);
      if (o.no_xdev && mount != before) return -EXDEV;
      have_dir = false;
      continue;
    }
    cand = cur + "/" + comp;
    if (!in_proc) {
      if (const Mount* m = MountAt(cand)) {
        if (o.no_xdev) return -EXDEV;
        cur = cand;
        mount = m;
        have_dir = false;
        if (!last && !m->is_dir) return -ENOTDIR;
        continue;
      }
    }
    if (in_proc) {
      if (!proc_) return -ENOENT;
      std::string_view rel(cand);
      rel.remove_prefix(std::min(rel.size(), mount->guest.size() + 1));
      ProcTarget pt;
      int rc = proc_->Lookup(caller_tid, rel, last && o.follow_final, last, &pt, &link);
      if (rc < 0) return rc;
      if (rc == ProcResolver::kSymlink || rc == ProcResolver::kMagicLink) {
        if (o.no_symlinks || (rc == ProcResolver::kMagicLink && o.no_magiclinks)) return -ELOOP;
        if (++links > kMaxLinks) return -ELOOP;
        if (int src = splice(link); src != 0) return src;
        continue;
      }
      if (last) {
        out->proc = std::move(pt);
        out->guest = cand;
        out->mount = mount;
        out->name = comp;
        out->trailing_slash = trailing;
        out->floor = floor;
        return 0;
      }
      bool dir_like = pt.kind == ProcTarget::Kind::kRoot ||
                      pt.kind == ProcTarget::Kind::kEmptyDir ||
                      (pt.kind == ProcTarget::Kind::kHost && pt.is_dir);
      if (!dir_like) return -ENOTDIR;
      cur = cand;
      continue;
    }
    if (last) {
      final_name = comp;
      break;
    }
    if (int rc = need_dir(); rc != 0) return rc;
    DirRef child;
    if (CacheGet(cand, &child)) {
      cur = cand;
      dir = child;
      continue;
    }
    int rc = OpenChild(dir, comp, &child, &link);
    if (rc < 0) return rc;
    if (rc == kIsLink) {
      if (o.no_symlinks) return -ELOOP;
      if (++links > kMaxLinks) return -ELOOP;
      if (int src = splice(link); src != 0) return src;
      continue;
    }
    if (!o.search) CachePut(cand, child);
    cur = cand;
    dir = child;
  }
  out->trailing_slash = trailing;
  out->floor = floor;
  out->proc = ProcTarget{};
  if (!final_name.empty()) {
    if (int rc = need_dir(); rc != 0) return rc;
    out->dir = dir;
    out->name = final_name;
    out->guest = cur + "/" + final_name;
    out->mount = mount;
    return 0;
  }
  // The path ends at `cur` itself ("/", ".", "..", a mount point, a directory).
  out->guest = Spell(cur);
  if (const Mount* m = cur.empty() ? &rootfs() : MountAt(cur)) {
    if (m->kind == PathMapping::Kind::kProc) {
      if (!proc_) return -ENOENT;
      int rc = proc_->Lookup(caller_tid, "", o.follow_final, true, &out->proc, &link);
      if (rc < 0) return rc;
      out->mount = m;
      out->name = "proc";
      return 0;
    }
    out->dir = RootRef(*m);
    out->name.clear();
    out->mount = m;
    return 0;
  }
  if (mount->kind == PathMapping::Kind::kProc) {
    // Ended on a directory below /proc by ".." or ".": look it up again as a final component.
    std::string_view rel(cur);
    rel.remove_prefix(std::min(rel.size(), mount->guest.size() + 1));
    int rc = proc_->Lookup(caller_tid, rel, o.follow_final, true, &out->proc, &link);
    if (rc < 0) return rc;
    if (rc > 0) return -ELOOP;
    out->mount = mount;
    out->name = std::string(Base(cur));
    return 0;
  }
  std::string parent(Parent(cur));
  DirRef pdir;
  if (int rc = Dir(Spell(parent), &pdir, o.search); rc != 0) return rc;
  out->dir = pdir;
  out->name = std::string(Base(cur));
  out->mount = mount;
  return 0;
}

int GuestFs::FollowFinal(pid_t caller_tid, Resolved* r, const WalkOptions& o, int* links) {
  if (o.no_symlinks) return -ELOOP;
  if (++*links > kMaxLinks) return -ELOOP;
  char buf[PATH_MAX];
  ssize_t n = ::readlinkat(r->dir.get(), r->name.c_str(), buf, sizeof buf);
  if (n < 0) return -errno;
  std::string target(buf, static_cast<size_t>(n));
  if (target.empty()) return -ENOENT;
  if (r->trailing_slash) target += '/';
  std::string floor = r->floor;
  std::string dir(Parent(r->guest));
  Resolved next;
  if (int rc = WalkFrom(caller_tid, floor, Inner(dir), target, o, &next, *links); rc != 0)
    return rc;
  *r = std::move(next);
  return 0;
}

int GuestFs::MakeDirs(std::string_view guest) {
  std::string path(guest);
  if (path.empty() || path[0] != '/') return -EINVAL;
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  if (path == "/") return 0;
  WalkOptions o;
  Resolved r;
  int links = 0;
  int rc = Walk(0, "/", path, o, &r, &links);
  if (rc == -ENOENT) {
    // A missing parent: make it first (in the guest namespace), then this one.
    if (int prc = MakeDirs(Parent(path).empty() ? "/" : std::string(Parent(path))); prc != 0)
      return prc;
    links = 0;
    rc = Walk(0, "/", path, o, &r, &links);
  }
  if (rc != 0) return rc;
  for (int attempt = 0; attempt < 64; ++attempt) {
    if (r.in_proc()) return -EACCES;
    if (r.is_mount_root()) return r.mount->is_dir ? 0 : -ENOTDIR;
    struct stat st;
    if (::fstatat(r.dir.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISLNK(st.st_mode)) {
        // mkdir -p follows a symlink, in the guest: its target is made there.
        Resolved link = r;
        if (int frc = FollowFinal(0, &r, o, &links); frc == -ENOENT) {
          std::string target = link.guest;
          char buf[PATH_MAX];
          ssize_t n = ::readlinkat(link.dir.get(), link.name.c_str(), buf, sizeof buf);
          if (n <= 0) return -ENOENT;
          std::string text(buf, static_cast<size_t>(n));
          std::string abs = text[0] == '/' ? text : std::string(Parent(link.guest)) + "/" + text;
          return MakeDirs(abs);
        } else if (frc != 0) {
          return frc;
        }
        continue;
      }
      return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
    }
    if (errno != ENOENT) return -errno;
    if (::mkdirat(r.dir.get(), r.name.c_str(), 0755) != 0) {
      if (errno == EEXIST) continue;
      return -errno;
    }
    struct stat made;
    if (r.mount && r.mount->store &&
        ::fstatat(r.dir.get(), r.name.c_str(), &made, AT_SYMLINK_NOFOLLOW) == 0) {
      std::lock_guard<std::mutex> lock(meta_mu_);
      r.mount->store->Erase(made.st_ino);  // a reused inode number carries no dead owner
    }
    return 0;
  }
  return -ELOOP;
}

bool GuestFs::ToGuest(std::string_view host, std::string* guest, const Mount** mount) const {
  static constexpr std::string_view kDeleted = " (deleted)";
  if (host.size() > kDeleted.size() && host.substr(host.size() - kDeleted.size()) == kDeleted)
    host.remove_suffix(kDeleted.size());
  if (host.empty() || host[0] != '/') return false;
  auto under = [&](std::string_view prefix) {
    return host.size() >= prefix.size() && host.compare(0, prefix.size(), prefix) == 0 &&
           (host.size() == prefix.size() || host[prefix.size()] == '/' || prefix == "/");
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [h, g] : aliases_) {
      if (under(h)) {
        *guest = g + std::string(host.substr(h.size()));
        if (mount) *mount = MountAt(g);
        return true;
      }
    }
  }
  const Mount* best = nullptr;
  for (const auto& m : mounts_) {
    if (!under(m->host)) continue;
    if (m->kind == PathMapping::Kind::kDevice && host.size() != m->host.size()) continue;
    if (!best || m->host.size() > best->host.size()) best = m.get();
  }
  if (!best) return false;
  std::string_view rest = host.substr(best->host.size());
  if (best->rootfs()) {
    *guest = rest.empty() ? "/" : std::string(rest);
  } else {
    *guest = best->guest + std::string(rest);
  }
  if (mount) *mount = best;
  return true;
}

const Mount* GuestFs::MountOfHost(std::string_view host) const {
  std::string g;
  const Mount* m = nullptr;
  return ToGuest(host, &g, &m) ? m : nullptr;
}

void GuestFs::AddAlias(const std::string& host_dir, const std::string& guest) {
  std::lock_guard<std::mutex> lock(mu_);
  aliases_.emplace_back(host_dir, guest);
}

oci::FileMeta GuestFs::MetaOf(const Mount& m, const struct stat& st) const {
  if (!m.store) {
    oci::FileMeta meta;
    meta.mode = st.st_mode;
    meta.rdev = st.st_rdev;
    return meta;
  }
  std::lock_guard<std::mutex> lock(meta_mu_);
  if (st.st_ino == m.ino && st.st_dev == m.dev && m.rootfs() && !m.store->Find(st.st_ino)) {
    // The rootfs directory is the builder's temp dir on the host; the image's "/" is 0755.
    oci::FileMeta meta;
    meta.mode = S_IFDIR | 0755;
    return meta;
  }
  return m.store->Effective(st);
}

bool GuestFs::HasDevices() const {
  std::lock_guard<std::mutex> lock(meta_mu_);
  for (const auto& m : mounts_) {
    if (!m->store) continue;
    for (const auto& [ino, meta] : m->store->entries())
      if (S_ISCHR(meta.mode) || S_ISBLK(meta.mode)) return true;
  }
  return false;
}

}  // namespace ocibuild::sandbox
