// Identity syscalls answered from the per-thread fake credentials, prctl, uname, and the
// default for syscalls the supervisor does not know.
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "builder/sandbox/supervisor.h"

namespace ocibuild::sandbox {
namespace {

uint32_t Id(uint64_t v) {
  return static_cast<uint32_t>(v);
}

}  // namespace

void Supervisor::Identity(Call& c, long nr) {
  std::unique_lock<std::mutex> lock(c.task->creds_mu);
  FakeCreds& cr = c.task->creds;
  auto put3 = [&](uint32_t a, uint32_t b, uint32_t d) {
    uint32_t v[3] = {a, b, d};
    lock.unlock();
    for (int i = 0; i < 3; ++i)
      if (c.arg(i) && WriteMem(c, c.arg(i), &v[i], sizeof v[i]) != 0) return c.Fail(-EFAULT);
    c.Return(0);
  };
  switch (nr) {
    case SYS_getuid:
      return c.Return(cr.ruid);
    case SYS_geteuid:
      return c.Return(cr.euid);
    case SYS_getgid:
      return c.Return(cr.rgid);
    case SYS_getegid:
      return c.Return(cr.egid);
    case SYS_getresuid:
      return put3(cr.ruid, cr.euid, cr.suid);
    case SYS_getresgid:
      return put3(cr.rgid, cr.egid, cr.sgid);
    case SYS_setuid:
      return c.Return(cr.SetUid(Id(c.arg(0))));
    case SYS_setgid:
      return c.Return(cr.SetGid(Id(c.arg(0))));
    case SYS_setreuid:
      return c.Return(cr.SetReUid(Id(c.arg(0)), Id(c.arg(1))));
    case SYS_setregid:
      return c.Return(cr.SetReGid(Id(c.arg(0)), Id(c.arg(1))));
    case SYS_setresuid:
      return c.Return(cr.SetResUid(Id(c.arg(0)), Id(c.arg(1)), Id(c.arg(2))));
    case SYS_setresgid:
      return c.Return(cr.SetResGid(Id(c.arg(0)), Id(c.arg(1)), Id(c.arg(2))));
    case SYS_setfsuid:
      return c.Return(cr.SetFsUid(Id(c.arg(0))));
    case SYS_setfsgid:
      return c.Return(cr.SetFsGid(Id(c.arg(0))));
    case SYS_getgroups: {
      int64_t size = static_cast<int>(c.arg(0));
      if (size < 0) return c.Fail(-EINVAL);
      std::vector<uint32_t> groups = cr.groups;
      lock.unlock();
      if (size == 0) return c.Return(static_cast<int64_t>(groups.size()));
      if (static_cast<size_t>(size) < groups.size()) return c.Fail(-EINVAL);
      if (WriteMem(c, c.arg(1), groups.data(), groups.size() * 4) != 0) return c.Fail(-EFAULT);
      return c.Return(static_cast<int64_t>(groups.size()));
    }
    case SYS_setgroups: {
      size_t size = c.arg(0);
      if (size > 65536) return c.Fail(-EINVAL);
      std::vector<uint32_t> list(size);
      if (size && ReadMem(c, c.arg(1), list.data(), size * 4) != 0) return c.Fail(-EFAULT);
      return c.Return(cr.SetGroups(std::move(list)));
    }
    case SYS_capget: {
      __user_cap_header_struct hdr;
      if (ReadMem(c, c.arg(0), &hdr, sizeof hdr) != 0) return c.Fail(-EFAULT);
      if (hdr.version != _LINUX_CAPABILITY_VERSION_1 &&
          hdr.version != _LINUX_CAPABILITY_VERSION_2 &&
          hdr.version != _LINUX_CAPABILITY_VERSION_3) {
        hdr.version = _LINUX_CAPABILITY_VERSION_3;
        (void)WriteMem(c, c.arg(0), &hdr, sizeof hdr);
        return c.Fail(-EINVAL);
      }
      // Another thread's capabilities: only a thread of the step.
      FakeCreds who = cr;
      if (hdr.pid != 0 && hdr.pid != c.tid()) {
        lock.unlock();
        std::shared_ptr<Task> t = procs_.Find(hdr.pid);
        if (!t) return c.Fail(-ESRCH);
        std::lock_guard<std::mutex> other(t->creds_mu);
        who = t->creds;
      }
      if (c.arg(1) == 0) return c.Return(0);
      int words = hdr.version == _LINUX_CAPABILITY_VERSION_1 ? 1 : 2;
      __user_cap_data_struct data[2];
      for (int i = 0; i < 2; ++i) {
        data[i].effective = static_cast<uint32_t>(who.cap_eff >> (32 * i));
        data[i].permitted = static_cast<uint32_t>(who.cap_prm >> (32 * i));
        data[i].inheritable = static_cast<uint32_t>(who.cap_inh >> (32 * i));
      }
      if (WriteMem(c, c.arg(1), data, sizeof data[0] * words) != 0) return c.Fail(-EFAULT);
      return c.Return(0);
    }
    case SYS_capset: {
      __user_cap_header_struct hdr;
      if (ReadMem(c, c.arg(0), &hdr, sizeof hdr) != 0) return c.Fail(-EFAULT);
      if (hdr.pid != 0 && hdr.pid != c.tid()) return c.Fail(-EPERM);
      int words = hdr.version == _LINUX_CAPABILITY_VERSION_1 ? 1 : 2;
      __user_cap_data_struct data[2] = {};
      if (ReadMem(c, c.arg(1), data, sizeof data[0] * words) != 0) return c.Fail(-EFAULT);
      auto join = [&](uint32_t lo, uint32_t hi) { return uint64_t{lo} | (uint64_t{hi} << 32); };
      return c.Return(cr.SetCaps(join(data[0].effective, data[1].effective),
                                 join(data[0].permitted, data[1].permitted),
                                 join(data[0].inheritable, data[1].inheritable)));
    }
    default:
      break;
  }
  lock.unlock();
  {
    std::lock_guard<std::mutex> report(report_mu_);
    if (reported_unknown_.insert(nr).second) {
      char msg[160];
      int n = snprintf(msg, sizeof msg,
                       "ocibuild sandbox: refusing unknown syscall %ld with ENOSYS (pid %d)\n", nr,
                       c.tid());
      if (n > 0) (void)!::write(opts_.log_fd, msg, static_cast<size_t>(n));
    }
  }
  c.Fail(-ENOSYS);
}

void Supervisor::Prctl(Call& c) {
  std::lock_guard<std::mutex> lock(c.task->creds_mu);
  FakeCreds& cr = c.task->creds;
  switch (c.arg(0)) {
    case PR_GET_KEEPCAPS:
      return c.Return(cr.keepcaps ? 1 : 0);
    case PR_SET_KEEPCAPS:
      if (c.arg(1) > 1) return c.Fail(-EINVAL);
      cr.keepcaps = c.arg(1) == 1;
      return c.Return(0);
    case PR_CAPBSET_READ:
      // The bounding set of a container's root, whatever the host's (--cap-drop=ALL).
      return c.arg(1) <= 40 ? c.Return(1) : c.Fail(-EINVAL);
    case PR_CAPBSET_DROP:
    case PR_SET_SECUREBITS:
      return cr.HasCap(8 /*CAP_SETPCAP*/) ? c.Return(0) : c.Fail(-EPERM);
    case PR_GET_SECUREBITS:
      return c.Return(0);
    case PR_SET_DUMPABLE: {
      // Never let it reach the kernel: a non-dumpable process's memory and descriptors are
      // closed to the supervisor, which would break every path syscall of sudo, ssh & co.
      if (c.arg(1) > 1) return c.Fail(-EINVAL);
      std::lock_guard<std::mutex> plock(c.task->proc->mu);
      c.task->proc->dumpable = c.arg(1) == 1;
      return c.Return(0);
    }
    case PR_GET_DUMPABLE: {
      std::lock_guard<std::mutex> plock(c.task->proc->mu);
      return c.Return(c.task->proc->dumpable ? 1 : 0);
    }
    case PR_CAP_AMBIENT:
      // Callers probe capabilities upwards until EINVAL.
      if (c.arg(1) == PR_CAP_AMBIENT_CLEAR_ALL) return c.Return(0);
      return c.arg(2) <= 40 ? c.Return(0) : c.Fail(-EINVAL);
    case PR_SET_MM:
      return c.Fail(-EPERM);  // would rewrite /proc/self/exe and friends
    default:
      // Everything else acts on the caller alone and takes registers or the caller's own
      // memory: the kernel's business.
      c.cont = true;
      return;
  }
}

void Supervisor::Uname(Call& c) {
  struct utsname u;
  if (::uname(&u) != 0) return c.Fail(-errno);
  // BuildKit's RUN containers are called "buildkitsandbox" (BUILDKIT_SANDBOX_HOSTNAME).
  std::memset(u.nodename, 0, sizeof u.nodename);
  std::strncpy(u.nodename, opts_.hostname.c_str(), sizeof u.nodename - 1);
  if (int rc = WriteMem(c, c.arg(0), &u, sizeof u); rc != 0) return c.Fail(rc);
  c.Return(0);
}

}  // namespace ocibuild::sandbox
