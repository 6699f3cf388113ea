// Handlers for syscalls that name files without a path argument: directory listings (d_type of
// device nodes that are placeholder files on disk) and AF_UNIX socket addresses (host paths on
// the kernel's side, guest paths on the guest's).
#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "builder/sandbox/tracer.h"

namespace ocibuild::sandbox {

using sys::Arg;
using sys::Regs;
using sys::SetArg;

namespace {

constexpr uint32_t kSunPathOffset = offsetof(sockaddr_un, sun_path);

// The 64-bit record layout; the old getdents record keeps d_type in its last byte instead.
struct Dirent64Head {
  uint64_t d_ino;
  int64_t d_off;
  uint16_t d_reclen;
  uint8_t d_type;
};

}  // namespace

Tracer::Resume Tracer::GetdentsCall(Tracee& t, Regs& r, bool is64) {
  if (!has_devices_) return Resume::kCont;
  // Only listings of rootfs directories can hold placeholders (and only their inode numbers
  // mean anything to the store).
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/%d/fd/%d", t.tid, static_cast<int>(Arg(r, 0)));
  struct stat st;
  if (::stat(proc, &st) != 0 || st.st_dev != root_dev_) return Resume::kCont;
  t.op = ExitOp::kDirents;
  t.a0 = Arg(r, 1);
  t.a1 = is64 ? 1 : 0;
  return Resume::kToExit;
}

void Tracer::FinishGetdents(Tracee& t, Regs& r) {
  int64_t n = sys::RetVal(r);
  if (n <= 0) return;
  dirents_buf_.resize(static_cast<size_t>(n));
  if (!sys::ReadMem(t.tid, t.a0, dirents_buf_.data(), dirents_buf_.size()).ok()) return;
  bool changed = false;
  for (size_t off = 0; off + sizeof(Dirent64Head) <= dirents_buf_.size();) {
    Dirent64Head head;
    std::memcpy(&head, dirents_buf_.data() + off, sizeof head);
    if (head.d_reclen == 0 || off + head.d_reclen > dirents_buf_.size()) break;
    size_t type_at = t.a1 ? off + offsetof(Dirent64Head, d_type) : off + head.d_reclen - 1;
    auto type = static_cast<uint8_t>(dirents_buf_[type_at]);
    if (type == DT_REG) {
      if (const oci::FileMeta* m = store_->Find(static_cast<ino_t>(head.d_ino))) {
        auto want = static_cast<uint8_t>(IFTODT(m->mode));
        if (want != type && want != DT_UNKNOWN) {
          dirents_buf_[type_at] = static_cast<char>(want);
          changed = true;
        }
      }
    }
    off += head.d_reclen;
  }
  if (changed) (void)sys::WriteMem(t.tid, t.a0, dirents_buf_.data(), dirents_buf_.size());
}

int Tracer::UnixAddrToHost(Tracee& t, sockaddr_un* sa, uint32_t* len, bool follow) {
  if (*len <= kSunPathOffset || sa->sun_family != AF_UNIX || sa->sun_path[0] == '\0')
    return 1;  // unnamed or abstract: no file behind it
  size_t max = std::min<size_t>(*len - kSunPathOffset, sizeof sa->sun_path);
  guest_buf_.assign(sa->sun_path, strnlen(sa->sun_path, max));
  base_buf_.clear();
  if (guest_buf_[0] != '/') {
    if (int rc = GuestBase(t, AT_FDCWD, &base_buf_); rc != 0) return rc;
  }
  Status rs = resolver_.Resolve(guest_buf_, base_buf_, follow, &host_buf_, nullptr, Search(), &dirs_);
  if (!rs.ok()) return rs.error().sys_errno ? -rs.error().sys_errno : -EINVAL;
  if (host_buf_.size() >= sizeof sa->sun_path) return -ENAMETOOLONG;
  std::memset(sa->sun_path, 0, sizeof sa->sun_path);
  std::memcpy(sa->sun_path, host_buf_.data(), host_buf_.size());
  *len = static_cast<uint32_t>(kSunPathOffset + host_buf_.size() + 1);
  return 0;
}

bool Tracer::UnixAddrToGuest(sockaddr_un* sa, uint32_t* len) {
  if (*len <= kSunPathOffset || sa->sun_family != AF_UNIX || sa->sun_path[0] != '/') return false;
  size_t max = std::min<size_t>(*len - kSunPathOffset, sizeof sa->sun_path);
  tmp_buf_.assign(sa->sun_path, strnlen(sa->sun_path, max));
  std::string guest;
  if (!resolver_.ToGuest(tmp_buf_, &guest)) return false;
  std::memset(sa->sun_path, 0, sizeof sa->sun_path);
  std::memcpy(sa->sun_path, guest.data(), std::min(guest.size(), sizeof sa->sun_path - 1));
  // The kernel reports the full length even when the caller's buffer was smaller.
  *len = static_cast<uint32_t>(kSunPathOffset + guest.size() + 1);
  return true;
}

Tracer::Resume Tracer::SendmsgCall(Tracee& t, Regs& r) {
  msghdr msg;
  if (!sys::ReadMem(t.tid, Arg(r, 1), &msg, sizeof msg).ok()) return Resume::kCont;
  if (msg.msg_name == nullptr || msg.msg_namelen <= kSunPathOffset) return Resume::kCont;
  sockaddr_un sa;
  std::memset(&sa, 0, sizeof sa);
  uint32_t len = std::min<uint32_t>(msg.msg_namelen, sizeof sa);
  if (!sys::ReadMem(t.tid, reinterpret_cast<uint64_t>(msg.msg_name), &sa, len).ok())
    return Resume::kCont;  // the kernel reports EFAULT
  int rc = UnixAddrToHost(t, &sa, &len, true);
  if (rc > 0) return Resume::kCont;
  if (rc < 0) return Fail(r, rc);
  auto name = ScratchPut(t, &sa, len);
  if (!name.ok()) return Fail(r, -EFAULT);
  msg.msg_name = reinterpret_cast<void*>(*name);
  msg.msg_namelen = len;
  auto copy = ScratchPut(t, &msg, sizeof msg);
  if (!copy.ok()) return Fail(r, -EFAULT);
  SetArg(&r, 1, *copy);
  return Resume::kToExit;
}

Tracer::Resume Tracer::RecvmsgCall(Tracee& t, Regs& r) {
  msghdr msg;
  if (!sys::ReadMem(t.tid, Arg(r, 1), &msg, sizeof msg).ok()) return Resume::kCont;
  if (msg.msg_name == nullptr || msg.msg_namelen == 0) return Resume::kCont;
  t.op = ExitOp::kMsgName;
  t.a0 = Arg(r, 1);
  t.a2 = msg.msg_namelen;
  return Resume::kToExit;
}

void Tracer::FinishMsgName(Tracee& t, Regs& r) {
  if (sys::RetVal(r) < 0) return;
  msghdr msg;
  if (!sys::ReadMem(t.tid, t.a0, &msg, sizeof msg).ok()) return;
  sockaddr_un sa;
  std::memset(&sa, 0, sizeof sa);
  uint32_t cap = static_cast<uint32_t>(std::min<uint64_t>(t.a2, sizeof sa));
  uint32_t len = msg.msg_namelen;
  auto addr = reinterpret_cast<uint64_t>(msg.msg_name);
  if (!sys::ReadMem(t.tid, addr, &sa, std::min(len, cap)).ok()) return;
  if (!UnixAddrToGuest(&sa, &len)) return;
  if (!sys::WriteMem(t.tid, addr, &sa, std::min(len, cap)).ok()) return;
  msg.msg_namelen = len;
  (void)sys::WriteMem(t.tid, t.a0 + offsetof(msghdr, msg_namelen), &msg.msg_namelen,
                      sizeof msg.msg_namelen);
}

Tracer::Resume Tracer::SockNameCall(Tracee& t, Regs& r, int addr_arg, int len_arg) {
  if (Arg(r, addr_arg) == 0 || Arg(r, len_arg) == 0) return Resume::kCont;
  uint32_t cap = 0;
  if (!sys::ReadMem(t.tid, Arg(r, len_arg), &cap, sizeof cap).ok()) return Resume::kCont;
  t.op = ExitOp::kSockName;
  t.a0 = Arg(r, addr_arg);
  t.a1 = Arg(r, len_arg);
  t.a2 = cap;
  return Resume::kToExit;
}

void Tracer::FinishSockName(Tracee& t, Regs& r) {
  if (sys::RetVal(r) < 0) return;
  uint32_t len = 0;
  if (!sys::ReadMem(t.tid, t.a1, &len, sizeof len).ok()) return;
  sockaddr_un sa;
  std::memset(&sa, 0, sizeof sa);
  uint32_t cap = static_cast<uint32_t>(std::min<uint64_t>(t.a2, sizeof sa));
  if (!sys::ReadMem(t.tid, t.a0, &sa, std::min(len, cap)).ok()) return;
  if (!UnixAddrToGuest(&sa, &len)) return;
  if (!sys::WriteMem(t.tid, t.a0, &sa, std::min(len, cap)).ok()) return;
  (void)sys::WriteMem(t.tid, t.a1, &len, sizeof len);
}

}  // namespace ocibuild::sandbox
