#include "cli/app.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iostream>
#include <regex>
#include <set>

#include <signal.h>

#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "builder/build_context.h"
#include "builder/descendants.h"
#include "builder/executor.h"
#include "builder/github_actions.h"
#include "builder/layer_cache.h"
#include "builder/outputs.h"
#include "builder/progress.h"
#include "builder/registry_cache.h"
#include "builder/registry_source.h"
#include "builder/remote_context.h"
#include "builder/rootfs_cache.h"
#include "builder/trash.h"
#include "cli/buildx.h"
#include "cli/doctor.h"
#include "cli/state_root.h"
#include "dockerfile-parser/plan.h"
#include "registry/pusher.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/sys/inode_flags.h"
#include "util/sys/probe.h"

namespace ocibuild::cli {
namespace {

struct DockerfileSource {
  std::string path;     // where it was read from
  std::string display;  // how errors name it: the -f value, or "Dockerfile" in the context
  std::string text;
};

Result<DockerfileSource> ReadDockerfile(const Options& opts) {
  DockerfileSource src;
  if (opts.dockerfile == "-") {
    src.path = src.display = "Dockerfile";
    std::string text, line;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, stdin)) > 0) text.append(buf, n);
    src.text = std::move(text);
    return src;
  }
  if (opts.dockerfile.empty()) {
    // Docker's default name, else the lower-case one (moby/moby#10858), as BuildKit looks.
    std::string name = "Dockerfile";
    if (!PathExists(JoinPath(opts.context_dir, name)) &&
        PathExists(JoinPath(opts.context_dir, "dockerfile")))
      name = "dockerfile";
    src.path = JoinPath(opts.context_dir, name);
    src.display = opts.context_dir == "." ? name : src.path;
  } else {
    src.path = src.display = opts.dockerfile;
  }
  auto text = ReadFile(src.path);
  if (!text.ok()) {
    if (text.error().sys_errno == ENOENT)
      return Error{"failed to read Dockerfile: " + src.path + ": no such file (use -f to name it)"};
    return text.error().Context("failed to read Dockerfile");
  }
  src.text = std::move(*text);
  return src;
}

dockerfile::PlanOptions PlanOptionsFrom(const Options& opts,
                                        const std::map<std::string, std::string>& env,
                                        const std::string& platform = "") {
  dockerfile::PlanOptions po;
  for (const auto& [k, v] : opts.build_args) po.build_args[k] = v;
  // As docker buildx does: $SOURCE_DATE_EPOCH is the build arg unless --build-arg gives one, so
  // it also overrides a Dockerfile's `ARG SOURCE_DATE_EPOCH=<default>`.
  if (auto e = env.find("SOURCE_DATE_EPOCH"); e != env.end())
    po.build_args.emplace("SOURCE_DATE_EPOCH", e->second);
  po.target = opts.target;
  po.target_platform = platform.empty() && !opts.platforms.empty() ? opts.platforms[0] : platform;
  return po;
}

// Prints an error; under GitHub Actions a Dockerfile:LINE:COL error also becomes an annotation
// on that line.
void ReportError(const Error& e, const builder::GithubActions& gha) {
  if (gha.active()) {
    static const std::regex kLoc(R"(^([^:\n]+):(\d+)(?::(\d+))?: ([^\n]*))");
    std::smatch m;
    std::string first = e.message.substr(0, e.message.find('\n'));
    if (std::regex_search(e.message, m, kLoc)) {
      // Annotations name files relative to the repository (the workspace), not to our cwd.
      std::string file = m[1].str();
      if (!file.starts_with("/")) {
        char cwd[4096];
        if (::getcwd(cwd, sizeof cwd)) file = JoinPath(cwd, file);
      }
      std::cout << gha.ErrorAnnotation(gha.AnnotationPath(file), std::stoi(m[2].str()),
                                       m[3].matched ? std::stoi(m[3].str()) : 0,
                                       // The rest (a failed RUN's last output) goes along.
                                       m[4].str() + e.message.substr(m.length(0)));
    } else {
      std::cout << gha.ErrorAnnotation("", 0, 0, first);
    }
    std::cout.flush();
  }
  std::cerr << "ocibuild: " << e.message
            << (e.message.empty() || e.message.back() != '\n' ? "\n" : "");
}

int PrintPlan(const Options& opts, const std::map<std::string, std::string>& env,
              const builder::GithubActions& gha) {
  auto src = ReadDockerfile(opts);
  if (!src.ok()) {
    ReportError(src.error(), gha);
    return 1;
  }
  auto plan = dockerfile::PlanDockerfile(src->text, src->display, PlanOptionsFrom(opts, env));
  if (!plan.ok()) {
    ReportError(plan.error(), gha);
    return 1;
  }
  for (const auto& w : plan->warnings) std::cerr << "WARNING: " << w << "\n";
  std::cout << dockerfile::FormatPlan(*plan);
  return 0;
}

