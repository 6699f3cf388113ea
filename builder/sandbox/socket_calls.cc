// Socket calls that carry an address: performed by the supervisor on a duplicate of the guest's
// socket, with the address copied once. AF_UNIX paths are bound/connected relative to the
// socket's directory (the worker thread chdirs into our descriptor of it: one component, no
// host path); abstract names get the step's private prefix, so the step never reaches an
// abstract socket of the host (agents, containerd shims, X11) and the host's processes never
// see the step's by name.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>

#include "builder/sandbox/supervisor.h"

namespace ocibuild::sandbox {
namespace {

constexpr size_t kSunPathOffset = offsetof(sockaddr_un, sun_path);
constexpr size_t kMaxAddr = sizeof(sockaddr_storage);

}  // namespace

int Supervisor::TranslateSockaddr(Call& c, const char* addr, size_t len, bool bind,
                                  SockTarget* out) {
  out->addr.assign(addr, addr + len);
  sa_family_t family = 0;
  if (len >= sizeof family) std::memcpy(&family, addr, sizeof family);
  if (family != AF_UNIX || len <= kSunPathOffset) return 0;  // unnamed (autobind) or not unix
  const char* path = addr + kSunPathOffset;
  size_t plen = len - kSunPathOffset;
  if (path[0] == '\0') {
    // Abstract: "\0name" becomes "\0<prefix>name".
    std::string name(path + 1, plen - 1);
    std::string host = std::string(1, '\0') + opts_.abstract_prefix + name;
    out->guest.assign(addr, addr + len);
    if (host.size() > sizeof(sockaddr_un::sun_path)) return -EINVAL;
    out->addr.assign(kSunPathOffset + host.size(), 0);
    std::memcpy(out->addr.data(), &family, sizeof family);
    std::memcpy(out->addr.data() + kSunPathOffset, host.data(), host.size());
    return 0;
  }
  std::string guest(path, strnlen(path, std::min(plen, sizeof(sockaddr_un::sun_path))));
  out->guest.assign(addr, addr + kSunPathOffset + guest.size() + 1);
  out->guest[kSunPathOffset + guest.size()] = '\0';
  Resolved r;
  int links = 0;
  WalkOptions o;
  o.follow_final = !bind;
  o.search = c.Search();
  if (int rc = Resolve(c, AT_FDCWD, guest, o, &r); rc != 0) return rc;
  if (!bind)
    if (int rc = FollowIfLink(c, &r, o, &links); rc != 0) return rc;
  if (r.in_proc()) return bind ? -EADDRINUSE : -ECONNREFUSED;
  std::string name;
  if (bind) {
    if (r.is_mount_root()) return -EADDRINUSE;
    if (int rc = r.mount->read_only ? -EROFS : 0; rc != 0) return rc;
    if (int rc = MayCreate(c, r); rc != 0) return rc;
    // Bound relative to the directory (the worker chdirs into our descriptor of it): the kernel
    // keeps the name the peers will see.
    name = r.name;
    out->unix_path = true;
  } else {
    // Reached through our descriptor: the kernel follows the magic link to the directory (or,
    // for a socket that is itself a mount, such as an ssh agent's, to the socket).
    name = "/proc/self/fd/" + std::to_string(r.dir.get());
    if (!r.is_mount_root()) name += "/" + r.name;
    out->name = r.is_mount_root() ? "" : r.name;
  }
  if (name.size() >= sizeof(sockaddr_un::sun_path)) return -ENAMETOOLONG;
  out->addr.assign(kSunPathOffset + name.size() + 1, 0);
  std::memcpy(out->addr.data(), &family, sizeof family);
  std::memcpy(out->addr.data() + kSunPathOffset, name.data(), name.size());
  out->dir = r.dir;
  return 0;
}

void Supervisor::BindConnect(Call& c, bool bind) {
  size_t len = c.arg(2);
  if (len > kMaxAddr) return c.Fail(-EINVAL);
  std::vector<char> addr(len);
  if (len && ReadMem(c, c.arg(1), addr.data(), len) != 0) return c.Fail(-EFAULT);
  SockTarget t;
  if (int rc = TranslateSockaddr(c, addr.data(), len, bind, &t); rc != 0) return c.Fail(rc);
  int fd = DupGuestFd(c, c.iarg(0));
  if (fd < 0) return c.Fail(fd);
  UniqueFd sock(fd);
  // A path is looked up by the kernel relative to this worker's cwd: our descriptor of the
  // socket's directory, so nothing the guest renames meanwhile can redirect it.
  std::unique_lock<std::mutex> cwd_lock(cwd_mu_, std::defer_lock);
  if (t.unix_path) cwd_lock.lock();
  if (t.unix_path && ::fchdir(t.dir.get()) != 0) return c.Fail(-errno);
  auto* sa = reinterpret_cast<const sockaddr*>(t.addr.data());
  socklen_t sl = static_cast<socklen_t>(t.addr.size());
  int rc = bind ? ::bind(sock.get(), sa, sl) : ::connect(sock.get(), sa, sl);
  int err = rc == 0 ? 0 : errno;
  if (t.unix_path) (void)!::chdir("/");
  if (err != 0) return c.Fail(-err);
  NoteSockName(sock.get(), t, bind);
  c.Return(0);
}

void Supervisor::NoteSockName(int sock, const SockTarget& t, bool bind) {
  if (t.guest.empty()) return;
  struct stat ss;
  if (::fstat(sock, &ss) != 0) return;
  std::lock_guard<std::mutex> lock(sock_mu_);
  if (bind) {
    sock_names_[ss.st_ino] = t.guest;
    struct stat fs;
    if (t.unix_path &&
        ::fstatat(t.dir.get(), t.addr.data() + kSunPathOffset, &fs, AT_SYMLINK_NOFOLLOW) == 0)
      bound_files_[{fs.st_dev, fs.st_ino}] = t.guest;
    return;
  }
  // The peer is known by the name it bound, when the step bound it; else as the guest named it.
  std::vector<char> peer = t.guest;
  struct stat fs;
  if (t.dir.fd && ::fstatat(t.dir.get(), t.name.c_str(), &fs,
                            t.name.empty() ? AT_EMPTY_PATH : AT_SYMLINK_NOFOLLOW) == 0) {
    auto it = bound_files_.find({fs.st_dev, fs.st_ino});
    if (it != bound_files_.end()) peer = it->second;
  }
  peer_names_[ss.st_ino] = std::move(peer);
}

void Supervisor::SockName(Call& c, bool peer) {
  // Only sockets the step bound or connected by name are answered here; the kernel's answer
  // for the rest (inet, unnamed, accepted) names nothing of the host.
  std::string link = "/proc/" + std::to_string(c.tid()) + "/fd/" + std::to_string(c.iarg(0));
  char buf[64];
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  unsigned long long ino = 0;
  if (n > 0) {
    buf[n] = '\0';
    if (std::sscanf(buf, "socket:[%llu]", &ino) != 1) ino = 0;
  }
  std::vector<char> name;
  if (ino) {
    std::lock_guard<std::mutex> lock(sock_mu_);
    auto& names = peer ? peer_names_ : sock_names_;
    auto it = names.find(static_cast<ino_t>(ino));
    if (it != names.end()) name = it->second;
  }
  if (name.empty()) {
    c.cont = true;
    return;
  }
  socklen_t room;
  if (ReadMem(c, c.arg(2), &room, sizeof room) != 0) return c.Fail(-EFAULT);
  if (static_cast<int>(room) < 0) return c.Fail(-EINVAL);
  if (room && WriteMem(c, c.arg(1), name.data(), std::min<size_t>(room, name.size())) != 0)
    return c.Fail(-EFAULT);
  socklen_t full = static_cast<socklen_t>(name.size());
  if (WriteMem(c, c.arg(2), &full, sizeof full) != 0) return c.Fail(-EFAULT);
  c.Return(0);
}

void Supervisor::SendTo(Call& c) {
  size_t len = c.arg(2);
  size_t alen = c.arg(5);
  if (alen > kMaxAddr) return c.Fail(-EINVAL);
  if (len > (64u << 20)) len = 64u << 20;  // the kernel sends what fits anyway
  std::vector<char> data(len), addr(alen);
  if (len && ReadMem(c, c.arg(1), data.data(), len) != 0) return c.Fail(-EFAULT);
  if (alen && ReadMem(c, c.arg(4), addr.data(), alen) != 0) return c.Fail(-EFAULT);
  SockTarget t;
  if (int rc = TranslateSockaddr(c, addr.data(), alen, false, &t); rc != 0) return c.Fail(rc);
  int fd = DupGuestFd(c, c.iarg(0));
  if (fd < 0) return c.Fail(fd);
  UniqueFd sock(fd);
  std::unique_lock<std::mutex> cwd_lock(cwd_mu_, std::defer_lock);
  if (t.unix_path) cwd_lock.lock();
  if (t.unix_path && ::fchdir(t.dir.get()) != 0) return c.Fail(-errno);
  ssize_t n = ::sendto(sock.get(), data.data(), len, c.iarg(3) | MSG_NOSIGNAL,
                       alen ? reinterpret_cast<const sockaddr*>(t.addr.data()) : nullptr,
                       static_cast<socklen_t>(t.addr.size()));
  int err = n < 0 ? errno : 0;
  if (t.unix_path) (void)!::chdir("/");
  if (n < 0) return c.Fail(-err);
  c.Return(n);
}

void Supervisor::SendMsg(Call& c, bool multi) {
  int fd = DupGuestFd(c, c.iarg(0));
  if (fd < 0) return c.Fail(fd);
  UniqueFd sock(fd);
  unsigned vlen = multi ? static_cast<unsigned>(std::min<uint64_t>(c.arg(2), 1024)) : 1;
  int flags = c.iarg(multi ? 3 : 2);
  unsigned sent = 0;
  for (unsigned i = 0; i < vlen; ++i) {
    uint64_t hdr_addr = multi ? c.arg(1) + i * sizeof(mmsghdr) : c.arg(1);
    msghdr m;
    if (ReadMem(c, hdr_addr, &m, sizeof m) != 0) return sent ? c.Return(sent) : c.Fail(-EFAULT);
    if (m.msg_iovlen > 1024 || m.msg_namelen > kMaxAddr || m.msg_controllen > 65536)
      return sent ? c.Return(sent) : c.Fail(-EINVAL);
    // The payload, copied once.
    std::vector<iovec> iov(m.msg_iovlen);
    if (m.msg_iovlen && ReadMem(c, reinterpret_cast<uint64_t>(m.msg_iov), iov.data(),
                                iov.size() * sizeof(iovec)) != 0)
      return sent ? c.Return(sent) : c.Fail(-EFAULT);
    size_t total = 0;
    for (const iovec& v : iov) total += std::min<size_t>(v.iov_len, 64u << 20);
    if (total > (64u << 20)) return sent ? c.Return(sent) : c.Fail(-EMSGSIZE);
    std::vector<char> data(total);
    size_t off = 0;
    for (const iovec& v : iov) {
      if (v.iov_len &&
          ReadMem(c, reinterpret_cast<uint64_t>(v.iov_base), data.data() + off, v.iov_len) != 0)
        return sent ? c.Return(sent) : c.Fail(-EFAULT);
      off += v.iov_len;
    }
    std::vector<char> name(m.msg_namelen);
    if (m.msg_name && m.msg_namelen &&
        ReadMem(c, reinterpret_cast<uint64_t>(m.msg_name), name.data(), name.size()) != 0)
      return sent ? c.Return(sent) : c.Fail(-EFAULT);
    std::vector<char> control(m.msg_controllen);
    if (m.msg_control && m.msg_controllen &&
        ReadMem(c, reinterpret_cast<uint64_t>(m.msg_control), control.data(), control.size()) != 0)
      return sent ? c.Return(sent) : c.Fail(-EFAULT);
    // Descriptors passed along are the guest's numbers: replace them by our duplicates.
    std::vector<UniqueFd> passed;
    msghdr out = {};
    out.msg_controllen = control.size();
    out.msg_control = control.empty() ? nullptr : control.data();
    for (cmsghdr* cm = control.empty() ? nullptr : CMSG_FIRSTHDR(&out); cm;
         cm = CMSG_NXTHDR(&out, cm)) {
      if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        int* fds = reinterpret_cast<int*>(CMSG_DATA(cm));
        for (size_t k = 0; k < n; ++k) {
          int dup = DupGuestFd(c, fds[k]);
          if (dup < 0) return sent ? c.Return(sent) : c.Fail(-EBADF);
          passed.emplace_back(dup);
          fds[k] = dup;
        }
      } else if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
        // Credentials are the sender's: ours now (the kernel would refuse another pid's).
        auto* cred = reinterpret_cast<ucred*>(CMSG_DATA(cm));
        cred->pid = ::getpid();
        cred->uid = ::getuid();
        cred->gid = ::getgid();
      }
    }
    SockTarget t;
    if (!name.empty()) {
      if (int rc = TranslateSockaddr(c, name.data(), name.size(), false, &t); rc != 0)
        return sent ? c.Return(sent) : c.Fail(rc);
      out.msg_name = t.addr.data();
      out.msg_namelen = static_cast<socklen_t>(t.addr.size());
    }
    iovec one = {data.data(), data.size()};
    out.msg_iov = &one;
    out.msg_iovlen = 1;
    std::unique_lock<std::mutex> cwd_lock(cwd_mu_, std::defer_lock);
    if (t.unix_path) cwd_lock.lock();
    if (t.unix_path && ::fchdir(t.dir.get()) != 0) return sent ? c.Return(sent) : c.Fail(-errno);
    ssize_t n = ::sendmsg(sock.get(), &out, flags | MSG_NOSIGNAL);
    int err = n < 0 ? errno : 0;
    if (t.unix_path) (void)!::chdir("/");
    if (n < 0) {
      if (err == EPIPE && !(flags & MSG_NOSIGNAL)) {
        // The guest asked for SIGPIPE: the kernel would have raised it in the sender.
        ::syscall(SYS_tgkill, c.task->proc->tgid, c.tid(), SIGPIPE);
      }
      return sent ? c.Return(sent) : c.Fail(-err);
    }
    if (!multi) return c.Return(n);
    unsigned len32 = static_cast<unsigned>(n);
    (void)WriteMem(c, hdr_addr + offsetof(mmsghdr, msg_len), &len32, sizeof len32);
    ++sent;
  }
  c.Return(sent);
}

}  // namespace ocibuild::sandbox
