#include "util/sys/openat2.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace ocibuild::sys {
namespace {

// Linux's own limit on symlinks followed during one lookup.
constexpr int kMaxSymlinks = 40;

void PushComponents(std::string_view path, std::vector<std::string>& pending) {
  // `pending` is consumed from the back, so components are pushed in reverse.
  size_t end = path.size();
  while (end > 0) {
    size_t start = path.rfind('/', end - 1);
    size_t from = start == std::string_view::npos ? 0 : start + 1;
    if (end > from) pending.emplace_back(path.substr(from, end - from));
    if (start == std::string_view::npos) break;
    end = start;
  }
}

Result<std::string> ReadLinkAt(int fd, const std::string& what) {
  std::string buf(256, '\0');
  for (;;) {
    ssize_t n = ::readlinkat(fd, "", buf.data(), buf.size());
    if (n < 0) return SysError("readlinkat", what);
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return buf;
    }
    buf.resize(buf.size() * 2);
  }
}

// Resolution in userspace, one component at a time with O_PATH|O_NOFOLLOW, keeping the chain of
// directory fds so that ".." pops back toward (never past) the root. Each symlink met is read
// and its target spliced into the pending components; absolute targets restart at the root.
Result<UniqueFd> WalkInRoot(int rootfd, std::string_view path, int flags, mode_t mode) {
  std::string what(path);
  std::vector<UniqueFd> chain;
  std::vector<std::string> pending;
  PushComponents(path, pending);
  int links = 0;
  auto cur = [&] { return chain.empty() ? rootfd : chain.back().get(); };
  auto follow = [&](int linkfd) -> Status {
    if (++links > kMaxSymlinks) return SysError("open", what, ELOOP);
    OCIB_ASSIGN_OR_RETURN(std::string target, ReadLinkAt(linkfd, what));
    if (!target.empty() && target[0] == '/') chain.clear();
    PushComponents(target, pending);
    return Ok();
  };
  while (!pending.empty()) {
    std::string c = std::move(pending.back());
    pending.pop_back();
    if (c == ".") continue;
    if (c == "..") {
      if (!chain.empty()) chain.pop_back();
      continue;
    }
    // Skip trailing "." entries so that the real last component is recognised as last.
    bool last = true;
    for (auto it = pending.rbegin(); it != pending.rend(); ++it) {
      if (*it != ".") {
        last = false;
        break;
      }
    }
    if (!last) {
      int fd = ::openat(cur(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) return SysError("openat", what);
      UniqueFd comp(fd);
      struct stat st;
      if (::fstat(fd, &st) != 0) return SysError("fstat", what);
      if (S_ISLNK(st.st_mode)) {
        OCIB_TRY(follow(fd));
        continue;
      }
      if (!S_ISDIR(st.st_mode)) return SysError("openat", what, ENOTDIR);
      chain.push_back(std::move(comp));
      continue;
    }
    if (!(flags & O_NOFOLLOW)) {
      struct stat st;
      if (::fstatat(cur(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) &&
          !((flags & O_CREAT) && (flags & O_EXCL))) {
        int lfd = ::openat(cur(), c.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (lfd < 0) return SysError("openat", what);
        UniqueFd link(lfd);
        OCIB_TRY(follow(lfd));
        continue;
      }
    }
    int fd = ::openat(cur(), c.c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) return SysError("openat", what);
    return UniqueFd(fd);
  }
  // The path named the root itself (or a directory reached through "..").
  int fd = ::openat(cur(), ".", (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC, mode);
  if (fd < 0) return SysError("openat", what);
  return UniqueFd(fd);
}

}  // namespace

int Openat2(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags);
  // open(2) ignores mode without O_CREAT/O_TMPFILE; openat2 rejects it (EINVAL).
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = resolve;
  return static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

bool Openat2Usable(int some_dirfd) {
  int fd = Openat2(some_dirfd, ".", O_PATH | O_CLOEXEC, 0, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

Result<UniqueFd> OpenInRoot(int rootfd, std::string_view path, int flags, mode_t mode,
                            InRootMethod method) {
  if (method == InRootMethod::kWalk) return WalkInRoot(rootfd, path, flags, mode);
  std::string p(path.empty() ? "." : path);
  for (;;) {
    int fd = Openat2(rootfd, p.c_str(), flags | O_CLOEXEC, mode,
                     RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0) return UniqueFd(fd);
    // EAGAIN: a concurrent rename anywhere on the system made the kernel refuse to vouch for
    // the lookup; retrying is what the man page prescribes.
    if (errno == EAGAIN || errno == EINTR) continue;
    if (errno == ENOSYS) return WalkInRoot(rootfd, path, flags, mode);
    return SysError("openat2", std::string(path));
  }
}

}  // namespace ocibuild::sys
