// Syscalls that name another process (or process group), and per-user kernel state (SysV IPC):
// nothing outside the step's own processes may be reached. Without a pid namespace pids are the
// host's, so every pid is checked against the ProcessTable; signals to another process go
// through the pidfd taken when it was created, which can never reach a process that later got
// the same pid.
#include <fcntl.h>
#include <limits.h>
#include <linux/sched.h>
#include <mqueue.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "builder/sandbox/supervisor.h"
#include "util/sys/pidfd.h"

#ifndef F_SETOWN_EX
#define F_SETOWN_EX 15
#endif

namespace ocibuild::sandbox {
namespace {

constexpr uint64_t kNewNamespaces = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |
                                    CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP |
                                    0x80 /*NEWTIME*/;

}  // namespace

void Supervisor::Kill(Call& c) {
  pid_t pid = static_cast<pid_t>(c.arg(0));
  int sig = c.iarg(1);
  if (sig < 0 || sig > 64) return c.Fail(-EINVAL);
  pid_t self = c.task->proc->tgid;
  if (pid == self) {
    c.cont = true;  // its own process: every argument is a register
    return;
  }
  if (pid > 0) {
    std::shared_ptr<Task> t = procs_.Find(pid);
    if (!t) return c.Fail(-ESRCH);
    if (t->proc == c.task->proc) {
      c.cont = true;
      return;
    }
    return c.Return(sys::PidfdSendSignal(t->proc->pidfd.get(), sig));
  }
  // A process group (0: the caller's) or everything the caller may signal (-1): only the step's
  // processes are in its session, so the group is one of the step's; still, each is signalled
  // by its pidfd.
  pid_t group = pid == 0 ? ::getpgid(self) : -pid;
  bool all = pid == -1;
  int sent = 0, last_err = -ESRCH;
  for (const std::shared_ptr<Process>& p : procs_.Processes()) {
    if (all && p->tgid == self) continue;
    if (!all && ::getpgid(p->tgid) != group) continue;
    int rc = sys::PidfdSendSignal(p->pidfd.get(), sig);
    if (rc == 0)
      ++sent;
    else
      last_err = rc;
  }
  c.Return(sent ? 0 : last_err);
}

void Supervisor::Tkill(Call& c, bool tg) {
  pid_t tgid = tg ? static_cast<pid_t>(c.arg(0)) : 0;
  pid_t tid = static_cast<pid_t>(c.arg(tg ? 1 : 0));
  int sig = c.iarg(tg ? 2 : 1);
  if (tid <= 0 || (tg && tgid <= 0)) return c.Fail(-EINVAL);
  std::shared_ptr<Task> t = procs_.Find(tid);
  if (!t || (tg && t->proc->tgid != tgid)) return c.Fail(-ESRCH);
  if (t->proc == c.task->proc && (!tg || tgid == c.task->proc->tgid)) {
    c.cont = true;  // a thread of its own process (raise, pthread_kill)
    return;
  }
  // Another process's thread: the kernel checks the thread belongs to that thread group, and
  // the group's pidfd shows it is still the step's.
  if (!ProcessTable::Alive(*t->proc)) return c.Fail(-ESRCH);
  if (::syscall(SYS_tgkill, t->proc->tgid, tid, sig) != 0) return c.Fail(-errno);
  c.Return(0);
}

void Supervisor::SigQueue(Call& c, bool tg) {
  pid_t tgid = static_cast<pid_t>(c.arg(0));
  pid_t tid = tg ? static_cast<pid_t>(c.arg(1)) : 0;
  int sig = c.iarg(tg ? 2 : 1);
  std::shared_ptr<Task> t = procs_.Find(tg ? tid : tgid);
  if (!t || t->proc->tgid != tgid) return c.Fail(-ESRCH);
  if (t->proc == c.task->proc) {
    c.cont = true;
    return;
  }
  siginfo_t info;
  if (int rc = ReadMem(c, c.arg(tg ? 3 : 2), &info, sizeof info); rc != 0) return c.Fail(rc);
  // As the kernel: another process may only be sent a queued signal that says so.
  if (info.si_code >= 0 || info.si_code == SI_TKILL) return c.Fail(-EPERM);
  if (!ProcessTable::Alive(*t->proc)) return c.Fail(-ESRCH);
  long rc = tg ? ::syscall(SYS_rt_tgsigqueueinfo, tgid, tid, sig, &info)
               : ::syscall(SYS_rt_sigqueueinfo, tgid, sig, &info);
  if (rc != 0) return c.Fail(-errno);
  c.Return(0);
}

void Supervisor::PidfdOpen(Call& c) {
  pid_t pid = static_cast<pid_t>(c.arg(0));
  std::shared_ptr<Task> t = procs_.Find(pid);
  if (!t) return c.Fail(-ESRCH);
  int fd = sys::PidfdOpen(pid, static_cast<unsigned>(c.arg(1)));
  if (fd < 0) return c.Fail(fd);
  UniqueFd guard(fd);
  // The pidfd is for the pid as it is now; make sure that is still the step's process.
  if (!ProcessTable::Alive(*t->proc)) return c.Fail(-ESRCH);
  c.addfd = std::move(guard);
  c.addfd_flags = O_CLOEXEC;
}

void Supervisor::ProcessVm(Call& c) {
  pid_t pid = static_cast<pid_t>(c.arg(0));
  std::shared_ptr<Task> t = procs_.Find(pid);
  // Its own memory only: another process's memory is where a path handed to exec lives.
  if (t && t->proc == c.task->proc) {
    c.cont = true;
    return;
  }
  c.Fail(t ? -EPERM : -ESRCH);
}

void Supervisor::PidChecked(Call& c, int pid_arg, bool zero_is_self) {
  pid_t pid = static_cast<pid_t>(c.arg(pid_arg));
  if ((pid == 0 && zero_is_self) || pid == c.tid()) {
    c.cont = true;
    return;
  }
  std::shared_ptr<Task> t = procs_.Find(pid);
  if (!t || !ProcessTable::Alive(*t->proc)) return c.Fail(-ESRCH);
  // A step process: the kernel's own checks apply (same uid); a pid only names another
  // process again after the whole pid space wrapped around.
  c.cont = true;
}

void Supervisor::Prlimit(Call& c) {
  pid_t pid = static_cast<pid_t>(c.arg(0));
  if (pid == 0 || pid == c.task->proc->tgid || pid == c.tid()) {
    c.cont = true;
    return;
  }
  std::shared_ptr<Task> t = procs_.Find(pid);
  if (!t || !ProcessTable::Alive(*t->proc)) return c.Fail(-ESRCH);
  struct rlimit64 newl, oldl;
  bool set = c.arg(2) != 0;
  if (set)
    if (int rc = ReadMem(c, c.arg(2), &newl, sizeof newl); rc != 0) return c.Fail(rc);
  if (::syscall(SYS_prlimit64, pid, c.iarg(1), set ? &newl : nullptr, &oldl) != 0)
    return c.Fail(-errno);
  if (!ProcessTable::Alive(*t->proc)) return c.Fail(-ESRCH);
  if (c.arg(3) != 0)
    if (int rc = WriteMem(c, c.arg(3), &oldl, sizeof oldl); rc != 0) return c.Fail(rc);
  c.Return(0);
}

void Supervisor::Priority(Call& c, bool set) {
  int which = c.iarg(0);
  pid_t who = static_cast<pid_t>(c.arg(1));
  if (which == PRIO_PROCESS) return PidChecked(c, 1);
  if (which == PRIO_USER) {
    // Every process of the host user: only its own processes are the step's business.
    if (set) return c.Fail(-EPERM);
    int best = 40;
    for (const auto& p : procs_.Processes()) {
      errno = 0;
      int prio = ::getpriority(PRIO_PROCESS, static_cast<id_t>(p->tgid));
      if (errno == 0) best = std::min(best, prio);
    }
    return c.Return(20 - best);  // the raw syscall returns 20 - nice
  }
  if (which != PRIO_PGRP) return c.Fail(-EINVAL);
  pid_t group = who == 0 ? ::getpgid(c.task->proc->tgid) : who;
  int done = 0, best = 40, err = -ESRCH;
  for (const auto& p : procs_.Processes()) {
    if (::getpgid(p->tgid) != group) continue;
    if (set) {
      if (::setpriority(PRIO_PROCESS, static_cast<id_t>(p->tgid), c.iarg(2)) == 0)
        ++done;
      else
        err = -errno;
    } else {
      errno = 0;
      int prio = ::getpriority(PRIO_PROCESS, static_cast<id_t>(p->tgid));
      if (errno == 0) {
        best = std::min(best, prio);
        ++done;
      }
    }
  }
  if (!done) return c.Fail(err);
  c.Return(set ? 0 : 20 - best);
}

void Supervisor::Ioprio(Call& c, bool set) {
  int which = c.iarg(0);
  if (which == 1 /*IOPRIO_WHO_PROCESS*/) return PidChecked(c, 1);
  (void)set;
  // Process groups and users reach beyond the step; nothing in a build needs them.
  c.Fail(-EPERM);
}

void Supervisor::Kcmp(Call& c) {
  pid_t a = static_cast<pid_t>(c.arg(0)), b = static_cast<pid_t>(c.arg(1));
  for (pid_t p : {a, b}) {
    std::shared_ptr<Task> t = procs_.Find(p);
    if (!t) return c.Fail(-ESRCH);
  }
  c.cont = true;  // compares two step processes: changes nothing
}

void Supervisor::SetOwner(Call& c, bool ioctl_call) {
  // Only F_SETOWN(_EX) / FIOSETOWN / SIOCSPGRP reach us (the filter checks the command): the
  // target of SIGIO/SIGURG must be one of the step's processes or groups.
  auto allowed = [&](pid_t pid) {
    if (pid == 0) return true;
    if (pid > 0) return procs_.Find(pid) != nullptr;
    pid_t group = -pid;
    for (const auto& p : procs_.Processes())
      if (::getpgid(p->tgid) == group) return true;
    return false;
  };
  if (!ioctl_call) {
    int cmd = c.iarg(1);
    if (cmd == F_SETOWN) {
      if (!allowed(static_cast<pid_t>(c.arg(2)))) return c.Fail(-ESRCH);
      c.cont = true;  // all registers
      return;
    }
    if (cmd == F_SETOWN_EX) {
      struct {
        int type;
        pid_t pid;
      } owner;
      if (int rc = ReadMem(c, c.arg(2), &owner, sizeof owner); rc != 0) return c.Fail(rc);
      pid_t target = owner.type == 2 /*F_OWNER_PGRP*/ ? -owner.pid : owner.pid;
      if (!allowed(target)) return c.Fail(-ESRCH);
      int fd = DupGuestFd(c, c.iarg(0));
      if (fd < 0) return c.Fail(fd);
      UniqueFd guard(fd);
      if (::fcntl(fd, F_SETOWN_EX, &owner) != 0) return c.Fail(-errno);
      return c.Return(0);
    }
    c.cont = true;
    return;
  }
  int value = 0;
  if (int rc = ReadMem(c, c.arg(2), &value, sizeof value); rc != 0) return c.Fail(rc);
  unsigned long req = c.arg(1);
  pid_t target = req == SIOCSPGRP ? value : value;
  if (!allowed(target)) return c.Fail(-ESRCH);
  int fd = DupGuestFd(c, c.iarg(0));
  if (fd < 0) return c.Fail(fd);
  UniqueFd guard(fd);
  if (::ioctl(fd, req, &value) != 0) return c.Fail(-errno);
  c.Return(0);
}

namespace {

int IpcKind(long nr) {
  switch (nr) {
    case SYS_shmget:
    case SYS_shmat:
    case SYS_shmctl:
      return 0;
    case SYS_semget:
    case SYS_semop:
    case SYS_semtimedop:
    case SYS_semctl:
      return 1;
    default:
      return 2;
  }
}

}  // namespace

void Supervisor::SysvGet(Call& c) {
  long nr = c.req.data.nr;
  key_t key = static_cast<key_t>(c.arg(0));
  if (key != IPC_PRIVATE) {
    // The step's keys are its own: mixed with the step's secret, they never meet a host key.
    uint64_t h = 1469598103934665603ull;
    for (char ch : opts_.abstract_prefix) h = (h ^ static_cast<uint8_t>(ch)) * 1099511628211ull;
    h = (h ^ static_cast<uint32_t>(key)) * 1099511628211ull;
    key = static_cast<key_t>(h & 0x7fffffff) | 0x40000000;
  }
  long id;
  if (nr == SYS_shmget) {
    id = ::shmget(key, c.arg(1), c.iarg(2));
  } else if (nr == SYS_semget) {
    id = ::semget(key, c.iarg(1), c.iarg(2));
  } else {
    id = ::msgget(key, c.iarg(1));
  }
  if (id < 0) return c.Fail(-errno);
  {
    std::lock_guard<std::mutex> lock(ipc_mu_);
    ipc_ids_.insert({IpcKind(nr), static_cast<int>(id)});
  }
  c.Return(id);
}

void Supervisor::SysvOp(Call& c, int id_arg) {
  int kind = IpcKind(c.req.data.nr);
  std::lock_guard<std::mutex> lock(ipc_mu_);
  if (!ipc_ids_.count({kind, c.iarg(id_arg)})) return c.Fail(-EINVAL);
  c.cont = true;  // the id is a register, and one of the step's own objects
}

void Supervisor::SysvCtl(Call& c) {
  long nr = c.req.data.nr;
  int kind = IpcKind(nr);
  int id = c.iarg(0);
  int cmd = (nr == SYS_semctl ? c.iarg(2) : c.iarg(1)) & ~0x100 /*IPC_64*/;
  // By-index and system-wide queries (ipcs) would show the host's objects.
  if (cmd == IPC_INFO || cmd == SHM_INFO || cmd == SHM_STAT || cmd == 15 /*SHM_STAT_ANY*/ ||
      cmd == SEM_STAT || cmd == 20 /*SEM_STAT_ANY*/ || cmd == MSG_STAT ||
      cmd == 13 /*MSG_STAT_ANY*/)
    return c.Fail(-EINVAL);
  std::lock_guard<std::mutex> lock(ipc_mu_);
  if (!ipc_ids_.count({kind, id})) return c.Fail(-EINVAL);
  if (cmd == IPC_RMID) {
    // Done here so the id leaves our set exactly when the object goes.
    long rc = nr == SYS_shmctl   ? ::shmctl(id, IPC_RMID, nullptr)
              : nr == SYS_semctl ? ::semctl(id, 0, IPC_RMID)
                                 : ::msgctl(id, IPC_RMID, nullptr);
    if (rc != 0) return c.Fail(-errno);
    if (nr != SYS_shmctl) ipc_ids_.erase({kind, id});  // shm lives on until detached
    return c.Return(0);
  }
  c.cont = true;
}

int Supervisor::MqName(Call& c, uint64_t addr, std::string* out) {
  // The syscall takes the name without glibc's leading '/'; a queue of the step's is a queue
  // with the step's private prefix, so a name never meets one of the host's.
  std::string name;
  if (int rc = ReadPath(c, addr, &name); rc != 0) return rc;
  if (name.empty() || name.find('/') != std::string::npos) return -EACCES;
  std::string prefix = opts_.abstract_prefix;
  std::replace(prefix.begin(), prefix.end(), '/', '-');
  *out = prefix + name;
  return out->size() > NAME_MAX ? -ENAMETOOLONG : 0;
}

void Supervisor::MqOpen(Call& c) {
  std::string name;
  if (int rc = MqName(c, c.arg(0), &name); rc != 0) return c.Fail(rc);
  int oflag = c.iarg(1);
  mode_t mode = static_cast<mode_t>(c.arg(2)) & 0777;
  {
    std::lock_guard<std::mutex> lock(c.task->fs->mu);
    mode &= ~c.task->fs->umask;
  }
  mq_attr attr;
  mq_attr* ap = nullptr;
  if ((oflag & O_CREAT) && c.arg(3)) {
    if (ReadMem(c, c.arg(3), &attr, sizeof attr) != 0) return c.Fail(-EFAULT);
    ap = &attr;
  }
  long fd = ::syscall(SYS_mq_open, name.c_str(), oflag | O_CLOEXEC, mode, ap);
  if (fd < 0) return c.Fail(-errno);
  if (oflag & O_CREAT) {
    std::lock_guard<std::mutex> lock(ipc_mu_);
    mq_names_.insert(name);
  }
  c.addfd_flags = (oflag & O_CLOEXEC) ? O_CLOEXEC : 0;
  c.addfd.reset(static_cast<int>(fd));
}

void Supervisor::MqUnlink(Call& c) {
  std::string name;
  if (int rc = MqName(c, c.arg(0), &name); rc != 0) return c.Fail(rc);
  if (::syscall(SYS_mq_unlink, name.c_str()) != 0) return c.Fail(-errno);
  std::lock_guard<std::mutex> lock(ipc_mu_);
  mq_names_.erase(name);
  c.Return(0);
}

void Supervisor::CleanupIpc() {
  std::lock_guard<std::mutex> lock(ipc_mu_);
  for (const std::string& name : mq_names_) ::syscall(SYS_mq_unlink, name.c_str());
  mq_names_.clear();
  for (const auto& [kind, id] : ipc_ids_) {
    if (kind == 0) ::shmctl(id, IPC_RMID, nullptr);
    if (kind == 1) ::semctl(id, 0, IPC_RMID);
    if (kind == 2) ::msgctl(id, IPC_RMID, nullptr);
  }
  ipc_ids_.clear();
}

void Supervisor::Unshare(Call& c) {
  uint64_t flags = c.arg(0);
  if (flags & kNewNamespaces) return c.Fail(-EPERM);
  if (flags & CLONE_FS) {
    // Its own cwd and umask from now on.
    auto fresh = std::make_shared<FsState>();
    {
      std::lock_guard<std::mutex> lock(c.task->fs->mu);
      fresh->cwd = c.task->fs->cwd;
      fresh->cwd_dir = c.task->fs->cwd_dir;
      fresh->cwd_gen = c.task->fs->cwd_gen;
      fresh->umask = c.task->fs->umask;
    }
    std::lock_guard<std::mutex> lock(c.task->creds_mu);
    c.task->fs = std::move(fresh);
  }
  c.cont = true;  // CLONE_FILES, CLONE_SYSVSEM, CLONE_FS: the kernel's, harmless
}

void Supervisor::Affinity(Call& c, bool set) {
  (void)set;
  PidChecked(c, 0);
}

}  // namespace ocibuild::sandbox
