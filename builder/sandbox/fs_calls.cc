// Path syscalls performed by the supervisor on the guest's behalf: every one resolves its path
// with GuestFs::Walk and acts on (directory descriptor, one name).
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "builder/sandbox/supervisor.h"
#include "util/sys/openat2.h"

namespace ocibuild::sandbox {
namespace {

constexpr uint32_t kNoMode = 0xffffffff;

// Host permission bits: whatever the image says, the (unprivileged) owner keeps read/write (and
// search on directories) so that fake root is never denied; the image's bits live in the store.
uint32_t HostPerm(uint32_t perm, bool dir) {
  return (perm & 0777) | (dir ? 0700 : 0600);
}

bool WritesData(int flags) {
  return (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
}

bool Foreign(const FakeCreds& c) {
  return c.fsuid != 0 || c.fsgid != 0;
}

// A mount the guest may change.
int Writable(const Mount& m) {
  if (m.read_only || m.kind == PathMapping::Kind::kSys) return -EROFS;
  if (m.kind == PathMapping::Kind::kProc) return -EACCES;
  return 0;
}

int OpenMemfd(const std::string& content, int flags) {
  int fd = ::memfd_create("ocibuild-proc", MFD_CLOEXEC);
  if (fd < 0) return -errno;
  UniqueFd guard(fd);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n <= 0) return -EIO;
    off += static_cast<size_t>(n);
  }
  // Read-only for the guest: reopen the memfd for reading only.
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  int ro = ::open(proc, O_RDONLY | O_CLOEXEC | (flags & O_NONBLOCK));
  return ro < 0 ? -errno : ro;
}

}  // namespace

void Supervisor::RecordNew(Call& c, const Mount& m, int fd_or_dir, const char* name,
                           uint32_t virt_mode, uint64_t rdev) {
  if (!m.store) return;
  FakeCreds creds;
  {
    std::lock_guard<std::mutex> lock(c.task->creds_mu);
    creds = c.task->creds;
  }
  bool foreign = Foreign(creds);
  struct stat st;
  int rc = name ? ::fstatat(fd_or_dir, name, &st, AT_SYMLINK_NOFOLLOW) : ::fstat(fd_or_dir, &st);
  if (rc != 0) return;
  fs_.WithStore(m, [&](oci::MetaStore& store) {
    if (virt_mode == kNoMode && !foreign) {
      store.Erase(st.st_ino);  // a reused inode number must not inherit a dead file's owner
      return;
    }
    oci::FileMeta meta;
    meta.uid = creds.fsuid;
    meta.gid = creds.fsgid;
    if (virt_mode == kNoMode) {
      meta.mode = st.st_mode;
    } else if (virt_mode & S_IFMT) {
      meta.mode = virt_mode;
    } else {
      meta.mode = (st.st_mode & S_IFMT) | virt_mode;
    }
    meta.rdev = rdev ? rdev : st.st_rdev;
    store.Set(st.st_ino, std::move(meta));
  });
}

int Supervisor::MayCreate(Call& c, const Resolved& r) {
  if (!c.checks) return 0;
  return Permission(c.who, fs_.MetaOf(*r.dir.mount, r.dir.st), kMayWrite | kMayExec);
}

int Supervisor::MayDelete(Call& c, const Resolved& r, const struct stat& victim) {
  if (!c.checks) return 0;
  oci::FileMeta d = fs_.MetaOf(*r.dir.mount, r.dir.st);
  if (int rc = Permission(c.who, d, kMayWrite | kMayExec); rc != 0) return rc;
  return StickyCheck(c.who, d, fs_.MetaOf(*r.mount, victim));
}

void Supervisor::OpenAt2(Call& c) {
  open_how how = {};
  size_t size = c.arg(3);
  if (size < sizeof how) return c.Fail(-EINVAL);
  if (int rc = ReadMem(c, c.arg(2), &how, sizeof how); rc != 0) return c.Fail(rc);
  if (how.flags & ~static_cast<uint64_t>(0xffffffff)) return c.Fail(-EINVAL);
  Open(c, 0, 1, how.flags, static_cast<uint32_t>(how.mode), how.resolve);
}

