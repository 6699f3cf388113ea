#include "builder/run_step.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>
#include <thread>

#include "builder/copy_files.h"
#include "builder/shared_tree_guard.h"
#include "dockerfile-parser/path_match.h"
#include "oci/platform.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

std::vector<std::string> StageShell(const StageState& s) {
  if (s.config.config.shell && !s.config.config.shell->empty()) return *s.config.config.shell;
  return {"/bin/sh", "-c"};
}

// Makes the missing parent directories of a mount target, recording them in `made`.
Status MakeMountParents(const StageState& stage, const std::string& target,
                        std::vector<std::string>* made) {
  std::string rel = dockerfile::CleanPath(target);
  auto parts = Split(rel.size() > 1 ? rel.substr(1) : "", '/');
  if (!parts.empty()) parts.pop_back();
  std::string cur;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    cur = cur.empty() ? p : cur + "/" + p;
    if (stage.root->OpenAt(cur, O_PATH).ok()) continue;
    OCIB_ASSIGN_OR_RETURN(UniqueFd fd, stage.root->MkdirAll(cur, 0755));
    made->push_back(cur);
  }
  return Ok();
}

void RemoveMountStubs(const StageState& stage, const std::vector<std::string>& stubs) {
  for (auto it = stubs.rbegin(); it != stubs.rend(); ++it) {
    auto parent = stage.root->OpenParent(*it);
    if (parent.ok()) (void)::unlinkat(parent->dir.get(), parent->name.c_str(), AT_REMOVEDIR);
  }
}

void SetEnv(std::vector<std::string>& env, const std::string& k, const std::string& v,
            bool override_existing) {
  std::string prefix = k + "=";
  for (auto& e : env) {
    if (StartsWith(e, prefix)) {
      if (override_existing) e = prefix + v;
      return;
    }
  }
  env.push_back(prefix + v);
}

// The image's ENV, then the stage's ARGs where ENV does not set them (ENV wins).
std::vector<std::string> StepEnv(const StageState& stage) {
  std::vector<std::string> env = stage.config.config.env;
  for (const auto& [k, v] : stage.args.items()) SetEnv(env, k, v, false);
  return env;
}

std::string MountTarget(const dockerfile::Mount& m, const std::string& cwd) {
  return StartsWith(m.target, "/") ? m.target : JoinPath(cwd, m.target);
}

std::string Cwd(const StageState& s) {
  return s.config.config.working_dir.empty() ? "/" : s.config.config.working_dir;
}

std::string CleanRel(const std::string& p) {
  std::string rel = dockerfile::CleanPath(p.empty() ? "/" : p);
  while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
  return rel;
}

// A heredoc-only RUN runs its body; with a shebang, as a file (BuildKit's rules).
struct HeredocPlan {
  std::vector<std::string> args;
  std::string script_name;  // set when the body runs as /dev/pipes/<name>
  std::string script;
};

Result<HeredocPlan> PlanHeredocs(const dockerfile::CommandLine& cmd) {
  HeredocPlan hp;
  hp.args = cmd.args;
  const auto& files = cmd.files;
  if (files.empty()) return hp;
  if (cmd.args.size() != 1 || !cmd.shell_form)
    return Error{"RUN with heredocs needs the shell form"};
  std::string trimmed(TrimSpace(cmd.args[0]));
  // "RUN <<EOF" alone runs the body; "RUN <<EOF sh > /out" (more than the one word after
  // "<<") is a command line for the shell, heredoc included, as BuildKit tells them apart.
  bool only_heredoc = files.size() == 1 && dockerfile::IsHeredocWord(trimmed);
  if (only_heredoc) {
    size_t i = trimmed.find("<<") + 2;
    if (i < trimmed.size() && trimmed[i] == '-') ++i;
    dockerfile::ShellLex lex;
    auto words = lex.ProcessWords(trimmed.substr(i), dockerfile::Env());
    only_heredoc = words.ok() && words->size() == 1;
  }
  if (only_heredoc) {
    std::string body =
        files[0].chomp ? dockerfile::ChompHeredocContent(files[0].content) : files[0].content;
    if (StartsWith(body, "#!")) {
      hp.script_name = files[0].name;
      hp.script = body;
      hp.args = {"/dev/pipes/" + files[0].name};
    } else {
      hp.args = {body};
    }
    return hp;
  }
  std::string full = cmd.args[0];
  for (const auto& f : files) full += "\n" + f.content + f.name;
  hp.args = {full};
  return hp;
}

