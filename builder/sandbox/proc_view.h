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
  ProcView(const GuestFs& fs, const ProcessTable& procs, std::string hostname);

  int Lookup(pid_t caller_tid, std::string_view rel, bool want_object, bool final, ProcTarget* out,
             std::string* link) const override;

  // The host's /proc (O_PATH), for opening kHost targets beneath it.
  int host_proc() const { return proc_fd_.get(); }
  // /proc/mounts for the guest.
  std::string Mounts() const;
  std::string MountInfo() const;

 private:
  int LookupPid(const Task& caller, pid_t pid, std::string_view rest, bool want_object, bool final,
                ProcTarget* out, std::string* link) const;
  int HostEntry(const std::string& host, pid_t pid, ProcTarget* out) const;

  const GuestFs& fs_;
  const ProcessTable& procs_;
  std::string hostname_;
  UniqueFd proc_fd_;
};

}  // namespace ocibuild::sandbox
