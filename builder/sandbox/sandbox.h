// The RUN sandbox: runs one RUN step, given as plain data, inside an unpacked rootfs directory so
// that it behaves as if it ran as root in a container — without capabilities, user namespaces or
// mounts — and reaches nothing outside its rootfs, its mounts and its own processes. The
// supervisor performs the step's path, identity and other-process syscalls (seccomp user
// notification, supervisor.h); a tracer follows its processes and runs exec (ptrace, tracer.h).
// See README.md in this folder for the design and docs/security.md for the threat model.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "builder/sandbox/guest_fs.h"
#include "util/result.h"

namespace ocibuild::sandbox {

struct RunSpec {
  // argv[0] may be a bare name: it is searched in the guest along PATH from `env`.
  std::vector<std::string> argv;
  std::vector<std::string> env;  // complete environment, "K=V"
  std::string cwd = "/";         // guest path; created if missing, as Docker does for WORKDIR
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;  // supplementary groups
  mode_t umask = 022;
  std::string rootfs;  // host directory holding the unpacked image
  // Host locations visible in the guest. Empty: DefaultMappings() with private copies of
  // /etc/hosts, /etc/resolv.conf and /dev/shm that live as long as the step.
  std::vector<PathMapping> mappings;
  bool network = true;  // false: socket() for anything but AF_UNIX/AF_NETLINK fails
  // The metadata store of the rootfs; empty: oci::MetaStore::PathFor(rootfs). Loaded before the
  // step and saved after it (the caller must reload any copy it holds).
  std::string metastore_path;
  // Descriptors the step inherits as 0/1/2; -1 for stdin means /dev/null.
  int stdin_fd = -1;
  int stdout_fd = 1;
  int stderr_fd = 2;
  // Log every refused or unknown syscall to stderr_fd (always on for unknown ones).
  bool verbose = false;
  // What uname() and /proc/sys/kernel/hostname answer (BuildKit: BUILDKIT_SANDBOX_HOSTNAME).
  std::string hostname = "buildkitsandbox";
  // Inodes of the rootfs that a cached unpacked tree shares (builder/rootfs_cache.h): a write
  // to one goes to a private copy first. Null: none.
  const std::unordered_set<uint64_t>* shared_inodes = nullptr;
  // Of those, the names each has outside the rootfs (the cache entries' nodes/<inode>, a
  // finished stage's tree restored from the same entry): a stat shows the step the link count
  // the inode would have in a tree unpacked from the layers. Null: none.
  const std::unordered_map<uint64_t, uint32_t>* foreign_links = nullptr;
  // Where to write what the step's supervisor did to shared inodes (copy-ups, names unlinked,
  // renamed or linked: records of 3 u64: inode, ctime before, ctime after), for the cache's
  // guard (builder/shared_tree_guard.h); empty: nowhere.
  std::string copy_up_log;
  // Where to write what a watch of the tree's directories cannot see (builder/tree_watch.h):
  // a line `link INODE` for each inode that got another name, `fileattr` when a file-attribute
  // ioctl (chattr) ran; empty: nowhere.
  std::string tree_notes;
  // Host path of the qemu-user binary (Debian's qemu-user-static, e.g. qemu-aarch64-static)
  // for the stage's architecture when it is not the host's; empty for native steps. Every
  // program the step execs then runs under it, as PRoot does (no binfmt_misc).
  std::string emulator;
};

struct RunResult {
  int exit_code = 0;             // the command's exit status; 128+N when killed by signal N
  int term_signal = 0;           // N when killed by a signal
  uint64_t traced_syscalls = 0;  // notifications and tracer stops handled (for benchmarks)
  size_t survivors = 0;          // processes still alive after the step (SIGKILL'ed; should be 0)
  int peak_handling = 0;         // the most notifications the supervisor handled at once
  // Notified calls a signal cut short before a worker took them, restarted after the handler.
  uint64_t restarted_calls = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;
  // An Error means the step could not be run at all (ptrace forbidden, rootfs missing, ...); a
  // failing command is a RunResult with a non-zero exit_code.
  virtual Result<RunResult> Run(const RunSpec& spec) = 0;
};

// The supervisor backend (seccomp user notification + ptrace for exec). Needs Linux >= 5.9.
std::unique_ptr<Backend> MakeSupervisorBackend();

// Why this kernel cannot run the supervisor backend ("" when it can), and whether it lacks only
// what makes interrupted calls exact (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, Linux 5.19).
std::string SandboxKernelProblem();

// Runs the step with the default backend.
Result<RunResult> RunStep(const RunSpec& spec);

}  // namespace ocibuild::sandbox
