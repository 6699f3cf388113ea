#include "builder/sandbox/proc_view.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace ocibuild::sandbox {
namespace {

std::vector<std::string_view> Components(std::string_view rel) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < rel.size()) {
    size_t end = rel.find('/', pos);
    if (end == std::string_view::npos) end = rel.size();
    if (end > pos) out.push_back(rel.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

bool ParsePid(std::string_view s, pid_t* pid) {
  if (s.empty() || s.size() > 9) return false;
  long v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + (ch - '0');
  }
  if (v <= 0) return false;
  *pid = static_cast<pid_t>(v);
  return true;
}

// runc's masked paths: present, but empty.
bool Masked(std::string_view name, bool* dir) {
  static const char* const kFiles[] = {
      "kcore",       "keys",        "timer_list",    "sched_debug", "latency_stats",
      "timer_stats", "kmsg",        "sysrq-trigger", "kallsyms",    "kpagecount",
      "kpageflags",  "kpagecgroup", "vmallocinfo",   "pagetypeinfo"};
  static const char* const kDirs[] = {"acpi",   "scsi", "asound", "irq",    "bus",
                                      "driver", "tty",  "fs",     "sysvipc"};
  for (const char* f : kFiles)
    if (name == f) {
      *dir = false;
      return true;
    }
  for (const char* d : kDirs)
    if (name == d) {
      *dir = true;
      return true;
    }
  return false;
}

// Docker's (and BuildKit's) default capabilities: chown, dac_override, fowner, fsetid, kill,
// setgid, setuid, setpcap, net_bind_service, net_raw, sys_chroot, mknod, audit_write, setfcap.
constexpr uint64_t kDefaultCaps = 0xa80425fb;

std::string IdLine(const char* key, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  return std::string(key) + "\t" + std::to_string(a) + "\t" + std::to_string(b) + "\t" +
         std::to_string(c) + "\t" + std::to_string(d) + "\n";
}

}  // namespace