// See cli/state_root.h: one filesystem for blobs, the layer cache, cache mounts and scratch.
Result<std::string> StateRoot(const std::map<std::string, std::string>& env) {
  OCIB_ASSIGN_OR_RETURN(auto root, ChooseStateRoot(env));
  return root.path;
}

Result<std::map<std::string, std::string>> ReadSecrets(
    const Options& opts, const std::map<std::string, std::string>& env) {
  std::map<std::string, std::string> out;
  for (const auto& s : opts.secrets) {
    if (!s.env.empty()) {
      auto it = env.find(s.env);
      if (it == env.end())
        return Error{"secret " + s.id + ": environment variable " + s.env + " is not set"};
      out[s.id] = it->second;
    } else {
      auto data = ReadFile(s.src);
      if (!data.ok()) return data.error().Context("secret " + s.id);
      out[s.id] = std::move(*data);
    }
  }
  return out;
}

builder::ProgressMode ProgressModeFor(const Options& opts,
                                      const std::map<std::string, std::string>& env,
                                      const builder::GithubActions& gha) {
  switch (opts.progress) {
    case Progress::kPlain:
      return builder::ProgressMode::kPlain;
    case Progress::kTty:
      return builder::ProgressMode::kTty;
    case Progress::kQuiet:
      return builder::ProgressMode::kQuiet;
    case Progress::kAuto:
      break;
  }
  if (gha.active()) return builder::ProgressMode::kGithubActions;
  auto term = env.find("TERM");
  bool dumb = term == env.end() || term->second == "dumb";
  return ::isatty(2) && !dumb ? builder::ProgressMode::kTty : builder::ProgressMode::kPlain;
}

