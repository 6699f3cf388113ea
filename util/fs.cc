#include "util/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

namespace ocibuild {

Result<UniqueFd> OpenFile(const std::string& path, int flags, int mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return SysError("open", path);
  return UniqueFd(fd);
}

Result<std::string> ReadFile(const std::string& path) {
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  std::string out;
  // Read straight into a buffer of the file's size (the unpacked-tree cache's listings are
  // megabytes): no growing copies. A file that grows meanwhile, or has no size (a pipe, /proc),
  // is read on until EOF all the same.
  struct stat st;
  size_t size = 65536;
  if (::fstat(fd.get(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    size = static_cast<size_t>(st.st_size) + 1;  // + 1: the read that finds EOF
  out.resize(size);
  size_t used = 0;
  for (;;) {
    if (used == out.size()) out.resize(out.size() * 2);
    ssize_t n = ::read(fd.get(), out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read", path);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  out.resize(used);
  return out;
}

Status CopyFileData(int from, int to, const std::string& what) {
  for (;;) {
    ssize_t n = ::copy_file_range(from, nullptr, to, nullptr, 1 << 30, 0);
    if (n == 0) return Ok();
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP &&
        errno != EPERM)
      return SysError("copy", what);
    break;  // fall back to read/write (e.g. across filesystems on old kernels)
  }
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read", what);
    }
    if (n == 0) return Ok();
    OCIB_TRY(WriteAll(to, std::string_view(buf, static_cast<size_t>(n)), what));
  }
}

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("write", what);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok();
}

Status PWriteAll(int fd, std::string_view data, int64_t offset, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), offset);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("pwrite", what);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += n;
  }
  return Ok();
}

Result<size_t> PReadFull(int fd, char* buf, size_t n, int64_t offset, const std::string& what) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, buf + got, n - got, offset + static_cast<int64_t>(got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return SysError("pread", what);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

Status WriteFile(const std::string& path, std::string_view data, int mode) {
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  return WriteAll(fd.get(), data, path);
}

static std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kAlnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(10, 'x');
  for (auto& c : s) c = kAlnum[rng() % (sizeof kAlnum - 1)];
  return s;
}

Status WriteFileAtomic(const std::string& path, std::string_view data, int mode) {
  std::string tmp = path + ".tmp-" + RandomSuffix();
  {
    OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(tmp, O_WRONLY | O_CREAT | O_EXCL, mode));
    Status st = WriteAll(fd.get(), data, tmp);
    if (st.ok() && ::fsync(fd.get()) != 0) st = SysError("fsync", tmp);
    if (!st.ok()) {
      ::unlink(tmp.c_str());
      return st;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = SysError("rename", tmp + " -> " + path);
    ::unlink(tmp.c_str());
    return e;
  }
  return Ok();
}

Status MakeDirs(const std::string& path, int mode) {
  if (path.empty()) return Ok();
  std::string cur;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    cur = path.substr(0, j);
    i = j + 1;
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return SysError("mkdir", cur);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return SysError("stat", path);
  if (!S_ISDIR(st.st_mode)) return Error{"mkdir " + path + ": exists and is not a directory"};
  return Ok();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

Result<bool> RemoveTreeAt(int parent, const std::string& name, const std::string& shown,
                          const std::function<Result<bool>(const struct stat&)>& before_unlink) {
  struct stat st;
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return true;
    return SysError("stat", shown);
  }
  if (S_ISDIR(st.st_mode)) {
    if ((st.st_mode & 0700) != 0700) ::fchmodat(parent, name.c_str(), 0700, 0);
    UniqueFd fd(::openat(parent, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return SysError("open", shown);
    OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(fd.get(), shown));
    for (const auto& n : names) {
      OCIB_ASSIGN_OR_RETURN(bool done, RemoveTreeAt(fd.get(), n, shown + "/" + n, before_unlink));
      if (!done) return false;
    }
    if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
      return SysError("rmdir", shown);
    return true;
  }
  OCIB_ASSIGN_OR_RETURN(bool go_on, before_unlink(st));
  if (!go_on) return false;
  if (::unlinkat(parent, name.c_str(), 0) != 0 && errno != ENOENT) return SysError("unlink", shown);
  return true;
}

Result<std::vector<std::string>> ReadDirNames(int dir_fd, const std::string& shown) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SysError("open", shown);
  DIR* d = ::fdopendir(fd);
  if (!d) {
    ::close(fd);
    return SysError("fdopendir", shown);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
      names.emplace_back(e->d_name);
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) return SysError("readdir", shown, err);
  return names;
}

Status RemoveAll(const std::string& path) {
  auto r =
      RemoveTreeAt(AT_FDCWD, path, path, [](const struct stat&) -> Result<bool> { return true; });
  if (!r.ok()) return r.error();
  return Ok();
}

XattrList ReadXattrs(int fd) {
  XattrList out;
  char names[4096];
  ssize_t n = ::flistxattr(fd, names, sizeof names);
  for (ssize_t off = 0; n > 0 && off < n;
       off += static_cast<ssize_t>(std::strlen(names + off)) + 1) {
    char value[4096];
    ssize_t v = ::fgetxattr(fd, names + off, value, sizeof value);
    if (v >= 0) out.emplace_back(names + off, std::string(value, static_cast<size_t>(v)));
  }
  return out;
}

void WriteXattrs(int fd, const XattrList& xattrs) {
  for (const auto& [name, value] : xattrs)
    ::fsetxattr(fd, name.c_str(), value.data(), value.size(), 0);
}

void CopyXattrs(int from_fd, int to_fd) {
  WriteXattrs(to_fd, ReadXattrs(from_fd));
}

std::string_view ParentPath(std::string_view p) {
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : p.substr(0, slash);
}

bool StrictlyBelow(std::string_view p, std::string_view dir) {
  if (dir.empty()) return !p.empty();
  return p.size() > dir.size() && p.substr(0, dir.size()) == dir && p[dir.size()] == '/';
}

std::string JoinPath(std::string_view a, std::string_view b) {
  if (a.empty()) return std::string(b);
  if (b.empty()) return std::string(a);
  std::string out(a);
  while (!out.empty() && out.back() == '/') out.pop_back();
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  out += '/';
  out += b;
  return out;
}

Result<TempDir> TempDir::Create(const std::string& prefix, const std::string& parent) {
  std::string base = parent;
  if (base.empty()) {
    const char* t = std::getenv("TMPDIR");
    base = (t && *t) ? t : "/tmp";
  }
  std::string tmpl = JoinPath(base, prefix + "XXXXXX");
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) return SysError("mkdtemp", tmpl);
  return TempDir(std::string(buf.data()));
}

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    if (!path_.empty()) (void)RemoveAll(path_);
    path_ = std::move(o.path_);
    o.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() {
  if (!path_.empty()) (void)RemoveAll(path_);
}

std::string TempDir::Release() {
  std::string p = std::move(path_);
  path_.clear();
  return p;
}

}  // namespace ocibuild