std::string EffectiveNetwork(const dockerfile::RunInstr& run, const RunEnvironment& renv) {
  return run.network == "default" ? renv.default_network : run.network;
}

}  // namespace

Result<std::string> EmulatorFor(const std::string& arch) {
  oci::Platform host = oci::Platform::Host();
  if (arch.empty() || arch == host.architecture) return std::string();
  // OCI architecture -> qemu's name for it (Debian's qemu-user-static ships qemu-NAME-static).
  static const std::map<std::string, std::string> kQemu = {
      {"amd64", "x86_64"},    {"arm64", "aarch64"},     {"arm", "arm"},
      {"386", "i386"},        {"ppc64le", "ppc64le"},   {"s390x", "s390x"},
      {"riscv64", "riscv64"}, {"mips64le", "mips64el"}, {"loong64", "loongarch64"}};
  auto it = kQemu.find(arch);
  if (it == kQemu.end())
    return Error{"RUN for architecture " + arch + ": no qemu-user emulator known for it"};
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/usr/libexec/qemu-binfmt"}) {
    for (const std::string& name : {"qemu-" + it->second + "-static", "qemu-" + it->second}) {
      std::string p = JoinPath(dir, name);
      if (::access(p.c_str(), X_OK) == 0) return p;
    }
  }
  return Error{"RUN for linux/" + arch + " on this " + host.architecture + " machine needs qemu-" +
               it->second + "-static (Debian's qemu-user-static package), which is not installed"};
}

Result<RunIdentity> IdentifyRun(const dockerfile::RunInstr& run, const StageState& stage,
                                const RunEnvironment& renv) {
  RunIdentity id;
  OCIB_ASSIGN_OR_RETURN(HeredocPlan hp, PlanHeredocs(run.command));
  if (!hp.script_name.empty() || !run.command.shell_form) {
    id.argv = hp.args;
  } else {
    id.argv = StageShell(stage);
    id.argv.insert(id.argv.end(), hp.args.begin(), hp.args.end());
  }
  if (id.argv.empty()) return Error{"RUN with an empty command"};
  std::string cwd = Cwd(stage);
  nlohmann::json mounts = nlohmann::json::array();
  for (const auto& m : run.mounts) {
    nlohmann::json mk = {{"type", m.type}, {"target", MountTarget(m, cwd)}};
    if (m.type == "cache" || m.type == "secret" || m.type == "ssh") mk["id"] = m.id;
    if (m.type == "cache") {
      // As BuildKit's exec op digest: the mount's options are part of the step.
      mk["source"] = m.source;
      mk["sharing"] = m.sharing;
      if (m.uid) mk["uid"] = *m.uid;
      if (m.gid) mk["gid"] = *m.gid;
      if (m.mode) mk["mode"] = *m.mode;
    }
    if (m.type == "bind") {
      if (m.from.empty()) {
        OCIB_ASSIGN_OR_RETURN(auto matches,
                              renv.context->Resolve(m.source.empty() ? "/" : m.source));
        OCIB_ASSIGN_OR_RETURN(std::string d, renv.context->Digest(matches, {}));
        mk["digest"] = d;
      } else {
        OCIB_ASSIGN_OR_RETURN(StageState * from, renv.find_stage(m.from));
        // By content, as BuildKit: an unrelated change in the other stage keeps the step.
        OCIB_ASSIGN_OR_RETURN(mk["digest"], renv.mount_digest(*from, CleanRel(m.source)));
      }
    }
    mounts.push_back(mk);
  }
  nlohmann::json key = {{"op", "run"},
                        {"argv", id.argv},
                        {"env", StepEnv(stage)},
                        {"user", stage.config.config.user},
                        {"cwd", cwd},
                        {"network", run.network},
                        {"mounts", mounts}};
  // Only what differs from a plain build enters the key, so existing cache entries stay valid.
  if (EffectiveNetwork(run, renv) != run.network && run.network == "default" &&
      renv.default_network != "default")
    key["network"] = EffectiveNetwork(run, renv);
  if (renv.add_hosts && !renv.add_hosts->empty()) {
    nlohmann::json hosts = nlohmann::json::array();
    for (const auto& [h, ip] : *renv.add_hosts) hosts.push_back(h + "=" + ip);
    key["add_hosts"] = hosts;
  }
  if (!hp.script_name.empty()) key["script"] = hp.script;
  id.key = std::move(key);
  // History: BuildKit's "RUN |N K=V ... argv # buildkit", with the stage's ARGs.
  std::string cb = "RUN ";
  if (!stage.args.items().empty()) {
    cb += "|" + std::to_string(stage.args.items().size());
    for (const auto& [k, v] : stage.args.items()) cb += " " + k + "=" + v;
    cb += " ";
  }
  id.created_by = cb + Join(id.argv, " ") + " # buildkit";
  return id;
}

