#include "builder/copy_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "dockerfile-parser/dockerignore.h"
#include "dockerfile-parser/path_match.h"
#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

std::string Shown(const std::string& rel) {
  return "/" + rel;
}

std::string JoinRel(const std::string& a, const std::string& b) {
  if (a.empty() || a == ".") return b;
  if (b.empty() || b == ".") return a;
  return a + "/" + b;
}

std::string Basename(const std::string& rel) {
  size_t s = rel.rfind('/');
  return s == std::string::npos ? rel : rel.substr(s + 1);
}

// Entries below `rel` in `root` (itself first), depth-first, sorted; `skip` prunes subtrees.
// With `follow_top`, a symlink at `rel` is walked as the directory it names (in-root): a COPY of
// a link to a directory copies that directory's contents, as BuildKit's does.
template <typename Skip>
Status WalkTree(const oci::RootDir& root, const std::string& rel, const Skip& skip,
                std::vector<std::string>* out, bool follow_top = false) {
  out->push_back(rel);
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd,
                        root.OpenAt(rel == "." ? "" : rel, O_PATH | (follow_top ? 0 : O_NOFOLLOW)));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return SysError("stat", Shown(rel));
  if (!S_ISDIR(st.st_mode)) return Ok();
  OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(fd.get(), Shown(rel)));
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    std::string child = JoinRel(rel, n);
    if (skip(child)) continue;
    OCIB_TRY(WalkTree(root, child, skip, out));
  }
  return Ok();
}

class Copier {
 public:
  Copier(const oci::RootDir& dst, oci::MetaStore& store, const CopySourceTree& src,
         const CopyOptions& opts)
      : dst_(dst), store_(store), src_(src), opts_(opts) {}

  Status Run() {
    std::string dest_rel;
    {
      std::string d = dockerfile::CleanPath(opts_.dest);
      while (!d.empty() && d[0] == '/') d.erase(0, 1);
      dest_rel = d == "." ? "" : d;
    }
    bool dir_syntax = EndsWith(opts_.dest, "/") || EndsWith(opts_.dest, "/.") ||
                      opts_.dest == "." || dest_rel.empty();
    if (!opts_.excludes.empty()) {
      OCIB_ASSIGN_OR_RETURN(auto ex, dockerfile::Dockerignore::FromPatterns(opts_.excludes));
      excludes_ = std::move(ex);
    }
    created_mode_ = opts_.chmod && opts_.chmod->octal() ? (*opts_.chmod->octal() & 0777) : 0755;
    // BuildKit makes the destination (when it says it is a directory) or its parent first.
    OCIB_TRY(EnsureParents(dest_rel, /*include_self=*/dir_syntax));
    for (const auto& m : src_.matches) {
      if (m.include) {
        OCIB_TRY(CopyParents(m, dest_rel));
        continue;
      }
      // The destination is looked at again for each match, as each is a copy of its own: a
      // directory copied first makes DEST one, a file copied first makes it a file that the
      // next file replaces. BuildKit gives no "several sources need a directory" error.
      bool dest_is_dir = false;
      if (auto fd = dst_.OpenAt(dest_rel, O_PATH); fd.ok()) {
        struct stat st;
        dest_is_dir = ::fstat(fd->get(), &st) == 0 && S_ISDIR(st.st_mode);
        if (m.is_dir && !dest_is_dir)
          return Error{"cannot copy to non-directory: " + Shown(dest_rel)};
      }
      std::string base;
      if (m.is_dir)
        base = dest_rel;
      else
        base = dest_is_dir ? JoinRel(dest_rel, Basename(m.rel)) : dest_rel;
      OCIB_TRY(CopyMatch(m, base));
    }
    // Directory mtimes last: creating entries inside a directory moves its mtime.
    for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
      auto fd = dst_.OpenAt(it->first, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      if (!fd.ok()) continue;
      struct timespec ts[2] = {it->second, it->second};
      ::futimens(fd->get(), ts);
    }
    return Ok();
  }

 private:
  // Paths below `rel` in the source (itself first): the context's walk applies .dockerignore.
  Result<std::vector<std::string>> Below(const std::string& rel) {
    std::vector<std::string> paths;
    auto excluded = [&](const std::string&) { return false; };
    if (src_.context) {
      OCIB_ASSIGN_OR_RETURN(paths, src_.context->Walk(rel));
    } else {
      OCIB_TRY(WalkTree(*src_.root, rel, excluded, &paths));
    }
    return paths;
  }