// Ctrl-C and SIGTERM: the sandbox's processes are killed (and would die with ocibuild anyway:
// PDEATHSIG, PTRACE_O_EXITKILL), then the scratch directory goes to the trash and a detached
// emptier deletes it, so an interrupted build leaves nothing but trash being emptied; nothing is
// pushed, as pushes come after the build.
class InterruptCleanup {
 public:
  InterruptCleanup(std::string state_root, std::string dir)
      : state_root_(std::move(state_root)), dir_(std::move(dir)) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old_);
    thread_ = std::thread([this, set] {
      int sig = 0;
      if (sigwait(&set, &sig) != 0 || sig == 0 || stop_) return;
      std::fprintf(stderr, "\nocibuild: interrupted (%s); stopping RUN steps, removing %s\n",
                   strsignal(sig), dir_.c_str());
      // The steps' processes first: one still running would write into what is being removed.
      // An emptier is one of our descendants too: one the main thread started meanwhile (its
      // step failed when killed, and it disposed of the scratch) is killed here as well, so the
      // emptier is started after the killing, for whatever the trash holds by then.
      builder::KillDescendants();
      if (!builder::MoveToTrash(state_root_, dir_).ok() && PathExists(dir_)) (void)RemoveAll(dir_);
      if (builder::TrashHasEntries(state_root_)) (void)builder::SpawnTrashEmptier(state_root_);
      ::_exit(128 + sig);
    });
  }
  ~InterruptCleanup() {
    stop_ = true;
    pthread_kill(thread_.native_handle(), SIGTERM);
    thread_.join();
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  std::string state_root_;
  std::string dir_;
  sigset_t old_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The build's scratch directory at exit: renamed into the trash and deleted by a detached
// emptier after the result is reported (builder/trash.h), so the exit does not wait for tens of
// thousands of unlinks. After a full disk it is removed before exiting instead, with whatever
// trash is not being emptied already: the space is wanted back now.
class ScratchDisposal {
 public:
  ScratchDisposal(std::string state_root, TempDir& work, const bool& inline_removal,
                  const std::unique_ptr<builder::RootfsCache>& cache)
      : state_root_(std::move(state_root)), work_(work), inline_(inline_removal), cache_(cache) {}
  ~ScratchDisposal() {
    if (inline_) {
      (void)RemoveAll(work_.path());
      builder::EmptyTrashOptions o;
      o.wait = false;
      o.holds_cache_lock = cache_ != nullptr;
      o.cache_lock_nowait = true;
      (void)builder::EmptyTrash(state_root_, o);
      return;
    }
    if (!builder::MoveToTrash(state_root_, work_.path()).ok()) return;  // TempDir removes it
    work_.Release();
    (void)builder::SpawnTrashEmptier(state_root_);
  }

 private:
  std::string state_root_;
  TempDir& work_;
  const bool& inline_;
  const std::unique_ptr<builder::RootfsCache>& cache_;
};

// Under GitHub Actions: org.opencontainers.image.{source,revision,created} for the keys that
// neither --label nor a LABEL of the Dockerfile sets (base images' labels are overridden, as
// they describe another repository). `created` follows SOURCE_DATE_EPOCH to stay reproducible.
std::vector<std::pair<std::string, std::string>> ActionsLabels(
    const dockerfile::BuildPlan& plan, const Options& opts, const builder::GithubActions& gha,
    std::optional<int64_t> source_date_epoch) {
  if (!gha.active()) return {};
  std::vector<std::pair<std::string, std::string>> set = opts.labels;
  for (const auto& stage : plan.stages)
    for (const auto& step : stage.steps)
      if (const auto* l = std::get_if<dockerfile::LabelInstr>(&step.instr))
        for (const auto& kv : l->labels) set.emplace_back(kv.key, kv.value);
  std::time_t t =
      source_date_epoch ? static_cast<std::time_t>(*source_date_epoch) : std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char created[32];
  std::strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return gha.DefaultLabels(set, created);
}

// A full disk anywhere in a build (context copy, unpack, RUN, layer or blob writes) ends it with
// the failing path from the error itself, plus where ocibuild's space went and what to do.
// Nothing partial stays behind: blobs are written to temp names, the scratch dir is removed.
bool IsDiskFull(const Error& e) {
  return e.sys_errno == ENOSPC || e.sys_errno == EDQUOT ||
         e.message.find(std::strerror(ENOSPC)) != std::string::npos ||
         e.message.find(std::strerror(EDQUOT)) != std::string::npos;
}

Error WithDiskFullHint(const Error& e, const std::string& state_root) {
  if (!IsDiskFull(e) || state_root.empty()) return e;
  auto fs = sys::FilesystemInfo(state_root);
  Error out = e;
  if (!out.message.empty() && out.message.back() != '\n') out.message += "\n";
  // An output (-o dest=...) on another filesystem can fill up while the state directory has
  // room: then the advice is about that path, not OCIBUILD_ROOT.
  constexpr uint64_t kRoomLeft = 64ull << 20;
  if (fs.ok() && fs->free_bytes > kRoomLeft && e.message.find(state_root) == std::string::npos) {
    out.message +=
        "  no space left on device where the path above lives; ocibuild's state "
        "directory " +
        state_root + " still has " + HumanBytes(fs->free_bytes) +
        " free. Nothing partial was kept and no tag was moved.";
    return out;
  }
  std::string where =
      fs.ok() ? " (" + fs->type + ", " + HumanBytes(fs->total_bytes) + " in all)" : "";
  out.message += "  no space left on device: ocibuild's state directory " + state_root + where +
                 " holds the unpacked rootfs, layers and cache of this build; free space there, or "
                 "set OCIBUILD_ROOT to a directory on a bigger volume. Nothing partial was kept "
                 "and no tag was moved.";
  return out;
}

struct PushPlan {
  bool push = false;
  std::vector<builder::OutputRequest> files;  // oci, docker, tar, local
};

PushPlan PlanOutputs(const Options& opts) {
  PushPlan p;
  bool registry_output = false;
  for (const auto& o : opts.outputs) {
    if (o.type == "registry" || o.type == "image") {
      registry_output = true;
      auto it = o.attrs.find("push");
      if (o.type == "registry" || (it != o.attrs.end() && it->second == "true")) p.push = true;
    } else {
      p.files.push_back(builder::OutputRequest{o.type, o.attrs});
    }
  }
  if (opts.push) {
    p.push = *opts.push;
  } else if (!registry_output && opts.outputs.empty()) {
    p.push = !opts.tags.empty();
  }
  return p;
}

int Build(const Options& opts, const std::map<std::string, std::string>& env,
          const builder::GithubActions& gha) {
  auto t0 = std::chrono::steady_clock::now();
  builder::Progress* live_progress = nullptr;
  std::string state_root;              // for the disk-full hint, once chosen
  bool remove_scratch_inline = false;  // a full disk: the scratch space is wanted back at once
  auto fail = [&](const Error& err) {
    if (IsDiskFull(err)) remove_scratch_inline = true;
    const Error e = WithDiskFullHint(err, state_root);
    // The live view gives way first: its final frame and failed steps' logs, then the error.
    if (live_progress) live_progress->Close(/*build_failed=*/true);
    ReportError(e, gha);
    if (gha.active() && live_progress) {
      builder::BuildSummary sum;
      sum.names = opts.tags;
      sum.total_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      (void)gha.AppendSummary(
          "**Build failed:** " + e.message.substr(0, e.message.find('\n')) + "\n\n" +
          builder::GithubActions::SummaryMarkdown(sum, live_progress->Timings()));
    }
    return 1;
  };
  const std::string started_on = [] {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char b[32];
    std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::string(b);
  }();
  // 0. A remote context (git, http(s), "-") is fetched first: the Dockerfile may be in it.
  Options local_opts = opts;
  std::optional<builder::LocalContext> remote;
  std::optional<TempDir> remote_work;
  if (builder::IsRemoteContext(opts.context_dir)) {
    if (opts.context_dir == "-" && opts.dockerfile == "-")
      return fail(Error{"the build context and the Dockerfile cannot both come from stdin"});
    auto root = StateRoot(env);
    if (!root.ok()) return fail(root.error());
    std::string work_parent = JoinPath(*root, "work");
    if (Status st = MakeDirs(work_parent, 0700); !st.ok()) return fail(st.error());
    auto w = TempDir::Create("context-", work_parent);
    if (!w.ok()) return fail(w.error());
    remote_work.emplace(std::move(*w));
    auto lc = builder::FetchRemoteContext(opts.context_dir, remote_work->path(), STDIN_FILENO);
    if (!lc.ok()) return fail(lc.error().Context("build context " + opts.context_dir));
    remote = std::move(*lc);
    local_opts.context_dir = remote->root;
    if (remote->dockerfile) {
      // The source was a Dockerfile alone: -f names nothing then (docker ignores it too).
      std::string df = JoinPath(remote_work->path(), "Dockerfile");
      if (Status st = WriteFile(df, *remote->dockerfile); !st.ok()) return fail(st.error());
      local_opts.dockerfile = df;
    } else if (!opts.dockerfile.empty() && opts.dockerfile != "-") {
      // -f is relative to the remote context's root, as for docker build.
      local_opts.dockerfile = JoinPath(remote->root, opts.dockerfile);
    }
  }
  // 1. Dockerfile -> checks -> a plan per platform.
  auto src = ReadDockerfile(local_opts);
  if (!src.ok()) return fail(src.error());
  if (remote)
    src->display = opts.dockerfile.empty() || remote->dockerfile ? "Dockerfile" : opts.dockerfile;
  auto checks = CheckDockerfile(src->text, src->display, opts);
  if (!checks.ok()) return fail(checks.error());
  if (opts.call == "check") {
    // Plan errors still count as failures of the check, as BuildKit reports them.
    auto plan = dockerfile::PlanDockerfile(src->text, src->display, PlanOptionsFrom(opts, env));
    if (!plan.ok()) return fail(plan.error());
    return PrintCheckReport(*checks, gha, env);
  }
  // SOURCE_DATE_EPOCH=context or =<source stage>: the source's time (none for a local
  // directory), which stages that declare the ARG then see as a number. Fetched once.
  std::optional<std::optional<int64_t>> source_epoch;
  auto resolve_epoch = [&](dockerfile::BuildPlan& p) -> Status {
    if (!p.epoch_source) return Ok();
    if (!source_epoch) {
      std::optional<int64_t> epoch;
      if (p.epoch_source->context) {
        if (remote) epoch = remote->epoch;
      } else {
        OCIB_ASSIGN_OR_RETURN(std::string sroot, StateRoot(env));
        std::string work_parent = JoinPath(sroot, "work");
        OCIB_TRY(MakeDirs(work_parent, 0700));
        auto e =
            builder::RemoteSourceEpoch(p.epoch_source->url, p.epoch_source->checksum, work_parent);
        if (!e.ok()) return e.error().Context("SOURCE_DATE_EPOCH");
        epoch = *e;
      }
      source_epoch = epoch;
    }
    p.source_date_epoch = *source_epoch;
    std::string v = *source_epoch ? std::to_string(**source_epoch) : "";
    p.build_args["SOURCE_DATE_EPOCH"] = v;
    p.global_args.Set("SOURCE_DATE_EPOCH", v);
    return Ok();
  };
  std::vector<std::string> platforms = opts.platforms;
  if (platforms.empty()) platforms.push_back("");
  std::vector<std::unique_ptr<dockerfile::BuildPlan>> plans;
  for (const auto& p : platforms) {
    auto planned =
        dockerfile::PlanDockerfile(src->text, src->display, PlanOptionsFrom(opts, env, p));
    if (!planned.ok()) return fail(planned.error());
    if (Status st = resolve_epoch(*planned); !st.ok()) return fail(st.error());
    // Several platforms: every step says which one it is for, as BuildKit's progress does.
    if (platforms.size() > 1)
      for (auto& st : planned->stages) st.display_name = p + " " + st.display_name;
    plans.push_back(std::make_unique<dockerfile::BuildPlan>(std::move(*planned)));
  }
  dockerfile::BuildPlan* plan = plans[0].get();
  ReportCheckWarnings(*checks, src->path, gha, env);
  if (checks->config.error && !checks->warnings.empty()) {
    std::vector<std::string> rules;
    for (const auto& w : checks->warnings) rules.push_back(w.rule);
    return fail(Error{src->display + ":" + std::to_string(checks->warnings[0].line) +
                      ": lint violation found for rules: " + Join(rules, ", ") +
                      " (the check directive has error=true)"});
  }
  PushPlan outputs = PlanOutputs(opts);
  std::vector<registry::Reference> targets;
  for (const auto& t : opts.tags) {
    auto r = registry::ParseReference(t);
    if (!r.ok()) return fail(r.error().Context("-t " + t));
    targets.push_back(*r);
  }
  if (outputs.push && targets.empty())
    return fail(Error{"--push needs at least one -t/--tag to push to"});

  // 2. Context, state directories, secrets.
  auto context = builder::BuildContext::Open(local_opts.context_dir, src->path);
  if (!context.ok()) return fail(context.error());
  auto root = StateRoot(env);
  if (!root.ok()) return fail(root.error());
  state_root = *root;
  // A local context's file hashes are kept between builds (builder/context_hash_cache.h); a
  // fetched one is new every time.
  if (!remote) {
    if (auto f = builder::ContextHashFile(*root, local_opts.context_dir); f.ok())
      context->UseHashFile(*f);
  }
  auto cache_store = registry::BlobCache::Open(*root);
  if (!cache_store.ok()) return fail(cache_store.error().Context("opening the cache " + *root));
  auto layer_cache = builder::LayerCache::Open(JoinPath(*root, "cache"));
  if (!layer_cache.ok()) return fail(layer_cache.error());
  // Declared before the work directory: its trees share inodes with the cache, which must stay
  // locked until they are gone.
  std::unique_ptr<builder::RootfsCache> rootfs_cache;
  std::string rootfs_cache_warning;
  // --no-cache ignores the layer cache, not this one: an unpacked base image is no build result
  // (BuildKit keeps its snapshots too), and a tree is only restored for the very layers it holds.
  if (auto e = env.find("OCIBUILD_ROOTFS_CACHE"); e == env.end() || e->second != "0") {
    auto rc =
        builder::RootfsCache::Open(JoinPath(*root, "rootfs-cache"), 4, builder::TrashDir(*root));
    if (rc.ok()) {
      rootfs_cache = std::move(*rc);
    } else {
      rootfs_cache_warning = "the unpacked-rootfs cache is not used: " + rc.error().message;
    }
  }
  if (Status st = MakeDirs(JoinPath(*root, "work"), 0700); !st.ok()) return fail(st.error());
  // Each build's trees go to block groups the filesystem picks, not next to the trees the last
  // build just removed: ext4 without a journal skips every inode freed in the last 30 s when it
  // allocates one (recently_deleted), which made unpacking a base image 4-20x slower right after
  // a build had cleaned up. Only a hint (chattr +T); where it cannot be set nothing changes.
  if (auto wfd = OpenFile(JoinPath(*root, "work"), O_RDONLY | O_DIRECTORY); wfd.ok())
    (void)sys::SetTopDir(wfd->get());
  auto work = TempDir::Create("build-", JoinPath(*root, "work"));
  if (!work.ok()) return fail(work.error());
  InterruptCleanup cleanup(*root, work->path());
  ScratchDisposal disposal(*root, *work, remove_scratch_inline, rootfs_cache);
  // What an emptier that died (a container's end, a reboot) left behind.
  if (builder::TrashHasEntries(*root)) (void)builder::SpawnTrashEmptier(*root);
  auto secrets = ReadSecrets(opts, env);
  if (!secrets.ok()) return fail(secrets.error());

  // Masks first: the runner must know a secret before any line that could print it.
  for (const auto& [id, value] : *secrets) std::cout << gha.Mask(value);
  std::cout.flush();
  builder::ProgressOptions popts;
  // Colours only on a terminal, and never when NO_COLOR is set (https://no-color.org).
  auto no_color = env.find("NO_COLOR");
  popts.color = ::isatty(2) && (no_color == env.end() || no_color->second.empty());
  auto progress = builder::MakeProgress(ProgressModeFor(opts, env, gha), 2, popts);
  live_progress = progress.get();
  for (const auto& w : plan->warnings) progress->Warning(w);
  if (!rootfs_cache_warning.empty()) progress->Warning(rootfs_cache_warning);

  // 3. Execute.
  registry::RegistryOptions ropts;
  ropts.insecure_registries = opts.insecure_registries;
  ropts.ca_file = opts.registry_ca;
  registry::CredentialEnv cenv;
  cenv.vars = env;
  builder::RegistryImageSource images(**cache_store, ropts, cenv, progress.get());
  // Cache import: the step -> layer maps of --cache-from images (their layers come along).
  for (const auto& cf : opts.cache_from) {
    if (cf.type == "local") {
      std::string src = cf.attrs.at("src");
      auto tag = cf.attrs.find("tag");
      auto entries = builder::ImportCacheLayout(src, tag == cf.attrs.end() ? "latest" : tag->second,
                                                **cache_store);
      if (!entries.ok()) {
        progress->Warning("--cache-from " + src + ": " + entries.error().message);
        continue;
      }
      layer_cache->Import(*entries);
      continue;
    }
    if (cf.type != "registry") {
      progress->Warning("--cache-from type=" + cf.type + " is not supported yet; ignored");
      continue;
    }
    std::string ref = cf.attrs.at("ref");
    auto pulled = images.Pull(ref, oci::Platform::Host());
    if (!pulled.ok()) {
      // A missing cache is normal on a first build: warn and build without it.
      progress->Warning("--cache-from " + ref + ": " + pulled.error().message);
      continue;
    }
    auto entries = builder::ReadCacheEntries(pulled->config);
    if (!entries.ok()) {
      progress->Warning("--cache-from " + ref + ": " + entries.error().message);
      continue;
    }
    layer_cache->Import(*entries);
  }
  builder::ExecutorOptions eo;
  eo.labels = opts.labels;
  std::string created_label;
  eo.source_date_epoch = plan->source_date_epoch;
  for (auto& kv : ActionsLabels(*plan, opts, gha, eo.source_date_epoch)) eo.labels.push_back(kv);
  eo.no_cache = opts.no_cache;
  eo.rootfs_cache = rootfs_cache.get();
  if (auto e = env.find("OCIBUILD_ROOTFS_CACHE_SAVE_BYTES"); e != env.end() && !e->second.empty()) {
    if (e->second.find_first_not_of("0123456789") != std::string::npos)
      return fail(
          Error{"OCIBUILD_ROOTFS_CACHE_SAVE_BYTES=" + e->second + ": not a number of bytes"});
    eo.rootfs_cache_save_bytes = std::stoull(e->second);
  }
  // OCIBUILD_SCOPED_TREES=0: COPY and WORKDIR steps always work in the stage's whole tree.
  if (auto e = env.find("OCIBUILD_SCOPED_TREES"); e != env.end() && e->second == "0")
    eo.scoped_trees = false;
  // OCIBUILD_REUSE_BLOCKS=0: every layer compresses all its data (no blocks of earlier layers).
  if (auto e = env.find("OCIBUILD_REUSE_BLOCKS"); e != env.end() && e->second == "0")
    eo.reuse_blocks = false;
  // OCIBUILD_TREE_WATCH=0: RUN steps walk the tree for their changes; =verify: they also walk
  // it, and a difference from what the watch saw fails the step.
  if (auto e = env.find("OCIBUILD_TREE_WATCH"); e != env.end()) {
    if (e->second == "0")
      eo.tree_watch = builder::ExecutorOptions::TreeWatchMode::kOff;
    else if (e->second == "verify")
      eo.tree_watch = builder::ExecutorOptions::TreeWatchMode::kVerify;
  }
  if (auto e = env.find("OCIBUILD_LAYER_STATS"); e != env.end()) eo.layer_stats_path = e->second;
  eo.work_dir = work->path();
  eo.mounts_root = JoinPath(*root, "mounts");
  eo.secrets = *secrets;
  eo.ssh = opts.ssh;
  if (opts.compression == "zstd") eo.compression = oci::Compression::kZstd;
  if (opts.compression == "uncompressed") eo.compression = oci::Compression::kNone;
  eo.compression_level = opts.compression_level;
  eo.add_hosts = opts.add_hosts;
  if (!opts.network.empty()) eo.network = opts.network;
  eo.no_cache_stages.insert(opts.no_cache_filter.begin(), opts.no_cache_filter.end());
  for (const auto& [k, v] : opts.build_contexts) eo.build_contexts[k] = v;
  // One executor per platform, one after the other: stages that do not depend on the target
  // platform (FROM --platform=$BUILDPLATFORM ...) have the same cache keys on every platform,
  // so the second platform takes them from the cache.
  {
    // The steps after the build: one push per registry, one per cache export.
    std::set<std::string> registries;
    for (const auto& t : targets) registries.insert(t.registry);
    progress->PlanSteps((outputs.push ? static_cast<int>(registries.size()) : 0) +
                        static_cast<int>(opts.cache_to.size()));
  }
  std::vector<std::unique_ptr<builder::Executor>> executors;
  std::vector<builder::ExecutorOptions> per_platform_opts(plans.size(), eo);
  std::vector<builder::PlatformResult> built;
  for (size_t i = 0; i < plans.size(); ++i) {
    std::string pstr = plans[i]->target_platform.ToString();
    per_platform_opts[i].manifest_annotations = AnnotationsOf(opts, "manifest", pstr);
    if (plans.size() > 1) {
      // Each executor numbers its stage directories from 0: they must not share a directory.
      per_platform_opts[i].work_dir = JoinPath(work->path(), "platform-" + std::to_string(i));
      if (Status st = MakeDirs(per_platform_opts[i].work_dir, 0700); !st.ok())
        return fail(st.error());
    }
    executors.push_back(std::make_unique<builder::Executor>(*plans[i], *context,
                                                            per_platform_opts[i], **cache_store,
                                                            *layer_cache, &images, *progress));
    auto img = executors.back()->Build();
    if (!img.ok()) return fail(img.error());
    builder::PlatformResult pr;
    pr.platform = img->config.platform();
    pr.image = std::move(*img);
    pr.exec = executors.back().get();
    built.push_back(std::move(pr));
  }
  // Best effort: without the file the next build only reads the context again.
  (void)context->SaveHashes();
  AttestationContext actx;
  actx.dockerfile_text = src->text;
  actx.dockerfile_path = src->display;
  if (StartsWith(src->path, local_opts.context_dir + "/"))
    actx.dockerfile_path = src->path.substr(local_opts.context_dir.size() + 1);
  actx.started_on = started_on;
  actx.vcs = DetectVcs(local_opts.context_dir, env);
  actx.invocation_id =
      Sha256::HexOf(started_on + std::to_string(::getpid()) +
                    std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()))
          .substr(0, 25);
  actx.version = std::string(TrimSpace(VersionText().substr(9)));
  auto assembled = AssembleResult(**cache_store, std::move(built), opts, env, actx, *progress);
  if (!assembled.ok()) return fail(assembled.error());
  builder::BuildResult& result = *assembled;
  const builder::BuiltImage& first = result.images[0].image;
  const bool single = result.images.size() == 1;

  // 4. Outputs, then the push (last: a failed export never moves a tag).
  for (const auto& out : outputs.files) {
    Status st = builder::WriteOutput(out, result, **cache_store, opts.tags);
    if (!st.ok()) return fail(st.error());
  }
  std::string pushed_digest;
  if (outputs.push) {
    std::map<std::string, std::vector<registry::Reference>> by_registry;
    for (const auto& t : targets) by_registry[t.registry].push_back(t);
    for (const auto& [reg, refs] : by_registry) {
      auto client = images.Client(reg);
      if (!client.ok()) return fail(client.error());
      registry::PushOptions po;
      po.parallel_blobs = ropts.parallel_blobs;
      po.progress = builder::TransferReporter(progress.get(), "push");
      po.blob_sources = images.blob_sources();
      int pstep = progress->StepStarted("pushing " + Join(opts.tags, ", "));
      auto res = registry::Push(**client, **cache_store, result.root, refs, po);
      progress->StepFinished(pstep,
                             res.ok() ? builder::StepState::kDone : builder::StepState::kFailed);
      if (!res.ok()) return fail(res.error());
    }
    pushed_digest = result.root.digest.str();
  }

  // Cache export: every step this build used, as an image at each --cache-to ref.
  for (const auto& ct : opts.cache_to) {
    if (ct.type == "local") {
      std::string dest = ct.attrs.at("dest");
      auto tag = ct.attrs.find("tag");
      int pstep = progress->StepStarted("exporting cache to " + dest);
      auto desc = builder::WriteCacheImage(**cache_store, layer_cache->touched(),
                                           oci::Platform::Host(), first.config.created);
      Status st = desc.ok()
                      ? builder::ExportCacheLayout(**cache_store, *desc, dest,
                                                   tag == ct.attrs.end() ? "latest" : tag->second)
                      : Status(desc.error());
      progress->StepFinished(pstep,
                             st.ok() ? builder::StepState::kDone : builder::StepState::kFailed);
      if (!st.ok()) return fail(st.error().Context("--cache-to " + dest));
      continue;
    }
    if (ct.type != "registry") {
      progress->Warning("--cache-to type=" + ct.type + " is not supported yet; ignored");
      continue;
    }
    auto ref = registry::ParseReference(ct.attrs.at("ref"));
    if (!ref.ok()) return fail(ref.error().Context("--cache-to"));
    auto desc = builder::WriteCacheImage(**cache_store, layer_cache->touched(),
                                         oci::Platform::Host(), first.config.created);
    if (!desc.ok()) return fail(desc.error().Context("--cache-to"));
    auto client = images.Client(ref->registry);
    if (!client.ok()) return fail(client.error());
    registry::PushOptions po;
    po.parallel_blobs = ropts.parallel_blobs;
    po.progress = builder::TransferReporter(progress.get(), "cache");
    po.blob_sources = images.blob_sources();
    int pstep = progress->StepStarted("exporting cache to " + ref->String());
    auto res = registry::Push(**client, **cache_store, *desc, {*ref}, po);
    progress->StepFinished(pstep,
                           res.ok() ? builder::StepState::kDone : builder::StepState::kFailed);
    if (!res.ok()) return fail(res.error().Context("--cache-to"));
  }

  // 5. Files describing the result. As buildx: the digest is the root's (the index when there
  // is one); the image ID is the config's for one platform, the index's for several.
  const std::string root_digest = result.root.digest.str();
  const std::string image_id = single ? first.config_desc.digest.str() : root_digest;
  if (!opts.iidfile.empty()) {
    Status st = WriteFileAtomic(opts.iidfile, image_id);
    if (!st.ok()) return fail(st.error().Context("--iidfile"));
  }
  if (!opts.digest_file.empty()) {
    Status st = WriteFileAtomic(opts.digest_file, root_digest);
    if (!st.ok()) return fail(st.error().Context("--digest-file"));
  }
  nlohmann::json meta = {{"containerimage.digest", root_digest},
                         {"containerimage.descriptor",
                          {{"mediaType", result.root.media_type},
                           {"digest", root_digest},
                           {"size", result.root.size}}},
                         {"image.name", Join(opts.tags, ",")}};
  if (single) meta["containerimage.config.digest"] = first.config_desc.digest.str();
  if (!checks->warnings.empty()) {
    nlohmann::json w = nlohmann::json::array();
    for (const auto& x : checks->warnings)
      w.push_back({{"rule", x.rule}, {"detail", x.message}, {"url", x.url}, {"line", x.line}});
    meta["buildx.build.warnings"] = w;
  }
  if (!opts.metadata_file.empty()) {
    Status st = WriteFileAtomic(opts.metadata_file, meta.dump(2) + "\n");
    if (!st.ok()) return fail(st.error().Context("--metadata-file"));
  }
  if (gha.active()) {
    (void)gha.SetOutput("digest", root_digest);
    (void)gha.SetOutput("imageid", image_id);
    (void)gha.SetOutput("metadata", meta.dump());
  }
  builder::BuildSummary sum;
  sum.image_digest = root_digest;
  sum.config_digest = image_id;
  for (const auto& pr : result.images) {
    sum.image_size +=
        static_cast<uint64_t>(pr.image.config_desc.size + pr.image.manifest_desc.size);
    for (const auto& l : pr.image.manifest.layers) sum.image_size += static_cast<uint64_t>(l.size);
  }
  sum.names = opts.tags;
  sum.total_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  progress->Summary(sum);
  // DOCKER_BUILD_SUMMARY=false turns the job summary off, as in build-push-action.
  if (gha.active() &&
      ToLower(env.count("DOCKER_BUILD_SUMMARY") ? env.at("DOCKER_BUILD_SUMMARY") : "") != "false") {
    Status st =
        gha.AppendSummary(builder::GithubActions::SummaryMarkdown(sum, progress->Timings()));
    if (!st.ok()) progress->Warning("job summary: " + st.error().message);
  }
  return 0;
}

}  // namespace

int Run(const Options& opts, const std::map<std::string, std::string>& env) {
  builder::GithubActions gha(env);
  switch (opts.command) {
    case Command::kHelp:
      std::cout << UsageText();
      return 0;
    case Command::kVersion:
      std::cout << VersionText();
      return 0;
    case Command::kPrintPlan:
      return PrintPlan(opts, env, gha);
    case Command::kBuild:
      return Build(opts, env, gha);
    case Command::kDoctor:
      return Doctor(opts, env);
    case Command::kImagetoolsCreate:
      return ImagetoolsCreate(opts, env);
  }
  return 1;
}

}  // namespace ocibuild::cli