void Supervisor::Open(Call& c, int dirfd_arg, int path_arg, uint64_t flags64, uint32_t mode,
                      uint64_t resolve) {
  int flags = static_cast<int>(flags64);
  bool path_only = (flags & O_PATH) != 0;
  if (path_only) {
    // The kernel cannot hand an O_PATH descriptor to another process (ADDFD takes only real
    // open files): the guest gets a read-only, non-blocking one for the same object, which it
    // can use everywhere it used the O_PATH one (as a dirfd, for fstat, fchdir, /proc/self/fd).
    flags = (flags & (O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) | O_RDONLY | O_NONBLOCK;
  }
  bool creat = (flags & O_CREAT) != 0;
  bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
  bool excl = creat && (flags & O_EXCL);
  bool follow = !(flags & O_NOFOLLOW) && !excl;
  WalkOptions o;
  o.no_symlinks = resolve & RESOLVE_NO_SYMLINKS;
  o.no_magiclinks = resolve & RESOLVE_NO_MAGICLINKS;
  o.no_xdev = resolve & RESOLVE_NO_XDEV;
  o.beneath = resolve & RESOLVE_BENEATH;
  o.in_root = resolve & RESOLVE_IN_ROOT;
  Resolved r;
  int links = 0;
  if (int rc = ResolveArg(c, dirfd_arg, path_arg, follow, &r, nullptr, &o); rc != 0)
    return c.Fail(rc);
  o.follow_final = follow;
  o.search = c.Search();
  c.addfd_flags = (flags & O_CLOEXEC) ? O_CLOEXEC : 0;
  // Our own descriptor never becomes a controlling terminal of the supervisor.
  int host_flags = (flags & ~(O_CLOEXEC | O_NOFOLLOW)) | O_CLOEXEC | O_NOCTTY;
  uint32_t um = (creat || tmpfile) ? Umask(*c.task) : 0;
  uint32_t perm = mode & 07777 & ~um;
  bool odd = (perm & 0600) != 0600 || (perm & 07000);
  for (int attempt = 0;; ++attempt) {
    if (attempt > 64) return c.Fail(-ELOOP);
    if (r.in_proc()) return OpenProc(c, r, flags);
    const Mount& m = *r.mount;
    bool device_like = m.kind == PathMapping::Kind::kDevice || m.kind == PathMapping::Kind::kPts;
    if ((WritesData(flags) || creat || tmpfile) && !device_like) {
      // Opening read-write or creating in a read-only mount is EROFS, as on a ro mount.
      if (int rc = Writable(m); rc != 0) return c.Fail(rc);
    }
    if (r.is_mount_root()) return OpenMountRoot(c, r, flags, host_flags, perm, odd);
    if (m.kind == PathMapping::Kind::kPts) return OpenPty(c, r, host_flags);
    struct stat st;
    bool exists = ::fstatat(r.dir.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && S_ISLNK(st.st_mode) && (follow || r.trailing_slash)) {
      if (int rc = fs_.FollowFinal(c.tid(), &r, o, &links); rc != 0) return c.Fail(rc);
      continue;
    }
    if (exists && excl) return c.Fail(-EEXIST);
    if (exists && S_ISLNK(st.st_mode)) return c.Fail(-ELOOP);
    if (r.trailing_slash && exists && !S_ISDIR(st.st_mode)) return c.Fail(-ENOTDIR);
    if (!exists && r.trailing_slash && creat) return c.Fail(-EISDIR);
    if (c.checks) {
      int acc = flags & O_ACCMODE;
      int mask = (acc == O_RDONLY ? kMayRead : 0) | (acc == O_WRONLY ? kMayWrite : 0) |
                 (acc == O_RDWR ? kMayRead | kMayWrite : 0) | ((flags & O_TRUNC) ? kMayWrite : 0);
      if (path_only) mask = 0;
      int rc = 0;
      if (tmpfile) {
        if (exists) rc = Permission(c.who, fs_.MetaOf(m, st), kMayWrite | kMayExec);
      } else if (exists && mask) {
        rc = Permission(c.who, fs_.MetaOf(m, st), mask);
      } else if (!exists && creat) {
        rc = MayCreate(c, r);
      }
      if (rc != 0) return c.Fail(rc);
    }
    if (exists && WritesData(flags) && !tmpfile && Shared(st)) {
      if (int rc = CopyUp(r, !(flags & O_TRUNC)); rc != 0) return c.Fail(rc);
    }
    bool record_new = odd || Foreign(c.task->creds) || (m.store && m.store->size() != 0);
    if (!exists && creat && !tmpfile) {
      // Create exclusively first: then we know the file is new and whose it is.
      int fd = ::openat(r.dir.get(), r.name.c_str(), host_flags | O_EXCL | O_NOFOLLOW,
                        odd ? HostPerm(perm, false) : perm);
      if (fd < 0 && errno == EEXIST && !excl) continue;  // made by someone else meanwhile
      if (fd < 0) return c.Fail(-errno);
      if (record_new) RecordNew(c, m, fd, nullptr, odd ? perm : kNoMode);
      c.addfd.reset(fd);
      return;
    }
    if (!exists && !tmpfile) return c.Fail(-ENOENT);
    // A FIFO's open waits for the other end, which another guest call may be opening.
    if (exists && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) MayBlock();
    int fd = ::openat(r.dir.get(), r.name.c_str(), (host_flags & ~O_CREAT) | O_NOFOLLOW,
                      odd ? HostPerm(perm, false) : perm);
    if (fd < 0 && errno == ELOOP && follow) continue;  // became a symlink meanwhile
    if (fd < 0) return c.Fail(-errno);
    if (tmpfile && record_new) RecordNew(c, m, fd, nullptr, odd ? perm : kNoMode);
    c.addfd.reset(fd);
    return;
  }
}

void Supervisor::OpenMountRoot(Call& c, const Resolved& r, int flags, int host_flags, uint32_t perm,
                               bool odd) {
  const Mount& m = *r.mount;
  bool tmpfile = (flags & O_TMPFILE) == O_TMPFILE;
  if ((flags & O_CREAT) && (flags & O_EXCL)) return c.Fail(-EEXIST);
  int fd;
  if (m.kind == PathMapping::Kind::kDevice) {
    if (m.guest == "/dev/tty") {
      // The step's controlling terminal: one of its own ptys, or none (it runs in a session of
      // its own). Never the supervisor's or the builder's terminal.
      char stat_path[64], buf[512];
      snprintf(stat_path, sizeof stat_path, "/proc/%d/stat", c.tid());
      UniqueFd sfd(::open(stat_path, O_RDONLY | O_CLOEXEC));
      ssize_t n = sfd ? ::read(sfd.get(), buf, sizeof buf - 1) : -1;
      if (n <= 0) return c.Fail(-ENXIO);
      buf[n] = 0;
      const char* p = strrchr(buf, ')');
      int tty_nr = 0;
      if (!p || sscanf(p + 2, "%*c %*d %*d %*d %d", &tty_nr) != 1 || tty_nr == 0)
        return c.Fail(-ENXIO);
      int pts = static_cast<int>(minor(static_cast<dev_t>(tty_nr)));
      {
        std::lock_guard<std::mutex> lock(pts_mu_);
        if (major(static_cast<dev_t>(tty_nr)) != 136 || !ptys_.count(pts)) return c.Fail(-ENXIO);
      }
      fd = ::open(("/dev/pts/" + std::to_string(pts)).c_str(),
                  host_flags & ~(O_CREAT | O_TRUNC | O_DIRECTORY));
    } else {
      fd = ::open(m.host.c_str(), host_flags & ~(O_CREAT | O_DIRECTORY));
    }
  } else if (!m.is_dir) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", r.dir.get());
    fd = ::open(proc, host_flags & ~O_CREAT);
  } else if (tmpfile) {
    fd = ::openat(r.dir.get(), ".", host_flags, odd ? HostPerm(perm, false) : perm);
    if (fd >= 0) RecordNew(c, m, fd, nullptr, odd ? perm : kNoMode);
  } else {
    fd = ::openat(r.dir.get(), ".", host_flags & ~O_CREAT);
  }
  if (fd < 0) return c.Fail(-errno);
  c.addfd.reset(fd);
}