Result<PlannedRun> PlanRun(const dockerfile::RunInstr& run, const RunIdentity& id,
                           StageState& stage, const RunEnvironment& renv) {
  PlannedRun out;
  sandbox::RunSpec& spec = out.spec;
  spec.argv = id.argv;
  // Private copies of /etc/hosts, /etc/resolv.conf and /dev/shm: a step must never write the
  // host's, even when the builder runs as real root.
  std::string private_dir = JoinPath(renv.scratch, "private");
  OCIB_TRY(MakeDirs(private_dir, 0755));
  std::vector<sandbox::PathMapping> maps = sandbox::DefaultMappings(private_dir);
  // BuildKit's container hostname: BUILDKIT_SANDBOX_HOSTNAME or "buildkitsandbox", in the
  // /etc/hosts the step sees, which is BuildKit's, not the host's. (Shells take $HOSTNAME from
  // uname(2), which is the sandbox's to fake.)
  std::string hostname = "buildkitsandbox";
  if (auto it = renv.plan->build_args.find("BUILDKIT_SANDBOX_HOSTNAME");
      it != renv.plan->build_args.end() && !it->second.empty())
    hostname = it->second;
  {
    std::string hosts = JoinPath(private_dir, "hosts");
    OCIB_TRY(WriteFile(
        hosts, "127.0.0.1\tlocalhost " + hostname + "\n::1\tlocalhost ip6-localhost ip6-loopback\n",
        0644));
    bool mapped = false;
    for (auto& m : maps) {
      if (m.guest == "/etc/hosts") {
        m.host = hosts;
        mapped = true;
      }
    }
    if (!mapped) maps.push_back({"/etc/hosts", hosts});
  }
  out.spec.hostname = hostname;

  // What BuildKit's container runtime leaves in the rootfs: the mount points /dev, /proc and
  // /sys (made when the image has none, and kept in the step's layer), and /etc touched by the
  // /etc/hosts and /etc/resolv.conf stubs when the image has neither file.
  for (const char* d : {"dev", "proc", "sys"}) {
    if (stage.root->OpenAt(d, O_PATH | O_NOFOLLOW).ok()) continue;
    OCIB_ASSIGN_OR_RETURN(UniqueFd fd, stage.root->MkdirAll(d, 0755));
  }
  // With no /etc at all, BuildKit removes the /etc it made for the stubs (recursively), and
  // nothing is left.
  if (stage.root->OpenAt("etc", O_PATH | O_DIRECTORY).ok())
    for (const char* f : {"etc/hosts", "etc/resolv.conf"})
      if (!stage.root->OpenAt(f, O_PATH).ok()) out.touch_etc = true;
  // An image without /etc (FROM scratch) gets a mount stub for /etc/hosts and /etc/resolv.conf,
  // removed after the step when still empty, as in BuildKit.
  OCIB_TRY(MakeMountParents(stage, "/etc/hosts", &out.mount_stubs));
  // --add-host: appended to the step's /etc/hosts ("IP<TAB>HOST", as BuildKit writes them),
  // never to the host's.
  if (renv.add_hosts && !renv.add_hosts->empty()) {
    std::string hosts_copy = JoinPath(private_dir, "hosts");
    auto current = ReadFile(hosts_copy);
    std::string text = current.ok() ? *current : std::string();
    if (!text.empty() && text.back() != '\n') text += "\n";
    for (const auto& [host, ip] : *renv.add_hosts) text += ip + "\t" + host + "\n";
    OCIB_TRY(WriteFile(hosts_copy, text, 0644));
  }

  OCIB_ASSIGN_OR_RETURN(HeredocPlan hp, PlanHeredocs(run.command));
  if (!hp.script_name.empty()) {
    std::string dir = JoinPath(renv.scratch, "pipes");
    OCIB_TRY(MakeDirs(dir, 0755));
    OCIB_TRY(WriteFile(JoinPath(dir, hp.script_name), hp.script, 0755));
    maps.push_back({"/dev/pipes", dir});
  }

  std::vector<std::string> env = StepEnv(stage);
  // Proxy build args reach every RUN under both spellings (BuildKit's llb.ProxyEnv), without
  // an ARG and outside the cache key; of two spellings given, the one sorting last wins.
  {
    std::map<std::string, std::string> proxies;  // lower-case name -> value
    std::vector<std::pair<std::string, std::string>> given = renv.plan->proxy_env;
    std::sort(given.begin(), given.end());
    for (const auto& [k, v] : given) proxies[ToLower(k)] = v;
    for (const auto& [k, v] : proxies) {
      std::string upper = k;
      for (auto& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      SetEnv(env, upper, v, false);
      SetEnv(env, k, v, false);
    }
  }
  SetEnv(env, "PATH", kDefaultPath, false);
  OCIB_ASSIGN_OR_RETURN(UserDb users, stage.Users());
  auto who = users.ResolveUser(stage.config.config.user);
  if (!who.ok()) return std::move(who).error();
  SetEnv(env, "HOME", who->home, false);
  spec.uid = who->uid;
  spec.gid = who->gid;
  spec.groups = who->groups;
  spec.cwd = Cwd(stage);
  spec.umask = 022;
  spec.rootfs = stage.rootfs();
  spec.network = EffectiveNetwork(run, renv) != "none";
  OCIB_ASSIGN_OR_RETURN(spec.emulator, EmulatorFor(stage.config.architecture));

  // Mounts become path mappings: none of them is inside the rootfs, so none is in the layer.
  int n = 0;
  bool ssh_sock_set = false;  // SSH_AUTH_SOCK names the first ssh mount, as in BuildKit
  for (const auto& m : run.mounts) {
    std::string target = MountTarget(m, spec.cwd);
    std::string host = JoinPath(renv.scratch, "mount-" + std::to_string(n++));
    // Owners and modes of the mount's files as the step sees them (the sandbox loads the store
    // for this mount and saves it back): a mount is never described by the rootfs's store.
    std::string store_path;
    oci::MetaStore mount_store;
    int64_t tmpfs_size = -1;
    if (m.type == "cache") {
      std::string dir = JoinPath(renv.mounts_root, "cache/" + Sha256::HexOf(m.id).substr(0, 24));
      // Kept beside the cache: owners the steps give its files last as long as the cache.
      store_path = dir + ".metastore";
      if (renv.reset_cache && renv.reset_cache(m.id)) {
        OCIB_TRY(RemoveAll(dir));
        (void)::unlink(store_path.c_str());
      }
      if (!PathExists(dir)) {
        // A new cache: uid, gid and mode (0755 by default) are its root's, as BuildKit makes it.
        (void)::unlink(store_path.c_str());
        OCIB_TRY(MakeDirs(dir, 0755));
        struct stat st;
        if (::stat(dir.c_str(), &st) != 0) return SysError("stat", dir);
        oci::FileMeta root_meta;
        root_meta.uid = m.uid.value_or(0);
        root_meta.gid = m.gid.value_or(0);
        root_meta.mode = S_IFDIR | (m.mode.value_or(0755) & 07777);
        oci::MetaStore fresh;
        fresh.Set(st.st_ino, root_meta);
        OCIB_TRY(fresh.Save(store_path));
      }
      host = dir;
      if (!m.source.empty()) {
        // source= mounts a directory inside the cache, resolved in it: a symlink cannot lead
        // out of the cache.
        OCIB_ASSIGN_OR_RETURN(oci::RootDir cache_root, oci::RootDir::Open(dir));
        std::string rel = CleanRel(m.source);
        auto sub = cache_root.OpenAt(rel, O_PATH | O_DIRECTORY);
        if (!sub.ok())
          return Error{"cache mount " + m.id + ": source " + m.source +
                       " is not a directory inside the cache"};
        char resolved[PATH_MAX];
        std::string proc = "/proc/self/fd/" + std::to_string(sub->get());
        ssize_t n = ::readlink(proc.c_str(), resolved, sizeof resolved - 1);
        if (n <= 0) return SysError("readlink", proc);
        host.assign(resolved, static_cast<size_t>(n));
        if (!StartsWith(host + "/", dir + "/"))
          return Error{"cache mount " + m.id + ": source " + m.source + " leaves the cache"};
      }
    } else if (m.type == "tmpfs") {
      OCIB_TRY(MakeDirs(host, 0755));
      tmpfs_size = m.size_limit;
    } else if (m.type == "secret") {
      const std::string* secret = nullptr;
      if (renv.secrets) {
        auto it = renv.secrets->find(m.id);
        if (it != renv.secrets->end()) secret = &it->second;
      }
      if (!secret) {
        if (m.required)
          return Error{"secret " + m.id + ": not found (pass --secret id=" + m.id +
                       ",src=FILE or env=VAR)"};
        continue;
      }
      out.secret_values.push_back(*secret);
      if (m.env) SetEnv(env, *m.env, *secret, true);
      if (m.env && m.target.empty()) continue;
      OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(host, O_WRONLY | O_CREAT | O_EXCL, 0600));
      OCIB_TRY(WriteAll(fd.get(), *secret, "secret " + m.id));
      // BuildKit's secret file: 0400 root:root unless mode, uid, gid say otherwise.
      struct stat st;
      if (::fstat(fd.get(), &st) != 0) return SysError("fstat", "secret " + m.id);
      oci::FileMeta sm;
      sm.uid = m.uid.value_or(0);
      sm.gid = m.gid.value_or(0);
      sm.mode = S_IFREG | (m.mode.value_or(0400) & 07777);
      mount_store.Set(st.st_ino, sm);
    } else if (m.type == "bind") {
      // A private copy: writes (allowed with rw) are thrown away and never reach the source.
      OCIB_TRY(MakeDirs(host, 0755));
      OCIB_ASSIGN_OR_RETURN(oci::RootDir dst, oci::RootDir::Open(host));
      CopyOptions co;
      co.dest = "/";
      std::optional<oci::RootDir> croot;
      CopySourceTree src;
      if (m.from.empty()) {
        OCIB_ASSIGN_OR_RETURN(auto matches,
                              renv.context->Resolve(m.source.empty() ? "/" : m.source));
        OCIB_ASSIGN_OR_RETURN(oci::RootDir r, oci::RootDir::Open(renv.context->dir()));
        croot.emplace(std::move(r));
        src = CopySourceTree{&*croot, nullptr, renv.context, matches};
      } else {
        OCIB_ASSIGN_OR_RETURN(StageState * from, renv.find_stage(m.from));
        OCIB_TRY(renv.materialize(*from));
        std::string rel = CleanRel(m.source);
        OCIB_ASSIGN_OR_RETURN(UniqueFd probe, from->root->OpenAt(rel, O_PATH));
        struct stat st;
        if (::fstat(probe.get(), &st) != 0) return SysError("stat", "/" + rel);
        src = CopySourceTree{&*from->root,
                             from->store.get(),
                             nullptr,
                             {SourceMatch{rel.empty() ? "." : rel, S_ISDIR(st.st_mode)}}};
      }
      if (src.matches.size() == 1 && !src.matches[0].is_dir) {
        co.dest = "/" + Split(src.matches[0].rel, '/').back();
        host = JoinPath(host, co.dest);
      }
      // The copied files keep their owners and modes (another stage's) as the step sees them.
      OCIB_TRY(CopyInto(dst, mount_store, src, co));
    } else if (m.type == "ssh") {
      // The agent's socket itself appears at the target: the sandbox translates the path of
      // connect(2), and the agent (never the keys) stays on the host, as with BuildKit.
      const std::string* sock = nullptr;
      if (renv.ssh) {
        auto it = renv.ssh->find(m.id);
        if (it != renv.ssh->end()) sock = &it->second;
      }
      if (!sock) {
        if (m.required)
          return Error{"ssh agent " + m.id + " is required but was not forwarded (pass --ssh " +
                       m.id + "[=SOCKET])"};
        continue;
      }
      struct stat st;
      if (::stat(sock->c_str(), &st) != 0) return SysError("stat", "--ssh " + m.id + "=" + *sock);
      if (!S_ISSOCK(st.st_mode))
        return Error{"--ssh " + m.id + "=" + *sock +
                     ": not a socket; ocibuild forwards an ssh-agent socket, not key files"};
      host = *sock;
      // The socket as the step sees it: 0600 root:root unless mode, uid, gid say otherwise.
      oci::FileMeta sm;
      sm.uid = m.uid.value_or(0);
      sm.gid = m.gid.value_or(0);
      sm.mode = S_IFSOCK | (m.mode.value_or(0600) & 07777);
      mount_store.Set(st.st_ino, sm);
      if (!ssh_sock_set) SetEnv(env, "SSH_AUTH_SOCK", target, true);
      ssh_sock_set = true;
    } else {
      return Error{"unknown mount type " + m.type};
    }
    OCIB_TRY(MakeMountParents(stage, target, &out.mount_stubs));
    if (store_path.empty() && !mount_store.entries().empty()) {
      store_path = JoinPath(renv.scratch, "mount-" + std::to_string(n - 1) + ".metastore");
      OCIB_TRY(mount_store.Save(store_path));
    }
    sandbox::PathMapping pm{target, host};
    pm.metastore_path = store_path;
    pm.tmpfs_size = tmpfs_size;
    // A RUN mount replaces what the runtime would mount there (a tmpfs on /dev/shm).
    std::erase_if(maps, [&](const sandbox::PathMapping& o) { return o.guest == target; });
    maps.push_back(std::move(pm));
  }
  spec.mappings = std::move(maps);
  spec.env = std::move(env);
  return out;
}

