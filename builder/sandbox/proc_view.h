// The guest's /proc: only the step's own processes are there, /proc/self and thread-self name
// the caller, the magic links (cwd, root, exe, fd/N) lead to guest paths, and what would show
// the host (mounts, cgroups, kernel keys, owners in status) is made up as a container shows
// it. Everything is read-only but a process's comm and oom_score_adj. Files are opened from the
// host's procfs below /proc/<pid> only after the pid was checked against the step's processes,
// and checked again (by pidfd) once open, so a pid reused by a host process is never reached.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "builder/sandbox/guest_fs.h"
#include "builder/sandbox/process_table.h"
#include "util/fd.h"

namespace ocibuild::sandbox {

class ProcView final : public ProcResolver {
 public:
  // `abstract_prefix`: what the step's abstract unix names carry on the host (socket_calls.cc).
  ProcView(const GuestFs& fs, const ProcessTable& procs, std::string hostname,
           std::string abstract_prefix);

  int Lookup(pid_t caller_tid, std::string_view rel, bool want_object, bool final, ProcTarget* out,
             std::string* link) const override;

  // The host's /proc (O_PATH), for opening kHost targets beneath it.
  int host_proc() const { return proc_fd_.get(); }
  // /proc/mounts for the guest.
  std::string Mounts() const;
  std::string MountInfo() const;
  // maps, smaps, numa_maps with the guest's names of mapped files.
  std::string GuestMaps(const std::string& host_text, bool numa) const;
  // /proc/net/unix with only the step's named sockets (guest names) and unnamed ones.
  std::string NetUnix(const std::string& host_text) const;

 private:
  int LookupPid(const Task& caller, pid_t pid, std::string_view rest, bool want_object, bool final,
                ProcTarget* out, std::string* link) const;
  int HostEntry(const std::string& host, pid_t pid, ProcTarget* out) const;
  int ReadHost(const std::string& rel, std::string* text) const;
  std::string GuestName(const std::string& host) const;

  const GuestFs& fs_;
  const ProcessTable& procs_;
  std::string hostname_;
  std::string abstract_prefix_;
  UniqueFd proc_fd_;
};

}  // namespace ocibuild::sandbox