void Supervisor::OpenPty(Call& c, const Resolved& r, int host_flags) {
  int fd;
  if (r.name == "ptmx") {
    fd = ::open("/dev/ptmx", host_flags & ~(O_CREAT | O_TRUNC));
    if (fd < 0) return c.Fail(-errno);
    int n = -1;
    if (::ioctl(fd, TIOCGPTN, &n) == 0) {
      std::lock_guard<std::mutex> lock(pts_mu_);
      ptys_.insert(n);
    }
  } else {
    int n = std::atoi(r.name.c_str());
    {
      // Only the step's own ptys: another pty of the host is somebody's terminal.
      std::lock_guard<std::mutex> lock(pts_mu_);
      if (r.name != std::to_string(n) || !ptys_.count(n)) return c.Fail(-ENOENT);
    }
    fd = ::openat(r.dir.get(), r.name.c_str(), (host_flags & ~O_CREAT) | O_NOFOLLOW);
  }
  if (fd < 0) return c.Fail(-errno);
  c.addfd.reset(fd);
}

void Supervisor::OpenProc(Call& c, const Resolved& r, int flags) {
  const ProcTarget& p = r.proc;
  bool writes = WritesData(flags) || (flags & O_CREAT);
  if ((flags & O_CREAT) && (flags & O_EXCL)) return c.Fail(-EEXIST);
  int fd = -1;
  int host_flags = (flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)) | O_CLOEXEC | O_NOCTTY;
  auto alive = [&](pid_t pid) {
    if (pid == 0) return true;
    std::shared_ptr<Task> t = procs_.Find(pid);
    return t && ProcessTable::Alive(*t->proc);
  };
  switch (p.kind) {
    case ProcTarget::Kind::kNone:
      return c.Fail(-ENOENT);
    case ProcTarget::Kind::kRoot:
    case ProcTarget::Kind::kEmptyDir: {
      if (writes) return c.Fail(-EISDIR);
      // A listing of our own: the step's processes and the host's non-process entries.
      static std::atomic<int> serial{0};
      std::string dir = opts_.scratch_dir + "/proc-" + std::to_string(serial.fetch_add(1));
      if (::mkdir(dir.c_str(), 0555 | 0200) != 0) return c.Fail(-errno);
      if (p.kind == ProcTarget::Kind::kRoot) {
        for (pid_t pid : procs_.Tgids()) ::mkdir((dir + "/" + std::to_string(pid)).c_str(), 0555);
        UniqueFd host(::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (host) {
          std::vector<std::string> names;
          char buf[8192];
          for (long n; (n = ::syscall(SYS_getdents64, host.get(), buf, sizeof buf)) > 0;) {
            for (long off = 0; off < n;) {
              auto* d = reinterpret_cast<struct dirent64*>(buf + off);
              std::string name = d->d_name;
              off += d->d_reclen;
              if (name == "." || name == ".." || (name[0] >= '0' && name[0] <= '9')) continue;
              if (d->d_type == DT_DIR) {
                ::mkdir((dir + "/" + name).c_str(), 0555);
              } else if (d->d_type == DT_LNK) {
                ::symlink(name == "self" || name == "thread-self" ? "." : "self/net",
                          (dir + "/" + name).c_str());
              } else {
                UniqueFd f(
                    ::open((dir + "/" + name).c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0444));
              }
            }
          }
        }
      }
      ::chmod(dir.c_str(), 0555);
      fs_.AddAlias(dir, r.guest);
      fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      break;
    }
    case ProcTarget::Kind::kContent:
      if (writes) return c.Fail(-EACCES);
      fd = OpenMemfd(p.content, flags);
      if (fd < 0) return c.Fail(fd);
      break;
    case ProcTarget::Kind::kHost: {
      if (writes && !p.writable) return c.Fail(p.host.rfind("sys/", 0) == 0 ? -EROFS : -EACCES);
      fd = sys::Openat2(proc_view_.host_proc(), p.host.c_str(), host_flags, 0,
                        RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
      if (fd < 0 && errno == ELOOP && p.host.find("/ns/") != std::string::npos) {
        // A namespace link: the step's namespaces are the host's; a descriptor on one lets it
        // do nothing (setns is refused).
        fd = ::openat(proc_view_.host_proc(), p.host.c_str(), O_RDONLY | O_CLOEXEC);
      }
      if (fd < 0) return c.Fail(-errno);
      break;
    }
    case ProcTarget::Kind::kLink:
      return c.Fail(-ELOOP);  // a symlink itself: no descriptor can be handed over for it
    case ProcTarget::Kind::kFdLink: {
      // Re-opening a descriptor of a step process: a file of a mount by its guest path (so
      // copy-up and read-only mounts apply), anything else (pipes, deleted files) through the
      // kernel's own re-open, with write access only where a path open would allow it.
      char buf[PATH_MAX];
      ssize_t n = ::readlinkat(proc_view_.host_proc(), p.host.c_str(), buf, sizeof buf - 1);
      if (n < 0) return c.Fail(-errno);
      std::string_view text(buf, static_cast<size_t>(n));
      std::string guest;
      const Mount* m = nullptr;
      bool deleted = text.size() > 10 && text.substr(text.size() - 10) == " (deleted)";
      if (!deleted && fs_.ToGuest(text, &guest, &m) && m->kind != PathMapping::Kind::kProc) {
        Resolved again;
        WalkOptions o;
        o.follow_final = false;
        o.search = c.Search();
        if (int rc = fs_.Walk(c.tid(), "/", guest, o, &again); rc != 0) return c.Fail(rc);
        if (again.in_proc()) return OpenProc(c, again, flags);
        // Same as an open of that path, without following (it names the object itself).
        int fdl = -1;
        if (again.is_mount_root()) {
          char proc[64];
          snprintf(proc, sizeof proc, "/proc/self/fd/%d", again.dir.get());
          if (writes && again.mount->kind != PathMapping::Kind::kDevice)
            if (int rc = Writable(*again.mount); rc != 0) return c.Fail(rc);
          fdl = ::open(proc, host_flags & ~O_CREAT);
        } else {
          if (writes)
            if (int rc = Writable(*again.mount); rc != 0) return c.Fail(rc);
          struct stat st;
          if (::fstatat(again.dir.get(), again.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
              writes && Shared(st)) {
            if (int rc = CopyUp(again, !(flags & O_TRUNC)); rc != 0) return c.Fail(rc);
          }
          fdl = ::openat(again.dir.get(), again.name.c_str(), host_flags | O_NOFOLLOW);
        }
        if (fdl < 0) return c.Fail(-errno);
        fd = fdl;
        break;
      }
      if (writes && (deleted || text[0] == '/')) {
        // A deleted file or a host object outside the mounts: the step may read it again but
        // never write it (a deleted file may still be shared with the cache).
        struct stat st;
        if (::fstatat(proc_view_.host_proc(), p.host.c_str(), &st, 0) != 0) return c.Fail(-errno);
        const Mount* om = MountOfStat(st);
        if (Shared(st) || !om || Writable(*om) != 0) return c.Fail(-EACCES);
      }
      fd = ::openat(proc_view_.host_proc(), p.host.c_str(), host_flags);
      if (fd < 0) return c.Fail(-errno);
      break;
    }
  }
  if (fd < 0) return c.Fail(-EIO);
  c.addfd.reset(fd);
  if (!alive(p.pid)) {
    c.addfd.reset();
    return c.Fail(-ESRCH);
  }
}

void Supervisor::Mkdir(Call& c, int dirfd_arg, int path_arg, uint32_t mode) {
  Resolved r;
  if (int rc = ResolveArg(c, dirfd_arg, path_arg, false, &r); rc != 0) return c.Fail(rc);
  if (r.in_proc() || r.is_mount_root()) return c.Fail(-EEXIST);
  if (int rc = Writable(*r.mount); rc != 0) return c.Fail(rc);
  if (int rc = MayCreate(c, r); rc != 0) return c.Fail(rc);
  uint32_t perm = mode & 07777 & ~Umask(*c.task);
  // The kernel keeps only the permission and sticky bits of mkdir's mode.
  perm &= 01777;
  bool odd = (perm & 0700) != 0700 || (perm & 07000);
  if (::mkdirat(r.dir.get(), r.name.c_str(), odd ? HostPerm(perm, true) : perm) != 0)
    return c.Fail(-errno);
  bool record = odd || Foreign(c.task->creds) || (r.mount->store && r.mount->store->size() != 0);
  if (record) RecordNew(c, *r.mount, r.dir.get(), r.name.c_str(), odd ? perm : kNoMode);
  c.Return(0);
}

void Supervisor::Mknod(Call& c, int dirfd_arg, int path_arg, uint32_t mode, uint64_t dev) {
  Resolved r;
  if (int rc = ResolveArg(c, dirfd_arg, path_arg, false, &r); rc != 0) return c.Fail(rc);
  if (r.in_proc() || r.is_mount_root()) return c.Fail(-EEXIST);
  if (int rc = Writable(*r.mount); rc != 0) return c.Fail(rc);
  if (int rc = MayCreate(c, r); rc != 0) return c.Fail(rc);
  uint32_t type = mode & S_IFMT;
  if (type == 0) type = S_IFREG;
  if (type != S_IFREG && type != S_IFCHR && type != S_IFBLK && type != S_IFIFO && type != S_IFSOCK)
    return c.Fail(-EINVAL);
  uint32_t perm = mode & 07777 & ~Umask(*c.task);
  bool device = type == S_IFCHR || type == S_IFBLK;
  if (device) {
    std::lock_guard<std::mutex> lock(c.task->creds_mu);
    if (!c.task->creds.HasCap(27 /*CAP_MKNOD*/)) return c.Fail(-EPERM);
  }
  bool odd = (perm & 0600) != 0600 || (perm & 07000);
  // A device node is a placeholder regular file on disk; the store says what it really is.
  uint32_t host_mode = (device ? S_IFREG : type) | (odd || device ? HostPerm(perm, false) : perm);
  if (::mknodat(r.dir.get(), r.name.c_str(), host_mode, 0) != 0) return c.Fail(-errno);
  bool record =
      device || odd || Foreign(c.task->creds) || (r.mount->store && r.mount->store->size() != 0);
  if (record)
    RecordNew(c, *r.mount, r.dir.get(), r.name.c_str(), device || odd ? (type | perm) : kNoMode,
              device ? dev : 0);
  c.Return(0);
}

void Supervisor::Symlink(Call& c, int target_arg, int dirfd_arg, int path_arg) {
  std::string target;
  if (int rc = ReadPath(c, c.arg(target_arg), &target); rc != 0) return c.Fail(rc);
  if (target.empty()) return c.Fail(-ENOENT);
  Resolved r;
  if (int rc = ResolveArg(c, dirfd_arg, path_arg, false, &r); rc != 0) return c.Fail(rc);
  if (r.in_proc() || r.is_mount_root()) return c.Fail(-EEXIST);
  if (int rc = Writable(*r.mount); rc != 0) return c.Fail(rc);
  if (int rc = MayCreate(c, r); rc != 0) return c.Fail(rc);
  // The link text is stored verbatim: it is resolved in the guest when followed.
  if (::symlinkat(target.c_str(), r.dir.get(), r.name.c_str()) != 0) return c.Fail(-errno);
  bool record = Foreign(c.task->creds) || (r.mount->store && r.mount->store->size() != 0);
  if (record) RecordNew(c, *r.mount, r.dir.get(), r.name.c_str(), kNoMode);
  c.Return(0);
}

void Supervisor::Link(Call& c, int olddir, int oldpath, int newdir, int newpath, int flags) {
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return c.Fail(-EINVAL);
  bool follow = flags & AT_SYMLINK_FOLLOW;
  Resolved from;
  bool empty = false;
  int links = 0;
  WalkOptions o;
  if (int rc = ResolveArg(c, olddir, oldpath, follow, &from, &empty, &o); rc != 0)
    return c.Fail(rc);
  o.follow_final = follow;
  o.search = c.Search();
  // The object to link: a descriptor of ours on it (from a guest descriptor for
  // AT_EMPTY_PATH or /proc/self/fd/N, else opened by name).
  UniqueFd obj;
  const Mount* obj_mount = nullptr;
  std::string srcname;
  if (empty) {
    if (!(flags & AT_EMPTY_PATH)) return c.Fail(-ENOENT);
    // The object the guest's descriptor is open on, through its /proc link (an O_TMPFILE file
    // linked into place included).
    int fd = ::open(FdPath(c, c.iarg(olddir)).c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) return c.Fail(-EBADF);
    obj.reset(fd);
  } else if (from.in_proc()) {
    if (from.proc.kind != ProcTarget::Kind::kFdLink) return c.Fail(-EXDEV);
    int fd = ::openat(proc_view_.host_proc(), from.proc.host.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) return c.Fail(-errno);
    obj.reset(fd);
  } else {
    if (follow)
      if (int rc = FollowIfLink(c, &from, o, &links); rc != 0) return c.Fail(rc);
    if (from.in_proc() || from.is_mount_root()) return c.Fail(-EXDEV);
    obj_mount = from.mount;
  }
  if (obj) {
    // Only a file of a writable mount may get another name; the mount is where it lies.
    char buf[PATH_MAX];
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", obj.get());
    ssize_t n = ::readlink(proc, buf, sizeof buf - 1);
    std::string guest;
    if (n <= 0 || !fs_.ToGuest(std::string_view(buf, static_cast<size_t>(n)), &guest, &obj_mount))
      return c.Fail(-EXDEV);
  }
  Resolved to;
  if (int rc = ResolveArg(c, newdir, newpath, false, &to); rc != 0) return c.Fail(rc);
  if (to.in_proc() || to.is_mount_root()) return c.Fail(-EEXIST);
  if (obj_mount != to.mount) return c.Fail(-EXDEV);
  if (int rc = Writable(*to.mount); rc != 0) return c.Fail(rc);
  if (int rc = MayCreate(c, to); rc != 0) return c.Fail(rc);
  int rc;
  SharedNameChange linked;
  if (obj) {
    struct stat ost;
    if (::fstat(obj.get(), &ost) == 0 && Shared(ost)) {
      linked.ino = ost.st_ino;
      linked.ctime_before =
          static_cast<int64_t>(ost.st_ctim.tv_sec) * 1'000'000'000 + ost.st_ctim.tv_nsec;
      linked.fd.reset(::fcntl(obj.get(), F_DUPFD_CLOEXEC, 3));
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", obj.get());
    rc = ::linkat(AT_FDCWD, proc, to.dir.get(), to.name.c_str(), AT_SYMLINK_FOLLOW);
  } else {
    struct stat fst;
    if (::fstatat(from.dir.get(), from.name.c_str(), &fst, AT_SYMLINK_NOFOLLOW) == 0)
      linked = WatchShared(from.dir, from.name, fst);
    rc = ::linkat(from.dir.get(), from.name.c_str(), to.dir.get(), to.name.c_str(), 0);
  }
  if (rc != 0) return c.Fail(-errno);
  NoteShared(linked);
  struct stat now;
  if (::fstatat(to.dir.get(), to.name.c_str(), &now, AT_SYMLINK_NOFOLLOW) == 0)
    NoteLinked(now.st_ino);
  c.Return(0);
}

void Supervisor::Unlink(Call& c, int dirfd_arg, int path_arg, bool dir) {
  Resolved r;
  if (int rc = ResolveArg(c, dirfd_arg, path_arg, false, &r); rc != 0) return c.Fail(rc);
  if (r.in_proc()) return c.Fail(-EACCES);
  if (r.is_mount_root()) return c.Fail(-EBUSY);
  if (int rc = Writable(*r.mount); rc != 0) return c.Fail(rc);
  struct stat st;
  if (::fstatat(r.dir.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return c.Fail(-errno);
  if (dir && !S_ISDIR(st.st_mode)) return c.Fail(-ENOTDIR);
  if (!dir && S_ISDIR(st.st_mode)) return c.Fail(-EISDIR);
  if (int rc = MayDelete(c, r, st); rc != 0) return c.Fail(rc);
  // The entry goes before the name does: once the last link is gone the inode number may be
  // reused at once by another worker's create.
  oci::FileMeta saved;
  bool erased = false;
  if (dir || TreeLinks(st) <= 1) {
    fs_.WithStore(*r.mount, [&](oci::MetaStore& store) {
      if (const oci::FileMeta* m = store.Find(st.st_ino)) {
        saved = *m;
        erased = true;
        store.Erase(st.st_ino);
      }
    });
  }
  SharedNameChange watch = WatchShared(r.dir, r.name, st);
  if (::unlinkat(r.dir.get(), r.name.c_str(), dir ? AT_REMOVEDIR : 0) != 0) {
    int err = errno;
    if (erased)
      fs_.WithStore(*r.mount, [&](oci::MetaStore& store) {
        if (!store.Find(st.st_ino)) store.Set(st.st_ino, saved);
      });
    return c.Fail(-err);
  }
  NoteShared(watch);
  if (dir) fs_.Invalidate();
  c.Return(0);
}

void Supervisor::Rename(Call& c, int olddir, int oldpath, int newdir, int newpath, unsigned flags) {
  if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT)) return c.Fail(-EINVAL);
  if (flags & RENAME_WHITEOUT) return c.Fail(-EPERM);
  Resolved from, to;
  if (int rc = ResolveArg(c, olddir, oldpath, false, &from); rc != 0) return c.Fail(rc);
  if (int rc = ResolveArg(c, newdir, newpath, false, &to); rc != 0) return c.Fail(rc);
  if (from.in_proc() || to.in_proc()) return c.Fail(-EXDEV);
  if (from.is_mount_root() || to.is_mount_root()) return c.Fail(-EBUSY);
  if (from.mount != to.mount) return c.Fail(-EXDEV);
  if (int rc = Writable(*from.mount); rc != 0) return c.Fail(rc);
  struct stat src, dst;
  if (::fstatat(from.dir.get(), from.name.c_str(), &src, AT_SYMLINK_NOFOLLOW) != 0)
    return c.Fail(-errno);
  bool exists = ::fstatat(to.dir.get(), to.name.c_str(), &dst, AT_SYMLINK_NOFOLLOW) == 0;
  if (c.checks) {
    if (int rc = MayDelete(c, from, src); rc != 0) return c.Fail(rc);
    if (int rc = exists ? MayDelete(c, to, dst) : MayCreate(c, to); rc != 0) return c.Fail(rc);
    bool moves = from.dir.st.st_ino != to.dir.st.st_ino || from.dir.st.st_dev != to.dir.st.st_dev;
    if (moves && S_ISDIR(src.st_mode))
      if (int rc = Permission(c.who, fs_.MetaOf(*from.mount, src), kMayWrite); rc != 0)
        return c.Fail(rc);
    if (moves && (flags & RENAME_EXCHANGE) && exists && S_ISDIR(dst.st_mode))
      if (int rc = Permission(c.who, fs_.MetaOf(*to.mount, dst), kMayWrite); rc != 0)
        return c.Fail(rc);
  }
  // A target replaced by the rename loses its last link: its entry goes first (see Unlink).
  oci::FileMeta saved;
  bool erased = false;
  bool same = exists && src.st_ino == dst.st_ino && src.st_dev == dst.st_dev;
  if (exists && !same && !(flags & RENAME_EXCHANGE) &&
      (S_ISDIR(dst.st_mode) || TreeLinks(dst) <= 1)) {
    fs_.WithStore(*to.mount, [&](oci::MetaStore& store) {
      if (const oci::FileMeta* m = store.Find(dst.st_ino)) {
        saved = *m;
        erased = true;
        store.Erase(dst.st_ino);
      }
    });
  }
  SharedNameChange moved = WatchShared(from.dir, from.name, src);
  SharedNameChange replaced;
  if (exists && !same) replaced = WatchShared(to.dir, to.name, dst);
  if (::renameat2(from.dir.get(), from.name.c_str(), to.dir.get(), to.name.c_str(), flags) != 0) {
    int err = errno;
    if (erased)
      fs_.WithStore(*to.mount, [&](oci::MetaStore& store) {
        if (!store.Find(dst.st_ino)) store.Set(dst.st_ino, saved);
      });
    return c.Fail(-err);
  }
  NoteShared(moved);
  NoteShared(replaced);
  // Only a moved or replaced directory can make a cached path wrong (dpkg renames every file it
  // installs: keep the cache for those).
  if (S_ISDIR(src.st_mode) || (exists && S_ISDIR(dst.st_mode))) fs_.Invalidate();
  c.Return(0);
}

void Supervisor::Truncate(Call& c) {
  int64_t len = static_cast<int64_t>(c.arg(1));
  if (len < 0) return c.Fail(-EINVAL);
  Resolved r;
  int links = 0;
  WalkOptions o;
  if (int rc = ResolveArg(c, -1, 0, true, &r, nullptr, &o); rc != 0) return c.Fail(rc);
  o.search = c.Search();
  if (int rc = FollowIfLink(c, &r, o, &links); rc != 0) return c.Fail(rc);
  if (r.in_proc()) return c.Fail(-EACCES);
  if (int rc = Writable(*r.mount); rc != 0) return c.Fail(rc);
  UniqueFd fd;
  if (r.is_mount_root()) {
    if (r.mount->is_dir) return c.Fail(-EISDIR);
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", r.dir.get());
    fd.reset(::open(proc, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  } else {
    struct stat st;
    if (::fstatat(r.dir.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return c.Fail(-errno);
    if (S_ISDIR(st.st_mode)) return c.Fail(-EISDIR);
    if (c.checks)
      if (int rc = Permission(c.who, fs_.MetaOf(*r.mount, st), kMayWrite); rc != 0)
        return c.Fail(rc);
    if (Shared(st))
      if (int rc = CopyUp(r, len != 0); rc != 0) return c.Fail(rc);
    fd.reset(::openat(r.dir.get(), r.name.c_str(),
                      O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY));
  }
  if (!fd) return c.Fail(-errno);
  if (::ftruncate(fd.get(), len) != 0) return c.Fail(-errno);
  c.Return(0);
}

void Supervisor::Chdir(Call& c, bool by_fd) {
  std::string guest;
  Resolved r;
  if (by_fd) {
    const Mount* m = nullptr;
    if (int rc = FdGuestPath(c, c.iarg(0), &guest, &m); rc != 0) return c.Fail(rc);
    WalkOptions o;
    o.search = c.Search();
    if (int rc = fs_.Walk(c.tid(), "/", guest + "/", o, &r); rc != 0) return c.Fail(rc);
  } else {
    std::string path;
    if (int rc = ReadPath(c, c.arg(0), &path); rc != 0) return c.Fail(rc);
    if (path.empty()) return c.Fail(-ENOENT);
    WalkOptions o;
    o.search = c.Search();
    // A trailing "/" makes the walk follow a final symlink and demand a directory.
    if (int rc = Resolve(c, AT_FDCWD, path + "/", o, &r); rc != 0) return c.Fail(rc);
  }
  DirRef dir;
  std::string where = r.guest;
  if (r.in_proc()) {
    bool dir_like = r.proc.kind == ProcTarget::Kind::kRoot ||
                    r.proc.kind == ProcTarget::Kind::kEmptyDir ||
                    (r.proc.kind == ProcTarget::Kind::kHost && r.proc.is_dir);
    if (!dir_like) return c.Fail(-ENOTDIR);
  } else if (r.is_mount_root()) {
    if (!r.mount->is_dir) return c.Fail(-ENOTDIR);
    dir = r.dir;
  } else {
    if (int rc = fs_.Dir(r.guest, &dir, nullptr); rc != 0) return c.Fail(rc);
    if (c.checks)
      if (int rc = Permission(c.who, fs_.MetaOf(*dir.mount, dir.st), kMayExec); rc != 0)
        return c.Fail(rc);
  }
  FsState& fs = *c.task->fs;
  std::lock_guard<std::mutex> lock(fs.mu);
  fs.cwd = where;
  fs.cwd_dir = dir;
  fs.cwd_gen = fs_.generation();
  c.Return(0);
}

void Supervisor::Getcwd(Call& c) {
  std::string cwd = Cwd(*c.task);
  uint64_t size = c.arg(1);
  if (size == 0 && c.arg(0) != 0) return c.Fail(-EINVAL);
  if (cwd.size() + 1 > size) return c.Fail(-ERANGE);
  if (int rc = WriteMem(c, c.arg(0), cwd.c_str(), cwd.size() + 1); rc != 0) return c.Fail(rc);
  c.Return(static_cast<int64_t>(cwd.size() + 1));
}

void Supervisor::Chroot(Call& c) {
  // Only the identity chroot is supported; anything else would need per-process roots.
  Resolved r;
  if (int rc = ResolveArg(c, -1, 0, true, &r); rc != 0) return c.Fail(rc);
  {
    std::lock_guard<std::mutex> lock(c.task->creds_mu);
    if (!c.task->creds.HasCap(18 /*CAP_SYS_CHROOT*/)) return c.Fail(-EPERM);
  }
  bool root = r.is_mount_root() && r.mount->rootfs();
  return root ? c.Return(0) : c.Fail(-EPERM);
}

void Supervisor::Readlink(Call& c, int dirfd_arg, int path_arg, int buf_arg, int size_arg) {
  int64_t size = static_cast<int>(c.arg(size_arg));
  if (size <= 0) return c.Fail(-EINVAL);
  Resolved r;
  bool empty = false;
  if (int rc = ResolveArg(c, dirfd_arg, path_arg, false, &r, &empty); rc != 0) return c.Fail(rc);
  std::string text;
  if (empty) {
    // readlinkat(fd, ""): the link the descriptor is open on (O_PATH|O_NOFOLLOW).
    if (dirfd_arg < 0) return c.Fail(-ENOENT);
    char proc_buf[PATH_MAX];
    std::string path = FdPath(c, c.iarg(dirfd_arg));
    // The descriptor's object itself: read the link it names, if it is one.
    UniqueFd fd(::open(path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return c.Fail(-EBADF);
    ssize_t n = ::readlinkat(fd.get(), "", proc_buf, sizeof proc_buf);
    if (n < 0) return c.Fail(-errno);
    text.assign(proc_buf, static_cast<size_t>(n));
  } else if (r.in_proc()) {
    if (r.proc.kind != ProcTarget::Kind::kLink) return c.Fail(-EINVAL);
    text = r.proc.link;
  } else if (r.is_mount_root()) {
    return c.Fail(-EINVAL);
  } else {
    char buf[PATH_MAX];
    ssize_t n = ::readlinkat(r.dir.get(), r.name.c_str(), buf, sizeof buf);
    if (n < 0) return c.Fail(-errno);
    text.assign(buf, static_cast<size_t>(n));
  }
  size_t n = std::min<size_t>(text.size(), static_cast<size_t>(size));
  if (int rc = WriteMem(c, c.arg(buf_arg), text.data(), n); rc != 0) return c.Fail(rc);
  c.Return(static_cast<int64_t>(n));
}

void Supervisor::InotifyAddWatch(Call& c) {
  uint32_t mask = static_cast<uint32_t>(c.arg(2));
  bool follow = !(mask & IN_DONT_FOLLOW);
  Resolved r;
  int links = 0;
  WalkOptions o;
  if (int rc = ResolveArg(c, -1, 1, follow, &r, nullptr, &o); rc != 0) return c.Fail(rc);
  o.follow_final = follow;
  o.search = c.Search();
  if (follow)
    if (int rc = FollowIfLink(c, &r, o, &links); rc != 0) return c.Fail(rc);
  UniqueFd obj;
  if (r.in_proc()) {
    if (r.proc.kind != ProcTarget::Kind::kHost) return c.Fail(-EACCES);
    obj.reset(sys::Openat2(proc_view_.host_proc(), r.proc.host.c_str(), O_PATH | O_CLOEXEC, 0,
                           RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS));
  } else {
    obj.reset(OpenObject(r, follow));
  }
  if (!obj) return c.Fail(-errno);
  int ino = DupGuestFd(c, c.iarg(0));
  if (ino < 0) return c.Fail(ino);
  UniqueFd inotify(ino);
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", obj.get());
  // The watch is on the object we hold (the magic link leads to it, whatever the guest did to
  // the path since); IN_DONT_FOLLOW was honoured by the walk.
  int wd = ::inotify_add_watch(inotify.get(), proc, mask & ~static_cast<uint32_t>(IN_DONT_FOLLOW));
  if (wd < 0) return c.Fail(-errno);
  c.Return(wd);
}

void Supervisor::Umask(Call& c) {
  FsState& fs = *c.task->fs;
  std::lock_guard<std::mutex> lock(fs.mu);
  uint32_t old = fs.umask;
  fs.umask = static_cast<uint32_t>(c.arg(0)) & 0777;
  c.Return(old);
}

void Supervisor::Access(Call& c, int dirfd_arg, int path_arg, int mode_arg, int flags_arg) {
  int mode = c.iarg(mode_arg);
  int flags = flags_arg >= 0 ? c.iarg(flags_arg) : 0;
  if (mode & ~(R_OK | W_OK | X_OK)) return c.Fail(-EINVAL);
  if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return c.Fail(-EINVAL);
  // Without AT_EACCESS the kernel checks with the real ids (set-user-ID programs ask "may the
  // user who started me ...?"), the whole walk included.
  {
    std::lock_guard<std::mutex> lock(c.task->creds_mu);
    c.SetWho((flags & AT_EACCESS) ? Who::Fs(c.task->creds) : Who::Real(c.task->creds));
  }
  bool follow = !(flags & AT_SYMLINK_NOFOLLOW);
  Resolved r;
  bool empty = false;
  int links = 0;
  WalkOptions o;
  if (int rc = ResolveArg(c, dirfd_arg, path_arg, follow, &r, &empty, &o); rc != 0)
    return c.Fail(rc);
  o.follow_final = follow;
  o.search = c.Search();
  struct stat st;
  const Mount* m = nullptr;
  if (empty) {
    if (!(flags & AT_EMPTY_PATH) || dirfd_arg < 0) return c.Fail(-ENOENT);
    if (::stat(FdPath(c, c.iarg(dirfd_arg)).c_str(), &st) != 0) return c.Fail(-EBADF);
    m = MountOfStat(st);
  } else {
    if (follow)
      if (int rc = FollowIfLink(c, &r, o, &links); rc != 0) return c.Fail(rc);
    if (r.in_proc()) {
      if (mode & W_OK) {
        bool w = r.proc.kind == ProcTarget::Kind::kHost && r.proc.writable;
        return w ? c.Return(0) : c.Fail(-EACCES);
      }
      return (mode & X_OK) && !(r.proc.kind == ProcTarget::Kind::kRoot ||
                                (r.proc.kind == ProcTarget::Kind::kHost && r.proc.is_dir))
                 ? c.Fail(-EACCES)
                 : c.Return(0);
    }
    int rc = r.is_mount_root() ? ::fstat(r.dir.get(), &st)
                               : ::fstatat(r.dir.get(), r.name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
    if (rc != 0) return c.Fail(-errno);
    if (r.trailing_slash && !S_ISDIR(st.st_mode)) return c.Fail(-ENOTDIR);
    m = r.mount;
    if ((mode & W_OK) && Writable(*m) != 0 && m->kind != PathMapping::Kind::kDevice &&
        m->kind != PathMapping::Kind::kPts)
      return c.Fail(-EROFS);
  }
  if (mode == F_OK) return c.Return(0);
  int mask = ((mode & R_OK) ? kMayRead : 0) | ((mode & W_OK) ? kMayWrite : 0) |
             ((mode & X_OK) ? kMayExec : 0);
  oci::FileMeta meta;
  if (m && m->store) {
    meta = fs_.MetaOf(*m, st);
  } else {
    meta.mode = st.st_mode;  // devices and the like: root-owned, their host mode
  }
  c.Return(Permission(c.who, meta, mask));
}

void Supervisor::Statfs(Call& c) {
  Resolved r;
  int links = 0;
  WalkOptions o;
  if (int rc = ResolveArg(c, -1, 0, true, &r, nullptr, &o); rc != 0) return c.Fail(rc);
  o.search = c.Search();
  if (int rc = FollowIfLink(c, &r, o, &links); rc != 0) return c.Fail(rc);
  struct statfs sfs;
  if (r.in_proc()) {
    if (::fstatfs(proc_view_.host_proc(), &sfs) != 0) return c.Fail(-errno);
  } else {
    UniqueFd obj(OpenObject(r, true));
    if (!obj) return c.Fail(-errno);
    if (::fstatfs(obj.get(), &sfs) != 0) return c.Fail(-errno);
  }
  if (int rc = WriteMem(c, c.arg(1), &sfs, sizeof sfs); rc != 0) return c.Fail(rc);
  c.Return(0);
}

}  // namespace ocibuild::sandbox
