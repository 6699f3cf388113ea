#include "builder/sandbox/path_resolver.h"

#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/fs.h"

namespace ocibuild::sandbox {

std::vector<PathMapping> DefaultMappings(const std::string& private_dir) {
  // Kernel filesystems and character devices are shared with the host; files a step may write
  // (/etc/hosts, /etc/resolv.conf, /dev/shm) point at private copies when a directory for them
  // is given, so that a guest running as (fake) root never edits the host's.
  static const char* const kShared[] = {"/proc",     "/sys",        "/dev/null",    "/dev/zero",
                                        "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty",
                                        "/dev/ptmx", "/dev/pts",    "/dev/fd"};
  static const char* const kPrivate[] = {"/etc/resolv.conf", "/etc/hosts", "/dev/shm"};
  std::vector<PathMapping> out;
  struct stat st;
  for (const char* p : kShared)
    if (::lstat(p, &st) == 0) out.push_back({p, p});
  for (const char* p : kPrivate) {
    if (::stat(p, &st) != 0) continue;
    if (private_dir.empty()) {
      out.push_back({p, p});
      continue;
    }
    std::string copy = private_dir + "/" + (std::strrchr(p, '/') + 1);
    if (S_ISDIR(st.st_mode)) {
      if (::mkdir(copy.c_str(), 01777) != 0 && errno != EEXIST) continue;
    } else {
      auto data = ReadFile(p);
      if (!data.ok() || !WriteFile(copy, *data, 0644).ok()) continue;
    }
    out.push_back({p, copy});
  }
  return out;
}

PathResolver::PathResolver(std::string rootfs, std::vector<PathMapping> mappings)
    : rootfs_(std::move(rootfs)), mappings_(std::move(mappings)) {
  while (rootfs_.size() > 1 && rootfs_.back() == '/') rootfs_.pop_back();
}

Result<PathResolver> PathResolver::Create(const std::string& rootfs,
                                          std::vector<PathMapping> mappings) {
  char buf[PATH_MAX];
  if (!::realpath(rootfs.c_str(), buf)) return SysError("realpath", rootfs);
  struct stat st;
  if (::stat(buf, &st) != 0) return SysError("stat", buf);
  if (!S_ISDIR(st.st_mode)) return Error{"rootfs " + rootfs + " is not a directory", ENOTDIR};
  return PathResolver(buf, std::move(mappings));
}

const PathMapping* PathResolver::MappingFor(std::string_view guest) const {
  for (const PathMapping& m : mappings_)
    if (m.guest == guest) return &m;
  return nullptr;
}

Status PathResolver::Resolve(std::string_view path, std::string_view base, bool follow_final,
                             std::string* host, std::string* guest_out,
                             const SearchPolicy* search, DirCache* dirs) const {
  // `todo` holds the components still to walk; symlink targets are spliced in front of it.
  std::string todo(path);
  std::string guest;  // resolved so far, "" meaning "/"
  if (todo.empty() || todo[0] != '/') {
    guest.assign(base);
    if (guest == "/") guest.clear();
  }
  bool trailing_slash = !todo.empty() && todo.back() == '/';
  if (trailing_slash) follow_final = true;
  int links = 0;
  size_t pos = 0;
  std::string candidate, target;
  char linkbuf[PATH_MAX];
  // With a search policy: the host stat of the directory `guest` names, once known.
  bool dir_known = false;
  struct stat dir_st;
  while (pos < todo.size()) {
    size_t end = todo.find('/', pos);
    if (end == std::string::npos) end = todo.size();
    std::string_view comp(todo.data() + pos, end - pos);
    size_t next = end;
    while (next < todo.size() && todo[next] == '/') ++next;
    bool last = next >= todo.size();
    pos = next;
    if (comp.empty()) continue;
    if (search) {
      if (!dir_known) {
        candidate = rootfs_;
        candidate += guest;
        dir_known = ::lstat(candidate.c_str(), &dir_st) == 0 && S_ISDIR(dir_st.st_mode);
      }
      if (dir_known) {
        if (int rc = search->MaySearch(dir_st); rc != 0)
          return Error{"search permission denied", -rc};
      }
    }
    if (comp == ".") continue;
    if (comp == "..") {
      size_t slash = guest.rfind('/');
      guest.resize(slash == std::string::npos ? 0 : slash);
      dir_known = false;
      continue;
    }
    candidate = guest;
    candidate += '/';
    candidate += comp;
    if (const PathMapping* m = MappingFor(candidate)) {
      // Below a mapping the host kernel resolves (e.g. /proc/self is the tracee's own).
      *host = m->host;
      if (pos < todo.size()) {
        *host += '/';
        host->append(todo, pos, std::string::npos);
      } else if (trailing_slash) {
        *host += '/';
      }
      if (guest_out) {
        *guest_out = candidate;
        if (pos < todo.size()) {
          *guest_out += '/';
          guest_out->append(todo, pos, std::string::npos);
        }
      }
      return Ok();
    }
    if (last && !follow_final) {
      guest.swap(candidate);
      break;
    }
    if (dirs && !search && dirs->Has(candidate)) {
      guest.swap(candidate);
      continue;
    }
    std::string hostpath = rootfs_ + candidate;
    struct stat st;
    if (::lstat(hostpath.c_str(), &st) != 0) {
      // Missing (or inaccessible): hand the rest to the kernel unresolved so that it reports the
      // error; ".." after a missing component must not be folded away by us.
      guest.swap(candidate);
      if (pos < todo.size()) {
        guest += '/';
        guest.append(todo, pos, std::string::npos);
      }
      break;
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > 40) return Error{"too many levels of symbolic links", ELOOP};
      ssize_t n = ::readlink(hostpath.c_str(), linkbuf, sizeof linkbuf);
      if (n < 0) return SysError("readlink", hostpath);
      target.assign(linkbuf, static_cast<size_t>(n));
      if (pos < todo.size()) {
        target += '/';
        target.append(todo, pos, std::string::npos);
      } else if (trailing_slash) {
        target += '/';
      }
      todo.swap(target);
      pos = 0;
      if (!todo.empty() && todo[0] == '/') {
        guest.clear();
        dir_known = false;
      }
      continue;
    }
    if (!last && !S_ISDIR(st.st_mode)) {
      // The kernel will say ENOTDIR for "file/x".
      guest.swap(candidate);
      guest += '/';
      guest.append(todo, pos, std::string::npos);
      break;
    }
    if (dirs && S_ISDIR(st.st_mode)) dirs->Add(candidate);
    guest.swap(candidate);
    dir_st = st;
    dir_known = true;
  }
  *host = rootfs_;
  *host += guest.empty() ? "/" : guest;
  if (trailing_slash && host->back() != '/') *host += '/';
  if (host->size() >= PATH_MAX) return Error{"host path too long", ENAMETOOLONG};
  if (guest_out) *guest_out = guest.empty() ? "/" : guest;
  return Ok();
}

bool PathResolver::ToGuest(std::string_view host, std::string* guest) const {
  if (host.size() >= rootfs_.size() && host.compare(0, rootfs_.size(), rootfs_) == 0) {
    std::string_view rest = host.substr(rootfs_.size());
    if (rest.empty()) {
      *guest = "/";
      return true;
    }
    if (rest[0] == '/') {
      guest->assign(rest);
      return true;
    }
  }
  for (const PathMapping& m : mappings_) {
    if (host.size() >= m.host.size() && host.compare(0, m.host.size(), m.host) == 0 &&
        (host.size() == m.host.size() || host[m.host.size()] == '/')) {
      *guest = m.guest;
      guest->append(host.substr(m.host.size()));
      return true;
    }
  }
  return false;
}

}  // namespace ocibuild::sandbox
