#include "cli/doctor.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli/state_root.h"
#include "registry/client.h"
#include "registry/credentials.h"
#include "registry/reference.h"
#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::cli {
namespace {

// Less than this much free space under the state root makes a typical build with a Debian or
// Ubuntu base (unpacked rootfs + layers + cache) likely to fail.
constexpr uint64_t kLowDiskBytes = 2ull << 30;
constexpr uint64_t kLowInodes = 100000;

void Add(DoctorReport* r, CheckStatus s, std::string check, std::string text,
         std::string fix = "") {
  r->lines.push_back(CheckLine{s, std::move(check), std::move(text), std::move(fix)});
}

std::string Trim(std::string s) {
  return std::string(TrimSpace(s));
}

// Why ptrace is refused, in words, from what the kernel exposes.
std::string PtraceFix(DoctorProbes& probes, const sys::ProbeOutcome& o) {
  std::string yama = Trim(probes.ReadSmallFile("/proc/sys/kernel/yama/ptrace_scope"));
  if (yama == "2" || yama == "3")
    return "Yama ptrace_scope is " + yama +
           " on this kernel (/proc/sys/kernel/yama/ptrace_scope); ocibuild needs 0 or 1, set "
           "by the host's administrator (sysctl kernel.yama.ptrace_scope=1)";
  if (o.err == EPERM || o.err == EACCES || o.err == ENOSYS)
    return "the container's seccomp profile forbids ptrace: use Docker's default profile "
           "(allows ptrace on kernels >= 4.8) or Kubernetes' seccompProfile: RuntimeDefault, or "
           "add ptrace to the custom profile; do not run with a profile that blocks it";
  return "run ocibuild where processes may trace their own children (see docs/kubernetes.md)";
}

// The supervisor answers a RUN step's syscalls through seccomp user notification (Linux 5.9 for
// SECCOMP_IOCTL_NOTIF_ADDFD); see builder/sandbox/README.md for what each feature buys.
void CheckKernelAndNotify(DoctorProbes& probes, DoctorReport* r, std::string* why_not) {
  std::string release = Trim(probes.ReadSmallFile("/proc/sys/kernel/osrelease"));
  int major = 0, minor = 0;
  std::sscanf(release.c_str(), "%d.%d", &major, &minor);
  bool new_enough = major > 5 || (major == 5 && minor >= 9);
  const char* kernel_fix =
      "run on Linux >= 5.9 (GitHub's ubuntu-22.04 and ubuntu-24.04 runners, Debian 12, RHEL 9, "
      "Amazon Linux 2023, GKE/EKS/AKS nodes of 2023 or later)";
  if (!release.empty()) {
    if (new_enough) {
      Add(r, CheckStatus::kOk, "kernel", release + " (RUN steps need >= 5.9)");
    } else {
      Add(r, CheckStatus::kFail, "kernel", release + " is older than 5.9", kernel_fix);
      if (why_not->empty()) *why_not = "Linux " + release + " is older than 5.9; fix: " + kernel_fix;
    }
  }
  sys::NotifyProbe n = probes.SeccompNotify();
  if (!n.notify.ok || !n.addfd.ok) {
    const sys::ProbeOutcome& bad = n.notify.ok ? n.addfd : n.notify;
    std::string fix = new_enough ? "use the container runtime's default seccomp profile (or one "
                                   "that allows seccomp(2) and ioctl)"
                                 : kernel_fix;
    Add(r, CheckStatus::kFail, "seccomp notify", "the supervisor cannot answer a step's "
        "syscalls (" + bad.detail + ")", fix);
    if (why_not->empty())
      *why_not = "seccomp user notification does not work (" + bad.detail + "); fix: " + fix;
    return;
  }
  Add(r, CheckStatus::kOk, "seccomp notify",
      "the supervisor answers a step's syscalls and hands it descriptors (ADDFD)");
  if (n.killable) {
    Add(r, CheckStatus::kOk, "killable waits",
        "a signal cannot interrupt a call the supervisor already made (Linux >= 5.19)");
  } else {
    Add(r, CheckStatus::kWarn, "killable waits",
        "Linux < 5.19: a signal may interrupt a call the supervisor already made; its restart "
        "gets the recorded answer",
        "a kernel >= 5.19 makes this exact");
  }
  Add(r, CheckStatus::kOk, "process memory",
      n.process_vm ? "process_vm_readv allowed"
                   : "process_vm_* refused by the seccomp profile; /proc/<pid>/mem is used");
}

void CheckSandbox(DoctorProbes& probes, DoctorReport* r, std::string* why_not) {
  sys::ProbeOutcome seccomp = probes.Seccomp();
  sys::ProbeOutcome ptrace = probes.Ptrace(false);
  if (ptrace.ok) {
    Add(r, CheckStatus::kOk, "ptrace", "allowed (RUN steps are traced, no privileges needed)");
  } else {
    std::string fix = PtraceFix(probes, ptrace);
    Add(r, CheckStatus::kFail, "ptrace", "refused (" + ptrace.detail + ")", fix);
    *why_not = "ptrace is refused (" + ptrace.detail + "); fix: " + fix;
  }
  if (!seccomp.ok) {
    std::string fix =
        "use a kernel built with CONFIG_SECCOMP_FILTER and a runtime that allows prctl/seccomp "
        "(every default Docker and Kubernetes profile does)";
    Add(r, CheckStatus::kFail, "seccomp", "filters cannot be installed (" + seccomp.detail + ")",
        fix);
    if (why_not->empty())
      *why_not = "seccomp filters are refused (" + seccomp.detail + "); fix: " + fix;
    return;
  }
  if (!ptrace.ok) {
    Add(r, CheckStatus::kOk, "seccomp", "filters can be installed");
    return;
  }
  CheckKernelAndNotify(probes, r, why_not);
  sys::ProbeOutcome traced = probes.Ptrace(true);
  if (traced.ok) {
    Add(r, CheckStatus::kOk, "seccomp",
        "filters can be installed and their trace stops reach the tracer");
  } else {
    std::string fix = "use a kernel >= 4.8";
    Add(r, CheckStatus::kFail, "seccomp",
        "trace stops do not reach the tracer (" + traced.detail + ")", fix);
    *why_not = "seccomp trace stops do not reach the tracer (" + traced.detail + "); fix: " + fix;
  }
}

void CheckNamespacesAndOverlay(DoctorProbes& probes, DoctorReport* r) {
  sys::ProbeOutcome userns = probes.UserNamespace();
  Add(r, CheckStatus::kOk, "user namespaces",
      userns.ok ? "allowed (ocibuild does not use them)"
                : "refused (" + userns.detail + "); ocibuild does not need them");
  auto rootfs = probes.Filesystem("/");
  if (rootfs.ok() && rootfs->type == "overlay") {
    Add(r, CheckStatus::kOk, "overlay",
        "the root filesystem is overlay (a container); ocibuild never mounts overlay and needs "
        "no mounts at all");
  } else {
    Add(r, CheckStatus::kOk, "overlay",
        "not needed: ocibuild never mounts anything (root filesystem: " +
            (rootfs.ok() ? rootfs->type : rootfs.error().message) + ")");
  }
}

void CheckStateRoot(DoctorProbes& probes, const DoctorInputs& in, DoctorReport* r) {
  if (!in.state_root.ok()) {
    Add(r, CheckStatus::kFail, "state dir", in.state_root.error().message,
        "set OCIBUILD_ROOT to a writable directory on a volume with space (an emptyDir or PVC in "
        "a pod)");
    return;
  }
  const std::string& root = *in.state_root;
  auto fs = probes.Filesystem(root);
  if (!fs.ok()) {
    Add(r, CheckStatus::kFail, "state dir", fs.error().message,
        "set OCIBUILD_ROOT to a writable directory");
    return;
  }
  std::string via = in.state_root_source == "OCIBUILD_ROOT" ? "from OCIBUILD_ROOT"
                    : in.state_root_source == "TMPDIR"
                        ? "a temporary fallback: HOME and XDG_CACHE_HOME are not writable"
                        : "the default under " + in.state_root_source;
  Add(r, in.state_root_source == "TMPDIR" ? CheckStatus::kWarn : CheckStatus::kOk, "state dir",
      root + " (" + via + "), " + fs->type + ", writable",
      in.state_root_source == "TMPDIR"
          ? "set OCIBUILD_ROOT to a volume that outlives the build to keep the cache"
          : "");

  // Free space and inodes: a build unpacks base images and writes layers here.
  std::string space = HumanBytes(fs->free_bytes) + " free of " + HumanBytes(fs->total_bytes);
  if (fs->total_inodes) space += ", " + std::to_string(fs->free_inodes) + " inodes free";
  bool low = fs->free_bytes < kLowDiskBytes || (fs->total_inodes && fs->free_inodes < kLowInodes);
  Add(r, low ? CheckStatus::kWarn : CheckStatus::kOk, "free disk", space + " in " + root,
      low ? "builds need room for unpacked base images, layers and the cache: free space or "
            "point OCIBUILD_ROOT at a bigger volume"
          : "");

  // Scratch rootfs directories live under the state root, not in $TMPDIR: rename, not copy.
  // $TMPDIR still holds each RUN step's few private files (/etc/hosts, resolv.conf copies).
  auto tmp = probes.Filesystem(in.tmp_dir);
  std::string where = "scratch rootfs directories go to " + JoinPath(root, "work") +
                      ", on the cache's filesystem (finished layers are renamed, never copied)";
  Status tmp_writable = probes.Writable(in.tmp_dir);
  if (!tmp_writable.ok()) {
    Add(r, CheckStatus::kFail, "tmp",
        where + "; but " + in.tmp_dir + " (TMPDIR) is not writable (" +
            tmp_writable.error().message + ") and RUN steps keep small private files there",
        "set TMPDIR to a writable directory, or mount an emptyDir at /tmp (needed with "
        "readOnlyRootFilesystem)");
  } else {
    if (tmp.ok() && tmp->dev != fs->dev)
      where += "; " + in.tmp_dir + " (" + tmp->type +
               ", another filesystem) holds only small per-RUN files";
    Add(r, CheckStatus::kOk, "tmp", where);
  }

  // Extended attributes: RUN steps may set security.capability and friends; ocibuild records
  // every xattr in its metadata store, so a filesystem without them loses nothing.
  auto x = probes.Xattrs(root);
  if (!x.ok()) {
    Add(r, CheckStatus::kWarn, "xattrs", "could not be probed (" + x.error().message + ")");
  } else {
    std::string text = std::string("user.* ") + (x->user.ok ? "can" : "cannot") + " be stored in " +
                       root + ", security.* " + (x->security.ok ? "can" : "cannot") +
                       "; either way ocibuild keeps every xattr a step sets in its metadata "
                       "store, so images get them";
    Add(r, CheckStatus::kOk, "xattrs", text);
  }
}

void CheckRegistry(DoctorProbes& probes, const std::string& ref, DoctorReport* r) {
  RegistryAccess a = probes.Registry(ref);
  if (!a.parse.ok()) {
    Add(r, CheckStatus::kFail, "registry " + ref, a.parse.error().message,
        "give a reference like ghcr.io/org/app:tag");
    return;
  }
  if (!a.endpoint.ok()) {
    Add(r, CheckStatus::kFail, "registry " + a.registry,
        "unreachable (" + a.endpoint.error().message + ")",
        "check the network, proxy variables (HTTPS_PROXY), --registry-ca for a private CA, or "
        "--insecure-registry for a plain-HTTP registry");
    return;
  }
  Add(r, CheckStatus::kOk, "registry " + a.registry,
      "reachable at " + *a.endpoint +
          (a.asks_for_auth ? " (asks for authentication)" : " (open: no authentication asked)"));
  if (!a.credential_lookup.ok()) {
    Add(r, CheckStatus::kFail, "credentials for " + a.registry, a.credential_lookup.error().message,
        "fix the docker config or credential helper named above");
  } else if (a.credential_source) {
    Add(r, CheckStatus::kOk, "credentials for " + a.registry, "found in " + *a.credential_source);
  } else {
    Add(r, CheckStatus::kOk, "credentials for " + a.registry,
        "none found (anonymous access; DOCKER_CONFIG, ~/.docker/config.json, REGISTRY_AUTH_FILE" +
            std::string(a.registry == "ghcr.io" ? ", GITHUB_TOKEN" : "") + " were searched)");
  }
  std::string login_fix =
      a.credential_source
          ? "the credentials from " + *a.credential_source +
                " were not accepted for this repository: check the token's scopes (packages: "
                "write for GHCR) and the repository's access settings"
          : "provide credentials: a docker config.json (DOCKER_CONFIG, a mounted secret in a "
            "pod)" +
                std::string(a.registry == "ghcr.io" ? " or GITHUB_TOKEN" : "");
  if (a.pull.ok()) {
    Add(r, CheckStatus::kOk, "pull " + a.name,
        a.manifest_exists ? "allowed (the image exists)" : "allowed (no such tag yet)");
  } else {
    Add(r, CheckStatus::kFail, "pull " + a.name, "refused (" + a.pull.error().message + ")",
        login_fix);
  }
  if (a.push.ok()) {
    Add(r, CheckStatus::kOk, "push " + a.name, "allowed (an upload was started and cancelled)");
  } else {
    Add(r, CheckStatus::kFail, "push " + a.name, "refused (" + a.push.error().message + ")",
        login_fix);
  }
}

}  // namespace