namespace {

// The supervisor's notes for the watch (RunSpec::tree_notes): the inodes that got another name
// go to `linked`; an error when the watch cannot be trusted (a file-attribute ioctl ran, or the
// notes are unreadable).
Status ReadTreeNotes(const std::string& path, std::vector<uint64_t>* linked) {
  OCIB_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  for (std::string_view line : Split(text, '\n')) {
    if (line.empty()) continue;
    if (line == "fileattr") return Error{"a file-attribute ioctl (chattr) ran in the step"};
    if (!StartsWith(line, "link ")) return Error{path + ": unexpected line " + std::string(line)};
    linked->push_back(std::strtoull(std::string(line.substr(5)).c_str(), nullptr, 10));
  }
  return Ok();
}

// OCIBUILD_TREE_WATCH=verify: the tree the delta describes must be the one a walk finds.
Status VerifyDelta(const oci::Snapshot& before, const oci::SnapshotDelta& delta,
                   const StageState& stage) {
  oci::Snapshot patched = before;
  oci::SnapshotDelta copy = delta;
  patched.Apply(std::move(copy));
  auto walked = oci::Snapshot::Take(*stage.root, *stage.store, before.size());
  if (!walked.ok()) return walked.error();
  auto diffs = oci::Snapshot::Differences(patched, *walked);
  if (diffs.empty()) return Ok();
  return Error{
      "OCIBUILD_TREE_WATCH=verify: the tree after the step differs from what the watch "
      "of its directories saw (first: watched, second: walked): " +
      Join(diffs, "; ")};
}

}  // namespace

