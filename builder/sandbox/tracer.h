// The ptrace tracer: one thread, waitpid(-1, __WALL), every process and thread of the step. It
// owns the per-process fake credentials, rewrites path arguments in tracee memory, answers
// identity and ownership syscalls itself, and fixes up results that would expose host paths or
// host owners. Must run in a process whose only children are tracees (see ptrace_backend.cc).
#pragma once

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "builder/sandbox/cpu_packing.h"
#include "builder/sandbox/fake_creds.h"
#include "builder/sandbox/path_resolver.h"
#include "builder/sandbox/permissions.h"
#include "oci/metastore.h"
#include "util/result.h"
#include "util/sys/ptrace.h"

namespace ocibuild::sandbox {

// What has to happen when the current syscall of a tracee returns.
enum class ExitOp : uint8_t {
  kNone,
  kRestore,    // only put the original argument registers back
  kStat,       // virtualise a struct stat at a0
  kStatx,      // virtualise a struct statx at a0
  kReadlink,   // de-translate the link text at a0 (size a1); s0 = guest path that was read
  kGetcwd,     // de-translate the cwd at a0 (size a1)
  kErase,      // on success drop the store entry of inode a0
  kRecordNew,  // on success record a created file: s0 = host path (or fd if a2), creds/mode
  kListXattr,  // on success append virtual xattr names of inode a0 to buffer a1 (size a2)
  kExec,       // on failure forget pending_exe
  kDirents,    // patch d_type of faked devices in the getdents buffer a0 (a1: 1 = getdents64)
  kSockName,   // de-translate an AF_UNIX address at a0, length at a1, buffer size a2
  kMsgName,    // de-translate the AF_UNIX msg_name of the msghdr at a0, buffer size a2
};

struct Tracee {
  pid_t tid = 0;
  FakeCreds creds;
  std::string exe;          // guest path of the running program, for /proc/self/exe
  std::string pending_exe;  // set while an execve is in flight
  // What AT_EXECFN must say once that exec succeeds: the filename the guest passed (the kernel
  // would see our host path of the program or of the guest's ld.so).
  std::string pending_execfn;
  bool restore = false;  // registers were rewritten at entry
  bool dumpable = true;  // PR_SET_DUMPABLE as the guest believes it
  ExitOp op = ExitOp::kNone;
  sys::Regs entry;  // registers at syscall entry, before rewriting
  uint64_t a0 = 0, a1 = 0, a2 = 0;
  uint32_t new_mode = 0;  // kRecordNew: virtual permission bits, or kNoMode
  std::string s0;
  // The affinity the guest set with sched_setaffinity (empty: never): what it reads back, and
  // what it gets when the step is spread again (cpu_packing.h).
  std::vector<uint8_t> cpu_mask;
  bool packed = true;         // on the tracer's CPU (cpu_packing.h)
  uint32_t window_stops = 0;  // stops in the current packing window
};

struct TracerOptions {
  int log_fd = 2;
  bool verbose = false;
  bool network = true;  // false: only AF_UNIX/AF_NETLINK sockets
  const std::unordered_set<uint64_t>* shared_inodes = nullptr;  // RunSpec::shared_inodes
  bool pack_cpus = true;  // RunSpec::pack_cpus
  int cpu_hint = -1;      // RunSpec::cpu_hint
};

class Tracer {
 public:
  Tracer(const PathResolver& resolver, oci::MetaStore* store, TracerOptions opts)
      : resolver_(resolver), store_(store), opts_(opts) {}

  // Takes over `main`, already seized and about to exec (guest path `exe`), and runs until it
  // exits; remaining tracees are then killed, as a container runtime does when PID 1 exits.
  // Returns the wait status of `main`.
  Result<int> Run(pid_t main, FakeCreds creds, const std::string& exe);

  uint64_t traced_syscalls() const { return traced_; }
  // With TracerOptions::verbose: how often each syscall number stopped, for tuning.
  void PrintHistogram() const;

 private:
  enum class Resume { kCont, kToExit };

  void OnSeccomp(Tracee& t);
  void OnSyscallExit(Tracee& t);
  void OnNewChild(Tracee& parent, pid_t child);
  void OnExec(pid_t pid);
  // At the exec event: rewrites the AT_EXECFN string of the new image in place.
  void FixExecFn(Tracee& t);
  Resume Dispatch(Tracee& t, sys::Regs& r);