bool DoctorReport::any_failed() const {
  for (const auto& l : lines)
    if (l.status == CheckStatus::kFail) return true;
  return false;
}

DoctorReport RunDoctor(DoctorProbes& probes, const DoctorInputs& in) {
  DoctorReport r;
  std::string why_not;
  CheckSandbox(probes, &r, &why_not);
  CheckNamespacesAndOverlay(probes, &r);
  CheckStateRoot(probes, in, &r);
  for (const auto& ref : in.refs) CheckRegistry(probes, ref, &r);
  r.run_steps_ok = why_not.empty();
  if (r.run_steps_ok) {
    r.verdict = std::string("RUN steps: supervised sandbox (fake root, no privileges") +
                (in.root ? ", even though this process is root)" : ")");
  } else {
    r.verdict = "RUN steps: cannot run here: " + why_not + " (Dockerfiles without RUN still build)";
  }
  return r;
}

std::string FormatReport(const DoctorReport& report) {
  std::string out;
  for (const auto& l : report.lines) {
    const char* s = l.status == CheckStatus::kOk     ? "ok  "
                    : l.status == CheckStatus::kWarn ? "warn"
                                                     : "FAIL";
    out += std::string(s) + " " + l.check + ": " + l.text;
    if (!l.fix.empty()) out += "; fix: " + l.fix;
    out += "\n";
  }
  out += report.verdict + "\n";
  return out;
}