Status RunPlanned(PlannedRun& run, StageState& stage, Progress& progress, int step) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return SysError("pipe2", "RUN output");
  UniqueFd rd(p[0]), wr(p[1]);
  run.spec.stdout_fd = wr.get();
  run.spec.stderr_fd = wr.get();
  run.spec.metastore_path = oci::MetaStore::PathFor(stage.rootfs());
  stage.after_step.reset();
  stage.after_delta.reset();
  std::optional<SharedTreeGuard> guard;
  if (!stage.shared_inodes.empty()) {
    run.spec.shared_inodes = &stage.shared_inodes;
    run.spec.copy_up_log = run.spec.metastore_path + ".copyups";
    OCIB_ASSIGN_OR_RETURN(SharedTreeGuard g,
                          SharedTreeGuard::Arm(stage.shared_inodes, stage.shared_nodes,
                                               stage.snapshot ? &*stage.snapshot : nullptr));
    guard = std::move(g);
    run.spec.foreign_links = &guard->foreign_links();
  }
  OCIB_TRY(stage.store->Save(run.spec.metastore_path));
  if (run.watch) run.spec.tree_notes = run.spec.metastore_path + ".treenotes";

  // The pump stops when the step has ended and the pipe is drained, not at EOF: while stages
  // build concurrently, another step's sandbox supervisor (forked while this pipe was open)
  // holds a copy of the write end until that other step ends.
  int sp[2];
  if (::pipe2(sp, O_CLOEXEC) != 0) return SysError("pipe2", "RUN output");
  UniqueFd stop_rd(sp[0]), stop_wr(sp[1]);
  auto emit = [&](const char* data, ssize_t n) {
    std::string chunk(data, static_cast<size_t>(n));
    for (const auto& s : run.secret_values) {
      if (s.empty()) continue;
      for (size_t i; (i = chunk.find(s)) != std::string::npos;) chunk.replace(i, s.size(), "****");
    }
    progress.StepOutput(step, chunk);
  };
  std::thread pump([&] {
    char buf[16384];
    for (;;) {
      struct pollfd fds[2] = {{rd.get(), POLLIN, 0}, {stop_rd.get(), POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = ::read(rd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        emit(buf, n);
        continue;
      }
      if (fds[1].revents) {
        // The step's processes are gone: what they wrote is in the pipe already.
        ::fcntl(rd.get(), F_SETFL, O_NONBLOCK);
        for (ssize_t n; (n = ::read(rd.get(), buf, sizeof buf)) > 0;) emit(buf, n);
        break;
      }
    }
  });
  auto res = sandbox::RunStep(run.spec);
  RemoveMountStubs(stage, run.mount_stubs);
  if (run.touch_etc) {
    auto etc = stage.root->OpenAt("etc", O_RDONLY | O_DIRECTORY);
    if (etc.ok()) ::futimens(etc->get(), nullptr);
  }
  wr.reset();
  (void)!::write(stop_wr.get(), "x", 1);
  pump.join();
  std::optional<Result<TreeChanges>> watched;
  if (run.watch) watched = run.watch->Finish();
  // What the watch cannot see, from the supervisor: names added to inodes, and chattr (which
  // moves ctimes without an event: then the tree is walked). A process that outlived the step
  // could still write: walked too.
  std::vector<uint64_t> linked;
  if (watched && watched->ok()) {
    auto notes = ReadTreeNotes(run.spec.tree_notes, &linked);
    if (!notes.ok())
      watched = notes.error();
    else if (res.ok() && res->survivors > 0)
      watched = Error{"a process of the step outlived it"};
  }
  if (!run.spec.tree_notes.empty()) ::unlink(run.spec.tree_notes.c_str());
  auto loaded = oci::MetaStore::Load(run.spec.metastore_path);
  ::unlink(run.spec.metastore_path.c_str());
  if (loaded.ok()) *stage.store = std::move(*loaded);
  // The tree as the step left it, read once for the guard and for the layer's diff (the commit
  // takes it from here): what the watch saw change, else a walk (with the guard; without it the
  // commit walks).
  std::optional<oci::Snapshot> after;
  std::optional<oci::SnapshotDelta> delta;
  Status verified = Ok();
  if (loaded.ok() && res.ok() && res->exit_code == 0 && stage.snapshot) {
    if (watched && watched->ok()) {
      auto d = oci::Snapshot::Changes(*stage.snapshot, *stage.root, *stage.store,
                                      (*watched)->restat, (*watched)->rewalk, linked);
      if (d.ok()) {
        delta = std::move(*d);
        if (run.verify_watch) verified = VerifyDelta(*stage.snapshot, *delta, stage);
      }
    }
    if (!delta && guard) {
      auto snap = oci::Snapshot::Take(*stage.root, *stage.store, stage.snapshot->size());
      if (snap.ok()) after = std::move(*snap);
    }
  }
  if (guard) {
    auto copy_ups = ReadCopyUpLog(run.spec.copy_up_log);
    ::unlink(run.spec.copy_up_log.c_str());
    auto changed = !copy_ups.ok() ? Result<std::vector<uint64_t>>(copy_ups.error())
                   : delta        ? guard->Changed(*copy_ups, *stage.snapshot, *delta)
                                  : guard->Changed(*copy_ups, after ? &*after : nullptr);
    if (!changed.ok() || !changed->empty()) {
      // A shared file changed in place: the entries that hold it must never be restored
      // again (the tree keeps its own names of the files). Unlinking their names moves the
      // ctimes the snapshot read: the commit takes its own.
      progress.StepOutput(
          step,
          "ocibuild: a file of the unpacked-tree cache changed in place during this step; "
          "the cache entry is dropped\n");
      for (const std::string& nodes : stage.shared_nodes) {
        size_t slash = nodes.rfind('/');
        (void)RemoveAll(nodes.substr(0, slash));
      }
      stage.shared_nodes.clear();
      stage.shared_inodes.clear();
      stage.cache_layers = 0;
      after.reset();
      delta.reset();
    }
  }
  stage.after_step = std::move(after);
  stage.after_delta = std::move(delta);
  OCIB_TRY(verified);
  if (!loaded.ok()) return loaded.error();
  if (!res.ok()) return res.error();
  if (res->exit_code != 0) {
    std::string msg =
        "process \"" + Join(run.spec.argv, " ") +
        "\" did not complete successfully: exit code: " + std::to_string(res->exit_code);
    auto tail = progress.TailOf(step, 10);
    if (!tail.empty()) {
      msg += "\n  last output:";
      for (const auto& l : tail) msg += "\n    " + l;
    }
    return Error{msg};
  }
  return Ok();
}

}  // namespace ocibuild::builder