ProcView::ProcView(const GuestFs& fs, const ProcessTable& procs, std::string hostname,
                   std::string abstract_prefix)
    : fs_(fs),
      procs_(procs),
      hostname_(std::move(hostname)),
      abstract_prefix_(std::move(abstract_prefix)) {
  proc_fd_.reset(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
}

int ProcView::HostEntry(const std::string& host, pid_t pid, ProcTarget* out) const {
  struct stat st;
  if (::fstatat(proc_fd_.get(), host.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return -errno;
  // A symlink we do not know how to present is a magic link into the host: refuse it.
  if (S_ISLNK(st.st_mode)) return -EACCES;
  out->kind = ProcTarget::Kind::kHost;
  out->host = host;
  out->pid = pid;
  out->is_dir = S_ISDIR(st.st_mode);
  return 0;
}

int ProcView::Lookup(pid_t caller_tid, std::string_view rel, bool want_object, bool final,
                     ProcTarget* out, std::string* link) const {
  std::shared_ptr<Task> caller = procs_.Find(caller_tid);
  auto comps = Components(rel);
  if (comps.empty()) {
    out->kind = ProcTarget::Kind::kRoot;
    return 0;
  }
  // A plain (not magic) symlink: the object itself for lstat/readlink, else followed.
  auto symlink = [&](const std::string& text) {
    if (final && !want_object) {
      out->kind = ProcTarget::Kind::kLink;
      out->host = std::string(rel);
      out->link = text;
      return 0;
    }
    *link = text;
    return ProcResolver::kSymlink;
  };
  std::string_view c0 = comps[0];
  if (comps.size() == 1) {
    if (c0 == "self") {
      if (!caller) return -ENOENT;
      return symlink(std::to_string(caller->proc->tgid));
    }
    if (c0 == "thread-self") {
      if (!caller) return -ENOENT;
      return symlink(std::to_string(caller->proc->tgid) + "/task/" + std::to_string(caller_tid));
    }
    if (c0 == "mounts") return symlink("self/mounts");
    if (c0 == "net") return symlink("self/net");
  }
  pid_t pid = 0;
  if (ParsePid(c0, &pid)) {
    if (!caller) return -ENOENT;
    std::string_view rest = rel.substr(c0.size());
    while (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
    return LookupPid(*caller, pid, rest, want_object, final, out, link);
  }
  bool masked_dir = false;
  if (Masked(c0, &masked_dir)) {
    if (masked_dir) {
      if (comps.size() > 1) return -ENOENT;
      out->kind = ProcTarget::Kind::kEmptyDir;
    } else {
      if (comps.size() > 1) return -ENOTDIR;
      out->kind = ProcTarget::Kind::kContent;
    }
    return 0;
  }
  if (rel == "sys/kernel/hostname") {
    out->kind = ProcTarget::Kind::kContent;
    out->content = hostname_ + "\n";
    return 0;
  }
  return HostEntry(std::string(rel), 0, out);
}

int ProcView::LookupPid(const Task& caller, pid_t pid, std::string_view rest, bool want_object,
                        bool final, ProcTarget* out, std::string* link) const {
  std::shared_ptr<Task> target = procs_.Find(pid);
  if (!target || !ProcessTable::Alive(*target->proc)) return -ENOENT;
  auto comps = Components(rest);
  std::string prefix = std::to_string(pid);
  if (comps.empty()) return HostEntry(prefix, pid, out);
  std::string_view c1 = comps[0];
  auto magic = [&](const std::string& guest_text, const std::string& host_rel) {
    if (final && !want_object) {
      out->kind = ProcTarget::Kind::kLink;
      out->host = host_rel;
      out->pid = pid;
      out->link = guest_text;
      return 0;
    }
    *link = guest_text;
    return ProcResolver::kMagicLink;
  };
  if (c1 == "task" && comps.size() >= 2) {
    pid_t tid = 0;
    if (!ParsePid(comps[1], &tid)) return -ENOENT;
    std::shared_ptr<Task> thread = procs_.Find(tid);
    if (!thread || thread->proc != target->proc) return -ENOENT;
    std::string_view sub = rest.substr(rest.find(comps[1]) + comps[1].size());
    while (!sub.empty() && sub[0] == '/') sub.remove_prefix(1);
    if (sub.empty()) return HostEntry(prefix + "/task/" + std::to_string(tid), pid, out);
    return LookupPid(caller, tid, sub, want_object, final, out, link);
  }
  if (comps.size() == 1) {
    if (c1 == "cwd") {
      std::shared_ptr<FsState> fs;
      {
        std::lock_guard<std::mutex> lock(target->creds_mu);
        fs = target->fs;
      }
      std::lock_guard<std::mutex> lock(fs->mu);
      return magic(fs->cwd, prefix + "/cwd");
    }
    if (c1 == "root") return magic("/", prefix + "/root");
    if (c1 == "exe") {
      std::string exe;
      {
        std::lock_guard<std::mutex> lock(target->proc->mu);
        exe = target->proc->exe;
      }
      if (exe.empty()) return -ENOENT;
      return magic(exe, prefix + "/exe");
    }
    if (c1 == "mem" && target->proc != caller.proc) return -EACCES;
    if (c1 == "map_files") return -EPERM;
    if (c1 == "mounts") {
      out->kind = ProcTarget::Kind::kContent;
      out->content = Mounts();
      out->pid = pid;
      return 0;
    }
    if (c1 == "mountinfo") {
      out->kind = ProcTarget::Kind::kContent;
      out->content = MountInfo();
      out->pid = pid;
      return 0;
    }
    if (c1 == "maps" || c1 == "smaps" || c1 == "numa_maps") {
      // Mapped files by their guest names: the host path of the rootfs stays the host's.
      std::string text;
      if (int rc = ReadHost(prefix + "/" + std::string(c1), &text); rc != 0) return rc;
      out->kind = ProcTarget::Kind::kContent;
      out->content = GuestMaps(text, c1 == "numa_maps");
      out->pid = pid;
      return 0;
    }
    if (c1 == "cgroup") {
      // As with a cgroup namespace: the step's own root, not the host's hierarchy.
      out->kind = ProcTarget::Kind::kContent;
      out->content = "0::/\n";
      out->pid = pid;
      return 0;
    }
    if (c1 == "status") {
      int fd = ::openat(proc_fd_.get(), (prefix + "/status").c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return -errno;
      UniqueFd guard(fd);
      std::string text;
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
        text.append(buf, static_cast<size_t>(n));
      FakeCreds creds;
      {
        std::lock_guard<std::mutex> lock(target->creds_mu);
        creds = target->creds;
      }
      std::string outtext;
      size_t pos = 0;
      while (pos < text.size()) {
        size_t nl = text.find('\n', pos);
        if (nl == std::string::npos) nl = text.size() - 1;
        std::string_view line(text.data() + pos, nl - pos + 1);
        if (line.rfind("Uid:", 0) == 0) {
          outtext += IdLine("Uid:", creds.ruid, creds.euid, creds.suid, creds.fsuid);
        } else if (line.rfind("Gid:", 0) == 0) {
          outtext += IdLine("Gid:", creds.rgid, creds.egid, creds.sgid, creds.fsgid);
        } else if (line.rfind("Cap", 0) == 0 && line.size() > 7 && line[6] == ':') {
          // The step's fake sets within Docker's default bounding set (the builder's real sets
          // are nobody's business).
          std::string_view k = line.substr(0, 7);
          uint64_t v = k == "CapBnd:"   ? kDefaultCaps
                       : k == "CapPrm:" ? creds.cap_prm & kDefaultCaps
                       : k == "CapEff:" ? creds.cap_eff & kDefaultCaps
                       : k == "CapInh:" ? creds.cap_inh & kDefaultCaps
                                        : 0;
          char hex[17];
          std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(v));
          outtext += std::string(k) + "\t" + hex + "\n";
        } else if (line.rfind("Groups:", 0) == 0) {
          outtext += "Groups:\t";
          for (uint32_t g : creds.groups) outtext += std::to_string(g) + " ";
          outtext += "\n";
        } else {
          outtext.append(line);
        }
        pos = nl + 1;
      }
      out->kind = ProcTarget::Kind::kContent;
      out->content = std::move(outtext);
      out->pid = pid;
      return 0;
    }
  }
  if (c1 == "fd" && comps.size() == 2) {
    int n = std::atoi(std::string(comps[1]).c_str());
    std::string host_rel = prefix + "/fd/" + std::string(comps[1]);
    char buf[PATH_MAX];
    ssize_t len = ::readlinkat(proc_fd_.get(), host_rel.c_str(), buf, sizeof buf - 1);
    if (len < 0) return -errno;
    std::string text(buf, static_cast<size_t>(len));
    std::string guest;
    bool named = fs_.ToGuest(text, &guest);
    if (want_object) {
      out->kind = ProcTarget::Kind::kFdLink;
      out->pid = pid;
      out->fd = n;
      out->host = host_rel;
      return 0;
    }
    if (final) {
      out->kind = ProcTarget::Kind::kLink;
      out->host = host_rel;
      out->pid = pid;
      // Files show their guest path; pipes, sockets and the like their kernel name; a host
      // object the guest has no name for (it should hold none) shows nothing of the host.
      out->link = named ? guest : (text[0] == '/' ? std::string("/") : text);
      return 0;
    }
    if (!named) return -ENOTDIR;
    *link = guest;
    return ProcResolver::kMagicLink;
  }
  if (c1 == "net" && comps.size() == 2 && comps[1] == "unix") {
    std::string text;
    if (int rc = ReadHost(prefix + "/net/unix", &text); rc != 0) return rc;
    out->kind = ProcTarget::Kind::kContent;
    out->content = NetUnix(text);
    out->pid = pid;
    return 0;
  }
  if (c1 == "ns" && comps.size() == 2 && final && !want_object) {
    char buf[256];
    std::string host_rel = prefix + "/ns/" + std::string(comps[1]);
    ssize_t len = ::readlinkat(proc_fd_.get(), host_rel.c_str(), buf, sizeof buf);
    if (len < 0) return -errno;
    out->kind = ProcTarget::Kind::kLink;
    out->host = host_rel;
    out->pid = pid;
    out->link.assign(buf, static_cast<size_t>(len));
    return 0;
  }
  if (c1 == "ns" && comps.size() == 2) {
    // Namespaces of the step are the host's (there are none of its own); a descriptor on one
    // allows nothing (setns is refused).
    out->kind = ProcTarget::Kind::kHost;
    out->host = prefix + "/ns/" + std::string(comps[1]);
    out->pid = pid;
    return 0;
  }
  int rc = HostEntry(prefix + "/" + std::string(rest), pid, out);
  if (rc != 0) return rc;
  std::string_view last = comps.back();
  out->writable = comps.size() == 1 && (last == "comm" || last == "oom_score_adj" ||
                                        last == "oom_adj" || last == "timerslack_ns");
  return 0;
}

int ProcView::ReadHost(const std::string& rel, std::string* text) const {
  int fd = ::openat(proc_fd_.get(), rel.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  UniqueFd guard(fd);
  char buf[16384];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) text->append(buf, static_cast<size_t>(n));
  return 0;
}

std::string ProcView::GuestName(const std::string& host) const {
  static constexpr std::string_view kDeleted = " (deleted)";
  std::string path = host, suffix;
  if (path.size() > kDeleted.size() &&
      path.compare(path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    suffix = kDeleted;
    path.resize(path.size() - kDeleted.size());
  }
  std::string guest;
  // A host file the guest has no name for (it should map none) shows nothing of the host.
  if (!fs_.ToGuest(path, &guest)) guest = "/";
  return guest + suffix;
}

std::string ProcView::GuestMaps(const std::string& text, bool numa) const {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    // maps/smaps: the path is the rest of the line from its first '/' (address, perms, offset,
    // device and inode have none); numa_maps: "file=<path>" up to the next blank.
    size_t at = numa ? line.find(" file=/") : line.find('/');
    if (at != std::string::npos) {
      if (numa) at += 6;
      size_t end = numa ? line.find(' ', at) : line.size();
      if (end == std::string::npos) end = line.size();
      line = line.substr(0, at) + GuestName(line.substr(at, end - at)) + line.substr(end);
    }
    out += line;
    out += '\n';
  }
  return out;
}

std::string ProcView::NetUnix(const std::string& text) const {
  std::string out;
  size_t pos = 0;
  bool header = true;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    if (header) {
      header = false;
      out += line + "\n";
      continue;
    }
    // Num RefCount Protocol Flags Type St Inode [Path]: seven fields, then the name if any.
    size_t p = 0;
    for (int field = 0; field < 7 && p != std::string::npos; ++field) {
      p = line.find_first_not_of(' ', p);
      if (p != std::string::npos) p = line.find(' ', p);
    }
    if (p == std::string::npos) {
      out += line + "\n";  // unnamed
      continue;
    }
    std::string name = line.substr(line.find_first_not_of(' ', p));
    std::string shown;
    std::string abstract = "@" + abstract_prefix_;
    if (name.rfind(abstract, 0) == 0) {
      shown = "@" + name.substr(abstract.size());
    } else if (name[0] == '/') {
      if (!fs_.ToGuest(name, &shown)) continue;
    } else {
      continue;  // a host process's abstract name, or a name bound relative to a directory
    }
    out += line.substr(0, p) + " " + shown + "\n";
  }
  return out;
}

std::string ProcView::Mounts() const {
  std::string out = "overlay / overlay rw,relatime 0 0\n";
  for (const auto& m : fs_.mounts()) {
    if (m->rootfs()) continue;
    std::string opts = m->read_only ? "ro" : "rw";
    switch (m->kind) {
      case PathMapping::Kind::kProc:
        out += "proc " + m->guest + " proc rw,nosuid,nodev,noexec,relatime 0 0\n";
        break;
      case PathMapping::Kind::kSys:
        out += "sysfs " + m->guest + " sysfs ro,nosuid,nodev,noexec,relatime 0 0\n";
        break;
      case PathMapping::Kind::kPts:
        out += "devpts " + m->guest +
               " devpts rw,nosuid,noexec,relatime,gid=5,mode=620,ptmxmode=666 0 0\n";
        break;
      case PathMapping::Kind::kDevice:
        break;  // part of /dev, as the nodes of a container's /dev tmpfs are
      case PathMapping::Kind::kBind:
        if (m->tmpfs_size >= 0) {
          out += "tmpfs " + m->guest + " tmpfs rw,nosuid,nodev,noexec,relatime" +
                 (m->tmpfs_size > 0 ? ",size=" + std::to_string(m->tmpfs_size / 1024) + "k" : "") +
                 " 0 0\n";
        } else if (m->guest == "/dev") {
          out += "tmpfs /dev tmpfs rw,nosuid,size=65536k,mode=755 0 0\n";
        } else if (m->guest == "/dev/shm") {
          out += "shm /dev/shm tmpfs rw,nosuid,nodev,noexec,relatime,size=65536k 0 0\n";
        } else {
          out += "overlay " + m->guest + " overlay " + opts + ",relatime 0 0\n";
        }
        break;
    }
  }
  return out;
}

std::string ProcView::MountInfo() const {
  std::string out;
  int id = 100;
  int root_id = id;
  out += std::to_string(id++) + " 1 0:1 / / rw,relatime - overlay overlay rw\n";
  for (const auto& m : fs_.mounts()) {
    if (m->rootfs() || m->kind == PathMapping::Kind::kDevice) continue;
    std::string fstype = "overlay", source = "overlay", opts = m->read_only ? "ro" : "rw";
    if (m->kind == PathMapping::Kind::kProc) fstype = source = "proc";
    if (m->kind == PathMapping::Kind::kSys) fstype = source = "sysfs", opts = "ro";
    if (m->kind == PathMapping::Kind::kPts) fstype = source = "devpts";
    if (m->guest == "/dev" || m->guest == "/dev/shm" || m->tmpfs_size >= 0)
      fstype = "tmpfs", source = "tmpfs";
    int mine = id++;
    out += std::to_string(mine) + " " + std::to_string(root_id) + " 0:" + std::to_string(mine) +
           " / " + m->guest + " " + opts + ",relatime - " + fstype + " " + source + " " + opts +
           "\n";
  }
  return out;
}

}  // namespace ocibuild::sandbox
