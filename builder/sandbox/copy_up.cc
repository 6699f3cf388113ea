#include "builder/sandbox/copy_up.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "util/fd.h"
#include "util/fs.h"

namespace ocibuild::sandbox {

int BreakSharedLink(int dirfd, const std::string& name, bool keep_content,
                    const std::unordered_set<uint64_t>* shared, CopiedUp* out) {
  *out = {};
  if (!shared || shared->empty()) return 0;
  // Opened first and judged by what was opened: a rename racing us cannot swap the file.
  UniqueFd src(::openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!src) return errno == ELOOP || errno == ENOENT ? 0 : -errno;
  struct stat st;
  if (::fstat(src.get(), &st) != 0) return -errno;
  if (!S_ISREG(st.st_mode) || !shared->count(st.st_ino)) return 0;
  struct stat dir_before;
  if (::fstat(dirfd, &dir_before) != 0) return -errno;
  char tmp[64];
  UniqueFd copy;
  for (int i = 0; i < 100 && !copy; ++i) {
    snprintf(tmp, sizeof tmp, ".ocibuild-copy-up-%d-%d", static_cast<int>(::getpid()), i);
    copy.reset(::openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!copy && errno != EEXIST) return -errno;
  }
  if (!copy) return -EEXIST;
  int err = 0;
  if (keep_content) {
    Status cs = CopyFileData(src.get(), copy.get(), name);
    if (!cs.ok()) err = cs.error().sys_errno ? cs.error().sys_errno : EIO;
  }
  if (err == 0) {
    CopyXattrs(src.get(), copy.get());
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::fchmod(copy.get(), st.st_mode & 07777) != 0 || ::futimens(copy.get(), times) != 0)
      err = errno;
  }
  struct stat made;
  if (err == 0 && ::fstat(copy.get(), &made) != 0) err = errno;
  // Replace the name only if it still leads to the inode we copied.
  struct stat now;
  if (err == 0 && (::fstatat(dirfd, name.c_str(), &now, AT_SYMLINK_NOFOLLOW) != 0 ||
                   now.st_ino != st.st_ino || now.st_dev != st.st_dev))
    err = EAGAIN;
  if (err == 0 && ::renameat(dirfd, tmp, dirfd, name.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlinkat(dirfd, tmp, 0);
    return -err;
  }
  // The directory's own times stay: with or without the copy, a layer records the same parent.
  struct timespec dir_times[2] = {{0, UTIME_OMIT}, dir_before.st_mtim};
  ::futimens(dirfd, dir_times);
  struct stat after;
  out->from = st.st_ino;
  out->to = made.st_ino;
  auto ns = [](const struct timespec& t) {
    return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
  };
  out->ctime_before = ns(st.st_ctim);
  out->ctime_after = ::fstat(src.get(), &after) == 0 ? ns(after.st_ctim) : 0;
  return 0;
}

}  // namespace ocibuild::sandbox