  static std::string Relative(const std::string& p, const std::string& root) {
    if (p == root) return "";
    return root == "." ? p : p.substr(root.size() + 1);
  }

  Status CopyMatch(const SourceMatch& m, const std::string& base) {
    std::vector<std::string> paths;
    auto excluded = [&](const std::string& p) {
      if (!excludes_ || p == m.rel) return false;
      return excludes_->Matches(Relative(p, m.rel));
    };
    if (!m.is_dir) {
      paths.push_back(m.rel);
    } else if (src_.context) {
      // The context's walk applies .dockerignore, exceptions included.
      OCIB_ASSIGN_OR_RETURN(paths, src_.context->Walk(m.rel));
      std::erase_if(paths, excluded);
    } else {
      OCIB_TRY(WalkTree(*src_.root, m.rel, excluded, &paths, /*follow_top=*/true));
    }
    OCIB_TRY(EnsureParents(base, /*include_self=*/m.is_dir));
    for (const auto& p : paths) {
      if (m.is_dir && p == m.rel) continue;  // the directory itself: its contents are copied
      std::string to = JoinRel(base, Relative(p, m.rel));
      // Parents normally come first in the walk, but an ignored directory with re-included
      // children is not in it.
      OCIB_TRY(EnsureParents(to, /*include_self=*/false));
      OCIB_TRY(CopyEntry(p, to, /*follow=*/p == m.rel));
    }
    return Ok();
  }

  // COPY --parents: what `include` selects below the pivot `m.rel` keeps its path below it.
  // Directories on the way are copied with their own metadata when missing, as BuildKit's
  // include-pattern copy does.
  Status CopyParents(const SourceMatch& m, const std::string& dest_rel) {
    OCIB_ASSIGN_OR_RETURN(auto inc, dockerfile::Dockerignore::FromPatterns({*m.include}));
    // Walk only below the pattern's literal leading directories.
    std::string start = m.rel;
    {
      std::vector<std::string> parts = Split(*m.include, '/');
      if (!parts.empty()) parts.pop_back();
      for (const auto& part : parts) {
        if (part.empty() || part == "." || dockerfile::HasPathMeta(part)) break;
        std::string next = JoinRel(start, part);
        auto fd = src_.root->OpenAt(next, O_PATH | O_NOFOLLOW);
        struct stat st;
        if (!fd.ok() || ::fstat(fd->get(), &st) != 0 || !S_ISDIR(st.st_mode)) break;
        start = next;
      }
    }
    OCIB_ASSIGN_OR_RETURN(std::vector<std::string> paths, Below(start));
    for (const auto& p : paths) {
      if (p == m.rel) continue;
      std::string below = Relative(p, m.rel);
      if (!inc.Matches(below)) continue;
      if (excludes_ && excludes_->Matches(below)) continue;
      // Directories between the pivot and this entry.
      std::vector<std::string> parts = Split(below, '/');
      std::string cur;
      for (size_t i = 0; i + 1 < parts.size(); ++i) {
        cur = JoinRel(cur, parts[i]);
        std::string to = JoinRel(dest_rel, cur);
        if (ensured_.count(to)) continue;
        if (dst_.OpenAt(to, O_PATH | O_NOFOLLOW).ok()) {
          ensured_.insert(to);
          continue;
        }
        OCIB_TRY(CopyEntry(JoinRel(m.rel, cur), to, /*follow=*/false));
      }
      OCIB_TRY(CopyEntry(p, JoinRel(dest_rel, below), /*follow=*/false));
    }
    return Ok();
  }

