// Small filesystem helpers with errors that name the path.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>

#include <string>
#include <string_view>
#include <vector>

#include "util/fd.h"
#include "util/result.h"

namespace ocibuild {

Result<std::string> ReadFile(const std::string& path);
Status WriteFile(const std::string& path, std::string_view data, int mode = 0644);
// Writes to "<path>.tmp-<random>" in the same directory, fsyncs, then renames over path:
// readers see the old content or the new, never a torn file.
Status WriteFileAtomic(const std::string& path, std::string_view data, int mode = 0644);
Status MakeDirs(const std::string& path, int mode = 0755);
// Removes a tree without following symlinks; makes directories writable on the way so that
// trees with 0555 directories (as images have) can be removed by their unprivileged owner.
Status RemoveAll(const std::string& path);
// RemoveAll of `name` in directory `parent`, asking `before_unlink` before each non-directory
// is unlinked: false stops the removal (what is left stays) and the result is false.
Result<bool> RemoveTreeAt(int parent, const std::string& name, const std::string& shown,
                          const std::function<Result<bool>(const struct stat&)>& before_unlink);
bool PathExists(const std::string& path);
// Entry names of the directory open as `dir_fd` (O_PATH is fine), without "." and "..", in
// directory order. Reads through a descriptor of its own: `dir_fd` stays open and usable for
// *at() calls. `shown` names the directory in errors.
Result<std::vector<std::string>> ReadDirNames(int dir_fd, const std::string& shown);
Result<UniqueFd> OpenFile(const std::string& path, int flags, int mode = 0644);
// Copies the extended attributes of one open file to another, best effort: the ones the
// caller may not set (security.*, trusted.* unprivileged) or that exceed 4 KiB are skipped.
using XattrList = std::vector<std::pair<std::string, std::string>>;  // name, value
// Extended attributes of an open file (best effort: what the filesystem lets us read).
XattrList ReadXattrs(int fd);
void WriteXattrs(int fd, const XattrList& xattrs);
void CopyXattrs(int from_fd, int to_fd);
Status WriteAll(int fd, std::string_view data, const std::string& what);
// pwrite(2) of all of `data` at `offset`.
Status PWriteAll(int fd, std::string_view data, int64_t offset, const std::string& what);
// pread(2) until `n` bytes or the end of the file: the bytes read.
Result<size_t> PReadFull(int fd, char* buf, size_t n, int64_t offset, const std::string& what);
// Copies the rest of `from` into `to` (copy_file_range, read/write where it cannot); `what`
// names the source in errors.
Status CopyFileData(int from, int to, const std::string& what);
// Joins two paths with exactly one '/'.
std::string JoinPath(std::string_view a, std::string_view b);
// The parent of a relative path: "a/b" -> "a", "a" -> "".
std::string_view ParentPath(std::string_view p);
// `p` lies below the relative directory `dir` ("" is the top: every non-empty path is below).
bool StrictlyBelow(std::string_view p, std::string_view dir);

// A directory removed (recursively) when the object dies.
class TempDir {
 public:
  // Creates "<parent>/<prefix>XXXXXX"; parent defaults to $TMPDIR or /tmp.
  static Result<TempDir> Create(const std::string& prefix = "ocibuild-",
                                const std::string& parent = "");
  TempDir(TempDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  TempDir& operator=(TempDir&& o) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();

  const std::string& path() const { return path_; }
  // Keeps the directory on disk; returns its path.
  std::string Release();

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

}  // namespace ocibuild