  // --- helpers (syscalls.cc) ---
  // Scratch space in the tracee below its stack pointer (past the red zone).
  void ScratchReset(const sys::Regs& r) { scratch_ = (sys::StackPointer(r) - 128) & ~uint64_t{15}; }
  Result<uint64_t> ScratchPut(const Tracee& t, const void* data, size_t len);
  // Guest directory a relative path is resolved against: cwd for AT_FDCWD, else the dirfd's.
  int GuestBase(const Tracee& t, int dirfd, std::string* base);
  // Resolves the path argument `path_arg` (dirfd in `dirfd_arg`, or -1) to a host path in *host.
  // Returns 0 or -errno; *skipped is set when there is nothing to translate (NULL/empty path).
  int ResolveArg(Tracee& t, const sys::Regs& r, int dirfd_arg, int path_arg, bool follow,
                 std::string* host, std::string* guest, bool* skipped = nullptr);
  // ResolveArg + writes the host path into the tracee and points the argument at it.
  int TranslateArg(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, bool follow,
                   std::string* host = nullptr, std::string* guest = nullptr);
  Resume Fail(sys::Regs& r, int neg_errno);
  Resume Return(sys::Regs& r, int64_t value);
  Resume PathCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, bool follow);
  // PathCall for a call that changes the file in place (utimes, setxattr): copy-up first.
  Resume PathWriteCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, bool follow);
  Resume StatCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, int flags_arg, bool follow,
                  int buf_arg, bool statx);
  bool InRootfs(const std::string& host) const;
  void VirtualizeStatx(struct statx* sx) const;
  Resume OpenCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, uint64_t flags,
                  int mode_arg);
  Resume MkdirCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, int mode_arg);
  Resume MknodCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, int mode_arg, int dev_arg);
  Resume UnlinkCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, bool dir);
  Resume RenameCall(Tracee& t, sys::Regs& r, int olddir, int oldpath, int newdir, int newpath,
                    uint64_t flags);
  Resume LinkCall(Tracee& t, sys::Regs& r, int olddir, int oldpath, int newdir, int newpath,
                  bool follow);
  Resume SymlinkCall(Tracee& t, sys::Regs& r, int newdir, int newpath);
  Resume ReadlinkCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, int buf_arg,
                      int size_arg);
  Resume ChownCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, int fd_arg, uint32_t uid,
                   uint32_t gid, bool follow);
  Resume ChmodCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, int fd_arg, uint32_t mode,
                   bool follow);
  enum class XattrOp { kSet, kGet, kList, kRemove };
  Resume XattrCall(Tracee& t, sys::Regs& r, XattrOp op, int fd_arg, bool follow);
  Resume ExecCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, int argv_arg, int envp_arg,
                  uint64_t flags);
  Resume SockaddrCall(Tracee& t, sys::Regs& r, int addr_arg, int len_arg, bool follow);
  Resume OpenAt2Call(Tracee& t, sys::Regs& r);
  Resume IdentityCall(Tracee& t, sys::Regs& r, long nr);
  // sched_getaffinity/sched_setaffinity: the guest's view, not the packing's.
  Resume AffinityCall(Tracee& t, sys::Regs& r, bool set);
  Resume UnknownCall(Tracee& t, sys::Regs& r, long nr);

  // --- results that name files in ways paths do not (results.cc) ---
  Resume GetdentsCall(Tracee& t, sys::Regs& r, bool is64);
  void FinishGetdents(Tracee& t, sys::Regs& r);
  Resume SendmsgCall(Tracee& t, sys::Regs& r);
  Resume RecvmsgCall(Tracee& t, sys::Regs& r);
  // recvfrom/getsockname/getpeername/accept: the address buffer at addr_arg, length at len_arg.
  Resume SockNameCall(Tracee& t, sys::Regs& r, int addr_arg, int len_arg);
  void FinishSockName(Tracee& t, sys::Regs& r);
  void FinishMsgName(Tracee& t, sys::Regs& r);
  // Rewrites the AF_UNIX host path in sa (of `*len` bytes, buffer `cap` bytes) to its guest
  // path; false when there is nothing to change.
  bool UnixAddrToGuest(struct sockaddr_un* sa, uint32_t* len);
  // Guest AF_UNIX path in sa (length *len) -> host path: 0 when rewritten, 1 when there is no
  // path (unnamed, abstract, other family), or -errno.
  int UnixAddrToHost(Tracee& t, struct sockaddr_un* sa, uint32_t* len, bool follow);

  // --- permission checks for a non-root identity (access.cc) ---
  // The file as the image describes it, given its host stat (the rootfs directory itself is
  // root:root 0755 unless recorded otherwise, whatever mode the builder's temp dir has).
  oci::FileMeta MetaOf(const struct stat& st) const;
  // Search policy for the resolver while the current syscall needs checks, else null.
  const SearchPolicy* Search() const { return checks_ ? &search_ : nullptr; }
  // `mask` on the file at host path (stat, or lstat without follow); 0 when it does not exist
  // (the kernel reports that) or is not in the rootfs.
  int MayAccess(const std::string& host, bool follow, int mask) const;
  // W+X on the directory that would hold a new entry `host`, when `host` does not exist yet
  // (an existing name is the kernel's EEXIST).
  int MayCreate(const std::string& host) const;
  // W+X on the parent plus the sticky rule, for removing or renaming away `host`.
  int MayDelete(const std::string& host) const;
  // rename(): delete from the old directory, create (or delete) in the new one, and W on a
  // directory that changes parent (its ".." is rewritten).
  int RenameAllowed(const std::string& from, const std::string& to, uint64_t flags) const;
  Resume AccessCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, int mode_arg,
                    int flags_arg);
  Resume CheckedPathCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, bool follow,
                         int mask, bool dir_only = false);
  enum class TimesArg { kNone, kUtimbuf, kTimeval, kTimespec };
  Resume TimesCall(Tracee& t, sys::Regs& r, int dirfd_arg, int path_arg, int times_arg,
                   TimesArg kind, bool follow);

  void FinishStat(Tracee& t, const sys::Regs& r);
  void FinishStatx(Tracee& t, const sys::Regs& r);
  void FinishReadlink(Tracee& t, sys::Regs& r);
  void FinishGetcwd(Tracee& t, sys::Regs& r);
  void FinishRecordNew(Tracee& t, const sys::Regs& r);
  void FinishListXattr(Tracee& t, sys::Regs& r);
  // Host stat of the target of a path or fd argument; 0 or -errno.
  int StatTarget(Tracee& t, const sys::Regs& r, int dirfd_arg, int path_arg, int fd_arg,
                 bool follow, std::string* host, struct stat* st);
  uint32_t ReadUmask(pid_t tid);
  Tracee* Find(pid_t tid);

  struct DacSearch final : SearchPolicy {
    explicit DacSearch(const Tracer* tracer) : tr(tracer) {}
    int MaySearch(const struct stat& dir) const override {
      return Permission(tr->who_, tr->MetaOf(dir), kMayExec);
    }
    const Tracer* tr;
  };

  const PathResolver& resolver_;
  oci::MetaStore* store_;
  // The identity of the syscall being handled; checks_ is false when it bypasses every
  // read/write/search check (fake root), which keeps root's hot path free of them.
  Who who_;
  bool checks_ = false;
  DacSearch search_{this};
  ino_t root_ino_ = 0;
  // Whether the store records any device node (a placeholder file on disk): only then does
  // getdents need fixing.
  bool has_devices_ = false;
  std::vector<char> dirents_buf_;
  dev_t root_dev_ = 0;
  TracerOptions opts_;
  CpuPacking packing_;
  DirCache dirs_;
  std::unordered_map<pid_t, Tracee> tracees_;
  // Children whose first stop arrived before their parent's fork event.
  std::unordered_set<pid_t> early_children_;
  std::unordered_set<long> reported_unknown_;
  uint64_t scratch_ = 0;
  uint64_t traced_ = 0;
  uint64_t per_nr_[512] = {};
  uint64_t exit_stops_ = 0;
  // Reused buffers: no allocation per syscall once warmed up.
  std::string path_buf_, base_buf_, host_buf_, host2_buf_, guest_buf_, tmp_buf_;
};

}  // namespace ocibuild::sandbox