  // Creates missing directories on the way to `rel` (and `rel` itself with include_self),
  // owned by the --chown user (root by default) with --chmod's octal mode or 0755.
  Status EnsureParents(const std::string& rel, bool include_self) {
    std::vector<std::string> parts = rel.empty() ? std::vector<std::string>{} : Split(rel, '/');
    size_t n = include_self ? parts.size() : (parts.empty() ? 0 : parts.size() - 1);
    std::string cur;
    for (size_t i = 0; i < n; ++i) {
      cur = JoinRel(cur, parts[i]);
      if (ensured_.count(cur)) continue;
      auto fd = dst_.OpenAt(cur, O_PATH);
      struct stat st;
      if (fd.ok() && ::fstat(fd->get(), &st) == 0) {
        if (!S_ISDIR(st.st_mode))
          return Error{"cannot copy to " + Shown(rel) + ": " + Shown(cur) + " is not a directory"};
        ensured_.insert(cur);
        continue;
      }
      // MkdirAll resolves in-root, so a dangling symlink on the way ("/hostetc -> /etc")
      // gets its target created inside the root, as BuildKit's copy does.
      OCIB_ASSIGN_OR_RETURN(UniqueFd dfd, dst_.MkdirAll(cur, 0755));
      uint32_t uid = opts_.chown ? opts_.chown->first : 0;
      uint32_t gid = opts_.chown ? opts_.chown->second : 0;
      OCIB_TRY(SetOwnerAndMode(dfd.get(), store_, uid, gid, S_IFDIR | created_mode_));
      ensured_.insert(cur);
    }
    return Ok();
  }

