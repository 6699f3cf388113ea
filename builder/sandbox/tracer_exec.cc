// The tracer's exec: the one call the supervisor cannot perform for the guest (see tracer.h).
#include "builder/sandbox/tracer.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "builder/sandbox/exec_image.h"
#include "builder/sandbox/permissions.h"
#include "builder/sandbox/supervisor.h"
#include "util/sys/process_mem.h"

namespace ocibuild::sandbox {
namespace {

struct ExecSearch final : SearchPolicy {
  Who who;
  int MaySearch(const oci::FileMeta& dir) const override { return Permission(who, dir, kMayExec); }
};

std::string Basename(const std::string& p) {
  size_t slash = p.rfind('/');
  std::string b = slash == std::string::npos ? p : p.substr(slash + 1);
  return b.empty() || b == "." || b == ".." ? std::string("exe") : b;
}

}  // namespace

int Tracer::PrepareExec(pid_t tid, const sys::Regs& r, Exec* e) {
  std::shared_ptr<Task> task = procs_.Find(tid);
  if (!task) return -ESRCH;
  FakeCreds creds;
  {
    std::lock_guard<std::mutex> lock(task->creds_mu);
    creds = task->creds;
  }
  ExecSearch search;
  search.who = Who::Fs(creds);
  bool checks = !search.who.Bypasses();
  bool at = sys::SyscallNr(r) == SYS_execveat;
  int dirfd = at ? static_cast<int>(r.rdi) : AT_FDCWD;
  uint64_t path_addr = at ? r.rsi : r.rdi;
  e->argv_addr = at ? r.rdx : r.rsi;
  e->envp = at ? r.r10 : r.rdx;
  uint64_t flags = at ? r.r8 : 0;
  if (flags & ~static_cast<uint64_t>(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) return -EINVAL;
  std::string given;
  if (path_addr == 0 && (flags & AT_EMPTY_PATH)) {
    given.clear();
  } else if (int rc = sys::ReadProcessString(tid, path_addr, &given, PATH_MAX - 1); rc != 0) {
    return rc;
  }
  // AT_EXECFN as the kernel would set it: the name given, or /dev/fd/N[/name] for a dirfd.
  e->execfn = given;
  if (dirfd != AT_FDCWD && (given.empty() || given[0] != '/')) {
    e->execfn = "/dev/fd/" + std::to_string(dirfd);
    if (!given.empty()) e->execfn += "/" + given;
  }
  auto fd_guest = [&](int fd, std::string* guest) -> int {
    char proc[64], buf[PATH_MAX];
    snprintf(proc, sizeof proc, "/proc/%d/fd/%d", tid, fd);
    ssize_t n = ::readlink(proc, buf, sizeof buf - 1);
    if (n < 0) return -EBADF;
    if (!fs_.ToGuest(std::string_view(buf, static_cast<size_t>(n)), guest)) return -ENOTDIR;
    return 0;
  };
  std::string cwd;
  {
    std::lock_guard<std::mutex> lock(task->fs->mu);
    cwd = task->fs->cwd;
  }
  // Opens the program `path` (relative to `base`) as the exec'ing identity: a descriptor of ours.
  auto open_program = [&](const std::string& base, const std::string& path, bool follow,
                          UniqueFd* out, std::string* guest, const Mount** mount) -> int {
    WalkOptions o;
    o.follow_final = follow;
    o.search = checks ? &search : nullptr;
    Resolved res;
    int links = 0;
    if (int rc = fs_.Walk(tid, base, path, o, &res, &links); rc != 0) return rc;
    for (;;) {
      if (res.in_proc()) {
        if (res.proc.kind != ProcTarget::Kind::kFdLink) return -EACCES;
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/%s", res.proc.host.c_str());
        out->reset(::open(proc, O_RDONLY | O_CLOEXEC));
        if (!*out) return -errno;
        *guest = res.guest;
        *mount = nullptr;
        return 0;
      }
      if (res.is_mount_root()) {
        if (res.mount->is_dir) return -EACCES;
        if (res.mount->kind != PathMapping::Kind::kBind) return -EACCES;
        char proc[64];
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", res.dir.get());
        out->reset(::open(proc, O_RDONLY | O_CLOEXEC));
      } else {
        struct stat lst;
        if (::fstatat(res.dir.get(), res.name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) != 0)
          return -errno;
        if (S_ISLNK(lst.st_mode)) {
          if (!follow) return -ELOOP;
          if (int rc = fs_.FollowFinal(tid, &res, o, &links); rc != 0) return rc;
          continue;
        }
        out->reset(::openat(res.dir.get(), res.name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
      }
      if (!*out) return -errno;
      *guest = res.guest;
      *mount = res.mount;
      return 0;
    }
  };
  // The image's mode decides (even root needs an x bit); the host's would let anything run.
  auto may_exec = [&](int fd, const Mount* m) -> int {
    struct stat st;
    if (::fstat(fd, &st) != 0) return -errno;
    if (!S_ISREG(st.st_mode)) return -EACCES;
    if (m && (m->kind == PathMapping::Kind::kProc || m->kind == PathMapping::Kind::kSys))
      return -EACCES;
    oci::FileMeta meta =
        m && m->store ? fs_.MetaOf(*m, st) : oci::FileMeta{0, 0, st.st_mode, 0, {}};
    return Permission(search.who, meta, kMayExec);
  };
  UniqueFd prog;
  std::string prog_guest;
  const Mount* prog_mount = nullptr;
  if (given.empty()) {
    if (!(flags & AT_EMPTY_PATH) || !at) return -ENOENT;
    // fexecve(): the file the descriptor is open on.
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/%d/fd/%d", tid, dirfd);
    prog.reset(::open(proc, O_RDONLY | O_CLOEXEC));
    if (!prog) return -EBADF;
    if (fd_guest(dirfd, &prog_guest) != 0) prog_guest = e->execfn;
    struct stat st;
    if (::fstat(prog.get(), &st) == 0) {
      // Whose store describes it (by device): only a file of a mount.
      std::string g;
      const Mount* m = nullptr;
      char buf[PATH_MAX];
      ssize_t n = ::readlink(proc, buf, sizeof buf - 1);
      if (n > 0 && fs_.ToGuest(std::string_view(buf, static_cast<size_t>(n)), &g, &m))
        prog_mount = m;
    }
  } else {
    std::string base = "/";
    if (given[0] != '/') {
      if (dirfd == AT_FDCWD) {
        base = cwd;
      } else if (int rc = fd_guest(dirfd, &base); rc != 0) {
        return rc;
      }
    }
    bool follow = !(flags & AT_SYMLINK_NOFOLLOW);
    if (int rc = open_program(base, given, follow, &prog, &prog_guest, &prog_mount); rc != 0)
      return rc;
  }
  // The argv as a list of either existing tracee strings (pointer) or new strings.
  for (uint64_t p = e->argv_addr; e->argv_addr != 0; p += 8) {
    uint64_t s = 0;
    if (sys::ReadProcessMem(tid, p, &s, 8) != 0) return -EFAULT;
    if (s == 0) break;
    e->argv.push_back({s, {}, false});
    if (e->argv.size() > (1u << 20)) return -E2BIG;
  }
  std::string comm_name = Basename(given.empty() ? prog_guest : given);
  std::string shown = given.empty() ? e->execfn : given;  // what a script sees as its path
  std::string final_guest = prog_guest;
  // The program runs through a launcher (qemu-user, the guest's ld.so): argv becomes launcher
  // [argv0_flag argv0] program args..., the program named by its guest path.
  auto run_through = [&](const std::string& launcher, const char* argv0_flag) {
    std::vector<Exec::Arg> front{{0, launcher, true}};
    if (argv0_flag) {
      front.push_back({0, argv0_flag, true});
      front.push_back(e->argv.empty() ? Exec::Arg{0, shown, true} : e->argv[0]);
    }
    front.push_back({0, final_guest, true});
    if (!e->argv.empty()) e->argv.erase(e->argv.begin());
    e->argv.insert(e->argv.begin(), front.begin(), front.end());
    e->argv_changed = true;
  };
  for (int depth = 0;; ++depth) {
    if (depth > 4) return -ELOOP;
    if (int rc = may_exec(prog.get(), prog_mount); rc != 0) return rc;
    auto img = InspectExecutableFd(prog.get(), final_guest);
    if (!img.ok()) return -(img.error().sys_errno ? img.error().sys_errno : ENOEXEC);
    if (img->kind == ExecImage::Kind::kScript) {
      // argv becomes: interp [arg] script args...
      if (e->argv.empty()) e->argv.push_back({});
      e->argv[0] = {0, shown, true};
      std::vector<Exec::Arg> front{{0, img->interp, true}};
      if (!img->interp_arg.empty()) front.push_back({0, img->interp_arg, true});
      e->argv.insert(e->argv.begin(), front.begin(), front.end());
      e->argv_changed = true;
      shown = img->interp;
      if (int rc = open_program(cwd, img->interp, true, &prog, &final_guest, &prog_mount); rc != 0)
        return rc == -EACCES ? -EACCES : -ENOENT;
      continue;
    }
    if (img->kind == ExecImage::Kind::kForeignElf) {
      // An ELF for another machine runs under qemu-user, as PRoot starts it (no binfmt_misc):
      // the emulator is a host program, and every syscall it makes for the guest program comes
      // through this sandbox like any other.
      {
        if (opts_.emulator.empty()) return -ENOEXEC;
        UniqueFd emu(::open(opts_.emulator.c_str(), O_RDONLY | O_CLOEXEC));
        if (!emu) return -ENOEXEC;
        run_through(opts_.emulator, "-0");
        prog = std::move(emu);
        break;
      }
    }
    if (img->kind == ExecImage::Kind::kDynamicElf) {
      // The kernel would load PT_INTERP from the host: run the guest's loader explicitly.
      UniqueFd interp;
      std::string interp_guest;
      const Mount* interp_mount = nullptr;
      if (open_program("/", img->interp, true, &interp, &interp_guest, &interp_mount) != 0)
        return -ENOENT;
      if (int rc = may_exec(interp.get(), interp_mount); rc != 0) return rc;
      bool musl = img->interp.find("ld-musl") != std::string::npos;
      run_through(img->interp, musl ? nullptr : "--argv0");
      prog = std::move(interp);
    }
    break;
  }
  e->guest_exe = final_guest;
  e->program = std::move(prog);
  // The kernel gets a path of ours: <exec_dir>/<n>/./././<name> -> /proc/<us>/fd/<program>. Its
  // last component names the process (comm), as the guest's own exec would; the "/." pad makes
  // room for the guest's AT_EXECFN, which is written over ours once the image is loaded.
  std::string dir = opts_.exec_dir + "/" + std::to_string(next_link_++);
  if (::mkdir(dir.c_str(), 0700) != 0) return -EAGAIN;
  std::string target = "/proc/" + std::to_string(self_) + "/fd/" + std::to_string(e->program.get());
  std::string link = dir + "/" + comm_name;
  if (::symlink(target.c_str(), link.c_str()) != 0) {
    ::rmdir(dir.c_str());
    return -EAGAIN;
  }
  std::string path = dir;
  while (path.size() + comm_name.size() + 1 < e->execfn.size()) path += "/.";
  e->link = path + "/" + comm_name;
  return 0;
}

void Tracer::StartExec(Exec& e) {
  e.started = true;
  pid_t tid = e.tid;
  sys::Regs r = e.orig;
  // Scratch below the stack pointer, past the red zone: only in a private mapping (a shared one
  // could be written by another process while the kernel reads it).
  uint64_t sp = sys::StackPointer(r);
  bool private_stack = false;
  {
    char maps[64];
    snprintf(maps, sizeof maps, "/proc/%d/maps", tid);
    FILE* f = fopen(maps, "re");
    if (f) {
      char line[512];
      while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) != 3) continue;
        if (sp - 1 >= lo && sp - 1 < hi) {
          private_stack = perms[1] == 'w' && perms[3] == 'p';
          break;
        }
      }
      fclose(f);
    }
  }
  auto fail = [&](int err) {
    sys::Regs fr = e.orig;
    FinishExec(tid, false);
    Fail(tid, fr, err);
  };
  if (!private_stack) return fail(-EFAULT);
  uint64_t scratch = (sp - 128) & ~uint64_t{15};
  auto put = [&](const void* data, size_t len, uint64_t* at) -> bool {
    scratch = (scratch - len) & ~uint64_t{15};
    if (sys::WriteProcessMem(tid, scratch, data, len) != 0) return false;
    *at = scratch;
    return true;
  };
  uint64_t path_addr = 0;
  if (!put(e.link.c_str(), e.link.size() + 1, &path_addr)) return fail(-EFAULT);
  uint64_t argv_addr = e.argv_addr;
  if (e.argv_changed) {
    std::vector<uint64_t> ptrs;
    ptrs.reserve(e.argv.size() + 1);
    for (Exec::Arg& a : e.argv) {
      if (a.fresh && !put(a.s.c_str(), a.s.size() + 1, &a.ptr)) return fail(-E2BIG);
      ptrs.push_back(a.ptr);
    }
    ptrs.push_back(0);
    if (!put(ptrs.data(), ptrs.size() * 8, &argv_addr)) return fail(-E2BIG);
  }
  r.orig_rax = SYS_execve;
  sys::SetArg(&r, 0, path_addr);
  sys::SetArg(&r, 1, argv_addr);
  sys::SetArg(&r, 2, e.envp);
  if (!sys::SetRegs(tid, r).ok()) return;
  states_[tid].exec_exit = true;
  (void)sys::ContToSyscallExit(tid, 0);
}

void Tracer::OnExecEvent(pid_t pid) {
  auto former = sys::GetEventMsg(pid);
  pid_t from = former.ok() ? static_cast<pid_t>(*former) : pid;
  if (from != pid) {
    // exec from a non-leader thread: it continues under the leader's pid.
    auto it = execs_.find(from);
    if (it != execs_.end()) {
      std::unique_ptr<Exec> e = std::move(it->second);
      execs_.erase(it);
      e->tid = pid;
      execs_[pid] = std::move(e);
    }
    State moved = states_[from];
    states_.erase(from);
    moved.tid = pid;
    states_[pid] = moved;
    procs_.Rekey(from, pid);
  }
  auto it = execs_.find(pid);
  if (it == execs_.end()) {
    // Every exec goes through OnSeccomp; one that did not is not ours to run.
    ::kill(pid, SIGKILL);
    Resume(pid);
    return;
  }
  Exec& e = *it->second;
  // Before the new image runs a single instruction: is it the file we opened?
  struct stat want, got;
  char exe[64];
  snprintf(exe, sizeof exe, "/proc/%d/exe", pid);
  if (::fstat(e.program.get(), &want) != 0 || ::stat(exe, &got) != 0 || want.st_ino != got.st_ino ||
      want.st_dev != got.st_dev) {
    static const char msg[] =
        "ocibuild sandbox: an exec ran another file than the one checked; killed\n";
    (void)!::write(opts_.log_fd, msg, sizeof msg - 1);
    ::kill(pid, SIGKILL);
  } else if (!e.execfn.empty()) {
    // AT_EXECFN: the kernel's copy of our path; the guest's name fits in its place.
    char auxv_path[64];
    snprintf(auxv_path, sizeof auxv_path, "/proc/%d/auxv", pid);
    UniqueFd fd(::open(auxv_path, O_RDONLY | O_CLOEXEC));
    uint64_t auxv[2 * 64];
    ssize_t n = fd ? ::read(fd.get(), auxv, sizeof auxv) : -1;
    for (ssize_t i = 0; i + 1 < n / 8; i += 2) {
      if (auxv[i] == AT_NULL) break;
      if (auxv[i] != AT_EXECFN) continue;
      std::string cur;
      if (sys::ReadProcessString(pid, auxv[i + 1], &cur, PATH_MAX) == 0 &&
          e.execfn.size() <= cur.size())
        (void)sys::WriteProcessMem(pid, auxv[i + 1], e.execfn.c_str(), e.execfn.size() + 1);
      break;
    }
  }
  if (std::shared_ptr<Task> t = procs_.Find(pid)) {
    {
      std::lock_guard<std::mutex> lock(t->creds_mu);
      t->creds.OnExec();
    }
    std::lock_guard<std::mutex> lock(t->proc->mu);
    t->proc->exe = e.guest_exe;
    t->proc->dumpable = true;
    t->proc->mm = next_mm_++;
  }
  states_[pid].exec_exit = false;
  FinishExec(pid, true);
  Resume(pid);
}

void Tracer::OnExecExit(pid_t pid) {
  State& st = states_[pid];
  if (!st.exec_exit) {
    Resume(pid);
    return;
  }
  st.exec_exit = false;
  sys::Regs r;
  auto it = execs_.find(pid);
  if (sys::GetRegs(pid, &r).ok() && it != execs_.end()) {
    // The exec failed: the guest's argument registers back, the kernel's error kept.
    if (opts_.verbose) {
      std::string msg = "ocibuild sandbox: exec of " + it->second->guest_exe + " via " +
                        it->second->link +
                        " failed: " + std::strerror(static_cast<int>(-sys::RetVal(r))) + "\n";
      (void)!::write(opts_.log_fd, msg.data(), msg.size());
    }
    sys::CopyArgs(&r, it->second->orig);
    (void)sys::SetRegs(pid, r);
  }
  FinishExec(pid, false);
  Resume(pid);
}

void Tracer::FinishExec(pid_t tid, bool ok) {
  (void)ok;
  auto it = execs_.find(tid);
  if (it == execs_.end()) return;
  std::unique_ptr<Exec> e = std::move(it->second);
  execs_.erase(it);
  if (!e->link.empty()) {
    size_t slash = e->link.rfind('/');
    ::unlink(e->link.c_str());
    std::string dir = e->link.substr(0, slash);
    while (dir.size() > opts_.exec_dir.size() && dir.compare(dir.size() - 2, 2, "/.") == 0)
      dir.resize(dir.size() - 2);
    ::rmdir(dir.c_str());
  }
  // The held siblings go on as if nothing happened (those of the same thread group are gone).
  for (pid_t h : e->held) {
    auto st = states_.find(h);
    if (st == states_.end() || !st->second.held) continue;
    st->second.held = false;
    Dispatch(h, st->second.held_status);
  }
  // Traced calls answered while the exec held their tasks.
  std::vector<pid_t> answered;
  for (auto& [tid2, st] : states_)
    if (st.parked && st.done) answered.push_back(tid2);
  for (pid_t t : answered) {
    State& st = states_[t];
    st.parked = false;
    st.done = false;
    Answer(t, st.result);
  }
}

}  // namespace ocibuild::sandbox
