#include "builder/sandbox/copy_up.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

#include "util/fd.h"
#include "util/fs.h"

namespace ocibuild::sandbox {
bool BreakSharedLink(const std::string& path, oci::MetaStore& store, bool keep_content,
                     const std::unordered_set<uint64_t>* shared) {
  if (!shared || shared->empty()) return false;
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink < 2 ||
      !shared->count(st.st_ino))
    return false;
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return false;
  std::string dir = slash == 0 ? "/" : path.substr(0, slash);
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dfd) return false;
  struct stat dst_before;
  if (::fstat(dfd.get(), &dst_before) != 0) return false;
  UniqueFd src(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!src) return false;
  char tmp[64];
  UniqueFd out;
  for (int i = 0; i < 100 && !out; ++i) {
    snprintf(tmp, sizeof tmp, ".ocibuild-copy-up-%d-%d", static_cast<int>(::getpid()), i);
    out.reset(::openat(dfd.get(), tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out && errno != EEXIST) return false;
  }
  if (!out) return false;
  bool ok = !keep_content || CopyFileData(src.get(), out.get(), path).ok();
  if (ok) {
    CopyXattrs(src.get(), out.get());
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    ok = ::fchmod(out.get(), st.st_mode & 07777) == 0 && ::futimens(out.get(), times) == 0;
  }
  struct stat copy;
  ok = ok && ::fstat(out.get(), &copy) == 0 &&
       ::renameat(dfd.get(), tmp, dfd.get(), path.c_str() + slash + 1) == 0;
  if (!ok) {
    ::unlinkat(dfd.get(), tmp, 0);
    return false;
  }
  if (const oci::FileMeta* m = store.Find(st.st_ino)) store.Set(copy.st_ino, *m);
  // The directory's own times stay: with or without the copy, a layer records the same parent.
  struct timespec dir_times[2] = {{0, UTIME_OMIT}, dst_before.st_mtim};
  ::futimens(dfd.get(), dir_times);
  return true;
}

}  // namespace ocibuild::sandbox