namespace {

class RealProbes : public DoctorProbes {
 public:
  RealProbes(const Options& opts, const std::map<std::string, std::string>& env) : env_(env) {
    ropts_.insecure_registries = opts.insecure_registries;
    ropts_.ca_file = opts.registry_ca;
    // Doctor reports; it does not wait out a dead registry with the build's retry budget.
    ropts_.retry.max_attempts = 1;
  }
  sys::ProbeOutcome Ptrace(bool seccomp_trace) override { return sys::ProbePtrace(seccomp_trace); }
  sys::ProbeOutcome Seccomp() override { return sys::ProbeSeccompFilter(); }
  sys::NotifyProbe SeccompNotify() override { return sys::ProbeSeccompNotify(); }
  sys::ProbeOutcome UserNamespace() override { return sys::ProbeUserNamespace(); }
  Result<sys::FsInfo> Filesystem(const std::string& path) override {
    return sys::FilesystemInfo(path);
  }
  Result<sys::XattrSupport> Xattrs(const std::string& dir) override {
    return sys::ProbeXattrs(dir);
  }
  Status Writable(const std::string& dir) override {
    if (::access(dir.c_str(), W_OK | X_OK) != 0) return SysError("access", dir);
    return Ok();
  }
  std::string ReadSmallFile(const std::string& path) override {
    auto t = ReadFile(path);
    return t.ok() ? *t : "";
  }
  RegistryAccess Registry(const std::string& text) override {
    RegistryAccess a;
    auto ref = registry::ParseReference(text);
    if (!ref.ok()) {
      a.parse = ref.error();
      return a;
    }
    a.registry = ref->registry;
    a.name = ref->Name();
    registry::CredentialEnv cenv;
    cenv.vars = env_;
    auto cred = registry::LookupCredential(ref->registry, cenv);
    if (!cred.ok()) {
      a.credential_lookup = cred.error();
    } else if (*cred) {
      a.credential_source = (*cred)->source.empty() ? "a credential store" : (*cred)->source;
    }
    auto client = registry::RegistryClient::Create(ref->registry, ropts_, cenv);
    if (!client.ok()) {
      a.endpoint = client.error();
      return a;
    }
    a.endpoint = (*client)->PingedEndpoint();
    if (!a.endpoint.ok()) return a;
    a.asks_for_auth = (*client)->AsksForAuth();
    auto head = (*client)->HeadManifest(ref->repository, ref->Identifier());
    if (!head.ok()) {
      a.pull = head.error();
    } else {
      a.manifest_exists = head->has_value();
    }
    a.push = (*client)->CheckPushAccess(ref->repository);
    return a;
  }

 private:
  const std::map<std::string, std::string>& env_;
  registry::RegistryOptions ropts_;
};

}  // namespace

int Doctor(const Options& opts, const std::map<std::string, std::string>& env) {
  DoctorInputs in;
  auto root = ChooseStateRoot(env);
  if (root.ok()) {
    in.state_root = root->path;
    in.state_root_source = root->source;
  } else {
    in.state_root = root.error();
  }
  auto tmp = env.find("TMPDIR");
  in.tmp_dir = tmp != env.end() && !tmp->second.empty() ? tmp->second : "/tmp";
  in.refs = opts.doctor_refs;
  in.root = ::geteuid() == 0;
  RealProbes probes(opts, env);
  DoctorReport report = RunDoctor(probes, in);
  std::cout << FormatReport(report);
  std::cout.flush();
  return report.any_failed() ? 1 : 0;
}

}  // namespace ocibuild::cli