  // Copies one entry; `follow` resolves a symlink at the source (a COPY argument names the
  // file a link points to, while links inside a copied directory stay links).
  Status CopyEntry(const std::string& from, const std::string& to, bool follow) {
    OCIB_ASSIGN_OR_RETURN(UniqueFd sfd, src_.root->OpenAt(from == "." ? "" : from,
                                                          O_PATH | (follow ? 0 : O_NOFOLLOW)));
    struct stat st;
    if (::fstat(sfd.get(), &st) != 0) return SysError("stat", Shown(from));
    oci::FileMeta meta;
    if (src_.store) {
      meta = src_.store->Effective(st);
    } else {
      meta.mode = st.st_mode;
      meta.rdev = st.st_rdev;
    }
    uint32_t uid = opts_.chown ? opts_.chown->first : meta.uid;
    uint32_t gid = opts_.chown ? opts_.chown->second : meta.gid;
    uint32_t perm = opts_.chmod ? opts_.chmod->Apply(meta.mode) : (meta.mode & 07777);
    uint32_t type = meta.mode & S_IFMT;
    // BuildKit copies a socket as a stub: an empty regular file with the socket's permissions.
    if (type == S_IFSOCK) type = S_IFREG;

    OCIB_ASSIGN_OR_RETURN(oci::RootDir::Parent parent, dst_.OpenParent(to));
    if (parent.name.empty()) {
      if (type != S_IFDIR) return Error{"cannot copy a file over the root directory"};
      return Ok();
    }
    int pdir = parent.dir.get();
    const char* name = parent.name.c_str();
    struct stat old;
    bool exists = ::fstatat(pdir, name, &old, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISDIR(old.st_mode) && type != S_IFDIR)
      return Error{"cannot copy " + Shown(from) + " to " + Shown(to) + ": a directory is there"};
    if (exists && !(S_ISDIR(old.st_mode) && type == S_IFDIR)) {
      if (::unlinkat(pdir, name, 0) != 0) return SysError("unlink", Shown(to));
      if (old.st_nlink <= 1) store_.Erase(old.st_ino);
      exists = false;
    }

    UniqueFd out;
    switch (type) {
      case S_IFDIR:
        if (!exists && ::mkdirat(pdir, name, 0700) != 0) return SysError("mkdir", Shown(to));
        out.reset(::openat(pdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!out) return SysError("open", Shown(to));
        dir_times_.emplace_back(to, st.st_mtim);
        ensured_.insert(to);
        break;
      case S_IFREG: {
        out.reset(::openat(pdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) return SysError("create", Shown(to));
        if (S_ISREG(st.st_mode)) {
          OCIB_ASSIGN_OR_RETURN(
              UniqueFd in,
              src_.root->OpenAt(from == "." ? "" : from, O_RDONLY | (follow ? 0 : O_NOFOLLOW)));
          OCIB_TRY(CopyFileData(in.get(), out.get(), Shown(from)));
        }
        struct timespec ts[2] = {st.st_mtim, st.st_mtim};
        ::futimens(out.get(), ts);
        break;
      }
      case S_IFLNK: {
        char buf[PATH_MAX];
        ssize_t n = ::readlinkat(sfd.get(), "", buf, sizeof buf);
        if (n < 0) return SysError("readlink", Shown(from));
        std::string target(buf, static_cast<size_t>(n));
        if (::symlinkat(target.c_str(), pdir, name) != 0) return SysError("symlink", Shown(to));
        struct stat lst;
        if (::fstatat(pdir, name, &lst, AT_SYMLINK_NOFOLLOW) != 0)
          return SysError("stat", Shown(to));
        struct timespec ts[2] = {st.st_mtim, st.st_mtim};
        ::utimensat(pdir, name, ts, AT_SYMLINK_NOFOLLOW);
        if (uid != 0 || gid != 0) {
          oci::FileMeta m;
          m.uid = uid;
          m.gid = gid;
          m.mode = S_IFLNK | 0777;
          store_.Set(lst.st_ino, m);
        } else {
          store_.Erase(lst.st_ino);
        }
        return Ok();
      }
      case S_IFIFO:
        if (::mkfifoat(pdir, name, 0600) != 0) return SysError("mkfifo", Shown(to));
        out.reset(::openat(pdir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC));
        break;
      default:  // devices and sockets: a placeholder file; the store says what it is
        out.reset(::openat(pdir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
        if (!out) return SysError("create", Shown(to));
        break;
    }
    OCIB_TRY(SetOwnerAndMode(out.get(), store_, uid, gid, type | perm));
    if (type != S_IFDIR && type != S_IFREG && type != S_IFIFO) {
      struct stat pst;
      if (::fstat(out.get(), &pst) != 0) return SysError("stat", Shown(to));
      oci::FileMeta m = store_.Effective(pst);
      m.mode = type | perm;
      m.rdev = meta.rdev;
      m.uid = uid;
      m.gid = gid;
      store_.Set(pst.st_ino, m);
    }
    if (src_.store && !meta.xattrs.empty()) {
      struct stat pst;
      if (::fstat(out.get(), &pst) == 0) {
        oci::FileMeta m = store_.Effective(pst);
        m.xattrs = meta.xattrs;
        store_.Set(pst.st_ino, m);
      }
    }
    return Ok();
  }

  const oci::RootDir& dst_;
  oci::MetaStore& store_;
  const CopySourceTree& src_;
  const CopyOptions& opts_;
  std::optional<dockerfile::Dockerignore> excludes_;
  std::set<std::string> ensured_;
  uint32_t created_mode_ = 0755;
  std::vector<std::pair<std::string, struct timespec>> dir_times_;
};

}  // namespace

Status SetOwnerAndMode(int fd, oci::MetaStore& store, uint32_t uid, uint32_t gid, uint32_t mode) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return SysError("fstat", "");
  uint32_t perm = mode & 07777;
  bool is_dir = S_ISDIR(st.st_mode);
  // The host copy must stay readable and writable by the builder whatever the image says.
  mode_t host = (perm & 0777) | (is_dir ? 0700 : 0600);
  if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) {
    if ((st.st_mode & 07777) != host) {
      std::string proc = "/proc/self/fd/" + std::to_string(fd);
      if (::fchmodat(AT_FDCWD, proc.c_str(), host, 0) != 0) return SysError("chmod", proc);
    }
  }
  const oci::FileMeta* existing = store.Find(st.st_ino);
  bool needed = uid != 0 || gid != 0 || perm != host || (st.st_mode & S_IFMT) != (mode & S_IFMT) ||
                (existing && !existing->xattrs.empty());
  if (!needed) {
    store.Erase(st.st_ino);
    return Ok();
  }
  oci::FileMeta m = existing ? *existing : oci::FileMeta{};
  m.uid = uid;
  m.gid = gid;
  m.mode = (mode & S_IFMT ? mode & S_IFMT : st.st_mode & S_IFMT) | perm;
  if (!existing) m.rdev = st.st_rdev;
  store.Set(st.st_ino, m);
  return Ok();
}

Status CopyInto(const oci::RootDir& dst, oci::MetaStore& dst_store, const CopySourceTree& src,
                const CopyOptions& opts) {
  return Copier(dst, dst_store, src, opts).Run();
}

}  // namespace ocibuild::builder
