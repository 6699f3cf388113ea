#include "builder/executor.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <set>
#include <thread>

#include "builder/copy_files.h"
#include "builder/descendants.h"
#include "builder/git_source.h"
#include "builder/precompressor.h"
#include "builder/run_step.h"
#include "builder/scoped_tree.h"
#include "builder/url_fetch.h"
#include "oci/image.h"
#include "oci/image_layout.h"
#include "oci/layer_applier.h"
#include "oci/precompressed_files.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

// Go's %q of a []string: ["a" "b"].
std::string GoQuotedList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += " ";
    out += "\"";
    for (char c : v[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += "\"";
  }
  return out + "]";
}

// Gives history entries without a time (config-only steps) one, as BuildKit's exporter does:
// the first new layer's time for those before it, else the time of the layer before them.
void NormalizeHistoryTimes(std::vector<oci::HistoryEntry>& history, const std::string& now) {
  std::string first_new;
  bool seen_missing = false;
  for (const auto& h : history) {
    if (h.created.empty()) {
      seen_missing = true;
    } else if (seen_missing) {
      first_new = h.created;
      break;
    }
  }
  if (first_new.empty()) {
    for (const auto& h : history)
      if (!h.created.empty()) first_new = h.created;
  }
  if (first_new.empty()) first_new = now;
  std::string cur = first_new;
  seen_missing = false;
  for (auto& h : history) {
    if (!h.created.empty()) {
      if (seen_missing) cur = h.created;
    } else {
      seen_missing = true;
      h.created = cur;
    }
  }
}

// BuildKit's "[stage N/M] " prefix, N padded to M's width.
std::string StepPrefix(const std::string& stage, int n, int total) {
  std::string num = std::to_string(n);
  size_t width = std::to_string(total).size();
  if (num.size() < width) num.insert(0, width - num.size(), ' ');
  return "[" + stage + " " + num + "/" + std::to_string(total) + "] ";
}

// Go's %v of a []string: [a b].
std::string GoList(const std::vector<std::string>& v) {
  return "[" + Join(v, " ") + "]";
}

oci::Platform ToPlatform(const dockerfile::BuildPlatform& p) {
  oci::Platform out;
  out.os = p.os;
  out.architecture = p.arch;
  out.variant = p.variant;
  return out;
}

// "80" -> "80/tcp"; "8000-8002/udp" -> three ports, as Docker's nat.ParsePortSpecs does.
Result<std::vector<std::string>> ExpandPorts(const std::string& spec) {
  auto [range, proto] = SplitOnce(spec, '/');
  if (proto.empty()) proto = "tcp";
  proto = ToLower(proto);
  if (proto != "tcp" && proto != "udp" && proto != "sctp")
    return Error{"invalid proto \"" + proto + "\" in EXPOSE " + spec};
  auto [lo_s, hi_s] = SplitOnce(range, '-');
  auto num = [&](const std::string& s) -> Result<int> {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 5)
      return Error{"invalid port \"" + spec + "\" in EXPOSE"};
    int v = std::stoi(s);
    if (v > 65535) return Error{"invalid port \"" + spec + "\" in EXPOSE: out of range"};
    return v;
  };
  OCIB_ASSIGN_OR_RETURN(int lo, num(lo_s));
  int hi = lo;
  if (!hi_s.empty()) {
    OCIB_ASSIGN_OR_RETURN(hi, num(hi_s));
  }
  if (hi < lo) return Error{"invalid port range \"" + spec + "\" in EXPOSE"};
  std::vector<std::string> out;
  for (int p = lo; p <= hi; ++p) out.push_back(std::to_string(p) + "/" + proto);
  return out;
}

// gzip, bzip2, xz, zstd magic, or "ustar" at offset 257: what ADD extracts.
bool LooksLikeArchive(std::string_view head) {
  auto starts = [&](std::string_view m) { return head.substr(0, m.size()) == m; };
  if (starts("\x1f\x8b") || starts("BZh") ||
      starts("\xfd"
             "7zXZ") ||
      starts("\x28\xb5\x2f\xfd"))
    return true;
  return head.size() >= 262 && head.substr(257, 5) == "ustar";
}

// CMD/ENTRYPOINT: the shell form runs under the image's SHELL (default /bin/sh -c).
std::vector<std::string> WithShell(const oci::ContainerConfig& c,
                                   const dockerfile::CommandLine& cmd) {
  if (!cmd.shell_form) return cmd.args;
  std::vector<std::string> out =
      c.shell && !c.shell->empty() ? *c.shell : std::vector<std::string>{"/bin/sh", "-c"};
  out.insert(out.end(), cmd.args.begin(), cmd.args.end());
  return out;
}

// Blocks for a RUN step's layer made while it runs (builder/precompressor.h): none when the
// layers are not gzip at the default level, or where no spill file can be made.
std::unique_ptr<oci::PrecompressedFiles> StartPrecompressing(const CommitOptions& c,
                                                             const std::string& dir) {
  if (c.layer.compression != oci::Compression::kGzip ||
      c.layer.level != oci::PrecompressedFiles::kLevel)
    return nullptr;
  auto p = oci::PrecompressedFiles::Create(dir);
  return p.ok() ? std::move(*p) : nullptr;
}

struct timespec Now() {
  struct timespec t;
  ::clock_gettime(CLOCK_REALTIME, &t);
  return t;
}

std::string JoinGuest(const std::string& cwd, const std::string& p) {
  if (StartsWith(p, "/")) return p;
  std::string base = cwd.empty() ? "/" : cwd;
  return base == "/" ? "/" + p : base + "/" + p;
}

// COPY --from's sources in the stage's (materialized) tree: the same wildcard and --parents rules
// as in the context.
Result<std::vector<SourceMatch>> StageSources(const StageState& from,
                                              const dockerfile::CopyInstr& c) {
  auto none = [](std::string_view) { return false; };
  auto not_found = [](const std::string& rel) {
    return Error{"\"/" + std::string(rel == "." ? "" : rel) + "\": not found", ENOENT};
  };
  std::vector<SourceMatch> out;
  for (const auto& src : c.sources) {
    OCIB_ASSIGN_OR_RETURN(auto m, c.parents ? ResolveParentsSource(*from.root, src, none, not_found)
                                            : ResolveSource(*from.root, src, none, not_found));
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

// What COPY --from copies, by content (TreeDigest of each match, behind a top-level link too):
// names, types, owners, modes, xattrs, link targets and contents, not times.
Result<std::string> StageSourcesDigest(const StageState& from, const dockerfile::CopyInstr& c) {
  OCIB_ASSIGN_OR_RETURN(std::vector<SourceMatch> matches, StageSources(from, c));
  Sha256 h;
  for (const auto& m : matches) {
    OCIB_ASSIGN_OR_RETURN(std::string d, TreeDigest(*from.root, *from.store, m.rel));
    h.Update(m.rel + '\0' + (m.include ? "+" + *m.include : "-") + '\0' + d + '\n');
  }
  return "sha256:" + h.FinishHex();
}

}  // namespace

Executor::Executor(const dockerfile::BuildPlan& plan, const BuildContext& context,
                   const ExecutorOptions& opts, oci::ContentStore& store, LayerCache& cache,
                   ImageSource* images, Progress& progress)
    : plan_(plan),
      context_(context),
      opts_(opts),
      store_(store),
      cache_(cache),
      images_(images),
      progress_(progress),
      ws_(store, cache, opts.work_dir, opts.no_cache, opts.rootfs_cache,
          opts.rootfs_cache_save_bytes) {
  commit_.layer.compression = opts.compression;
  commit_.layer.level = opts.compression_level;
  commit_.layer.source_date_epoch = opts.source_date_epoch;
  commit_.layer.record_blocks = opts.reuse_blocks;
  ws_.ReportLayersTo(opts.layer_stats_path);
  commit_.media_type = oci::LayerMediaType(opts.format, opts.compression);
  commit_.created = Created();
}

std::string Executor::MetaCreated() const {
  return opts_.source_date_epoch ? Created() : std::string();
}

std::string Executor::Created() const {
  std::time_t t = opts_.source_date_epoch ? static_cast<std::time_t>(*opts_.source_date_epoch)
                                          : std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

StageState* Executor::BuiltStage(int index) {
  std::lock_guard lock(mu_);
  auto it = stages_.find(index);
  return it == stages_.end() ? nullptr : it->second.get();
}

std::vector<std::unique_lock<std::mutex>> Executor::LockCacheMounts(
    const dockerfile::RunInstr& run) {
  // sharing=locked (and private, which BuildKit would give a fresh directory) cache mounts are
  // used by one step at a time: stages run concurrently, and tools such as apt lock their cache.
  std::set<std::string> ids;
  for (const auto& m : run.mounts)
    if (m.type == "cache" && (m.sharing == "locked" || m.sharing == "private")) ids.insert(m.id);
  std::vector<std::mutex*> mus;
  {
    std::lock_guard lock(mu_);
    for (const auto& id : ids) {
      auto& p = cache_mount_locks_[id];
      if (!p) p = std::make_unique<std::mutex>();
      mus.push_back(p.get());
    }
  }
  std::vector<std::unique_lock<std::mutex>> held;  // in id order: no lock-order cycles
  for (std::mutex* m : mus) held.emplace_back(*m);
  return held;
}

Status Executor::BuildStages() {
  // What each stage waits for: its FROM stage and the stages it copies or mounts from.
  std::set<int> planned;
  for (const auto& ps : plan_.stages) planned.insert(ps.index);
  std::map<int, std::set<int>> needs;
  for (const auto& ps : plan_.stages) {
    auto& n = needs[ps.index];
    if (ps.base.kind == dockerfile::StageBase::Kind::kStage) n.insert(ps.base.stage);
    for (const auto& d : ps.deps)
      if (d.stage >= 0 && d.stage != ps.index && planned.count(d.stage)) n.insert(d.stage);
  }
  size_t limit = opts_.parallelism > 0 ? static_cast<size_t>(opts_.parallelism)
                                       : std::max<size_t>(1, std::thread::hardware_concurrency());
  std::optional<Error> failure;
  size_t running = 0;
  std::vector<std::jthread> threads;
  std::unique_lock lock(sched_mu_);
  auto all_done = [&] {
    for (int i : planned)
      if (!done_.count(i)) return false;
    return true;
  };
  for (;;) {
    // Ready stages start in plan order, so a serial build (limit 1) is the plan's order. A
    // stage an ONBUILD trigger built on demand is claimed already.
    for (const auto& ps : plan_.stages) {
      if (failure || running >= limit) break;
      if (claimed_.count(ps.index)) continue;
      const auto& n = needs[ps.index];
      if (!std::includes(done_.begin(), done_.end(), n.begin(), n.end())) continue;
      claimed_.insert(ps.index);
      ++running;
      threads.emplace_back([this, &ps, &failure, &running] {
        Status st = BuildStage(ps);
        std::lock_guard l(sched_mu_);
        --running;
        if (st.ok()) {
          done_.insert(ps.index);
        } else if (!failure) {
          failure = std::move(st).error();
        }
        if (!st.ok()) failed_.insert(ps.index);
        sched_cv_.notify_all();
      });
    }
    if (failure || all_done()) break;
    if (running == 0) {
      failure = Error{"internal: the stages' dependencies cannot be met"};
      break;
    }
    sched_cv_.wait(lock);
  }
  if (failure && running > 0) {
    // The first failure cancels the rest: no new steps, and running RUN steps are stopped. A
    // stage may be between its cancellation check and starting its step's processes, so the
    // kill repeats until every stage has returned.
    cancelled_ = true;
    while (running > 0) {
      lock.unlock();
      KillDescendants();
      lock.lock();
      sched_cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return running == 0; });
    }
  }
  sched_cv_.wait(lock, [&] { return running == 0; });
  lock.unlock();
  threads.clear();  // joins
  if (failure) return std::move(*failure);
  return Ok();
}

Result<StageState*> Executor::EnsureStage(int index) {
  const dockerfile::PlannedStage* ps = nullptr;
  for (const auto* list : {&plan_.stages, &plan_.other_stages})
    for (const auto& p : *list)
      if (p.index == index) ps = &p;
  if (!ps) return Error{"internal: no stage " + std::to_string(index)};
  std::unique_lock lock(sched_mu_);
  if (!claimed_.count(index)) {
    // Not started: build it here (an ONBUILD trigger named a stage the Dockerfile alone did
    // not make this one need).
    claimed_.insert(index);
    lock.unlock();
    Status st = BuildStage(*ps);
    lock.lock();
    (st.ok() ? done_ : failed_).insert(index);
    sched_cv_.notify_all();
    if (!st.ok()) return std::move(st).error();
  }
  // Being built by another thread: wait for it.
  sched_cv_.wait(lock, [&] { return done_.count(index) || failed_.count(index) || cancelled_; });
  if (!done_.count(index)) return Error{"stage " + ps->display_name + " failed"};
  lock.unlock();
  StageState* built = BuiltStage(index);
  if (!built) return Error{"internal: stage " + ps->display_name + " was not built"};
  return built;
}

Result<BuiltImage> Executor::Build() {
  int planned = 0;
  for (const auto& ps : plan_.stages) planned += static_cast<int>(ps.steps.size()) + 1;
  progress_.PlanSteps(planned);
  OCIB_TRY(BuildStages());
  auto it = stages_.find(plan_.target);
  if (it == stages_.end()) return Error{"internal: the target stage was not built"};
  StageState& t = *it->second;

  BuiltImage img;
  img.config = t.config;
  for (const auto& [k, v] : opts_.labels) img.config.config.labels[k] = v;
  // BuildKit's exporter: config-only steps take the time of the layer before them (the first
  // new layer's when none), and the image was created when its last history entry was, so a
  // build served from the cache gives the same image.
  NormalizeHistoryTimes(img.config.history, Created());
  img.config.created = img.config.history.empty() || img.config.history.back().created.empty()
                           ? Created()
                           : img.config.history.back().created;
  img.config_bytes = img.config.Serialize();
  std::string config_mt(opts_.format == oci::MediaFormat::kOci ? oci::media_type::kOciConfig
                                                               : oci::media_type::kDockerConfig);
  OCIB_ASSIGN_OR_RETURN(img.config_desc, oci::PutBlob(store_, config_mt, img.config_bytes));

  img.manifest.media_type =
      std::string(opts_.format == oci::MediaFormat::kOci ? oci::media_type::kOciManifest
                                                         : oci::media_type::kDockerManifest);
  img.manifest.config = img.config_desc;
  img.manifest.annotations = opts_.manifest_annotations;
  for (oci::Descriptor d : t.layers) {
    d.media_type = oci::ConvertMediaType(d.media_type, opts_.format);
    img.manifest.layers.push_back(std::move(d));
  }
  img.manifest_bytes = img.manifest.Serialize();
  OCIB_ASSIGN_OR_RETURN(img.manifest_desc,
                        oci::PutBlob(store_, img.manifest.media_type, img.manifest_bytes));
  return img;
}

Result<StageState*> Executor::MaterializedTarget() {
  auto it = stages_.find(plan_.target);
  if (it == stages_.end()) return Error{"internal: the target stage was not built"};
  OCIB_TRY(ws_.Materialize(*it->second));
  return it->second.get();
}

Status Executor::InitBase(const dockerfile::PlannedStage& ps, StageState& s) {
  oci::Platform platform = ToPlatform(ps.platform);
  switch (ps.base.kind) {
    case dockerfile::StageBase::Kind::kScratch:
      s.config.SetPlatform(platform);
      s.config.config.env = {std::string("PATH=") + kDefaultPath};
      s.config.config.working_dir = "/";  // BuildKit's empty image has WorkingDir "/"
      s.cache_key = "scratch:" + ps.platform.ToString();
      return Ok();
    case dockerfile::StageBase::Kind::kStage: {
      OCIB_ASSIGN_OR_RETURN(StageState * built, EnsureStage(ps.base.stage));
      const StageState& b = *built;
      s.config = b.config;
      s.layers = b.layers;
      s.cache_key = b.cache_key;
      return Ok();
    }
    case dockerfile::StageBase::Kind::kImage: {
      OCIB_ASSIGN_OR_RETURN(StageState * named, ContextStage(ps.base.image, platform));
      if (named) {
        s.config = named->config;
        s.layers = named->layers;
        s.cache_key = named->cache_key;
        return Ok();
      }
      OCIB_ASSIGN_OR_RETURN(PulledImage img, PullImage(ps.base.image, platform));
      s.config = std::move(img.config);
      s.layers = std::move(img.layers);
      s.cache_key = "image:" + img.manifest_digest.str();
      // BuildKit makes sure every stage has a PATH, whatever the base image says.
      bool has_path = std::any_of(s.config.config.env.begin(), s.config.config.env.end(),
                                  [](const std::string& e) { return StartsWith(e, "PATH="); });
      if (!has_path) s.config.config.env.push_back(std::string("PATH=") + kDefaultPath);
      return Ok();
    }
  }
  return Ok();
}

Status Executor::BuildStage(const dockerfile::PlannedStage& ps) {
  auto owned = std::make_unique<StageState>();
  StageState& s = *owned;
  s.name = ps.display_name;
  s.no_cache = opts_.no_cache_stages.count(ps.name) > 0 ||
               opts_.no_cache_stages.count(std::to_string(ps.index)) > 0;
  std::vector<dockerfile::Step> steps;
  // BuildKit numbers the steps that make a vertex: a FROM of an image, and each RUN, COPY, ADD
  // and WORKDIR ("[base 2/3] RUN ..."); FROM scratch or another stage and config-only steps
  // have no number.
  auto counted = [](const dockerfile::Step& st) {
    return std::holds_alternative<dockerfile::RunInstr>(st.instr) ||
           std::holds_alternative<dockerfile::CopyInstr>(st.instr) ||
           std::holds_alternative<dockerfile::WorkdirInstr>(st.instr);
  };
  bool from_image = ps.base.kind == dockerfile::StageBase::Kind::kImage;
  int total = from_image ? 1 : 0;
  for (const auto& st : ps.steps) total += counted(st) ? 1 : 0;
  {
    std::string label = from_image ? StepPrefix(s.name, 1, total) + "FROM " + ps.base.image
                                   : "[" + s.name + "] FROM " + ps.base_expr;
    int pstep = progress_.StepStarted(label);
    Status st = InitBase(ps, s);
    // Layers are written with their times clamped to SOURCE_DATE_EPOCH: a layer made under
    // another epoch (or none) is not the same layer, so the epoch is part of every key.
    if (st.ok() && opts_.source_date_epoch && ps.base.kind != dockerfile::StageBase::Kind::kStage)
      s.cache_key += "|source-date-epoch=" + std::to_string(*opts_.source_date_epoch);
    progress_.StepFinished(pstep, st.ok() ? StepState::kDone : StepState::kFailed);
    if (!st.ok())
      return st.error().Context(plan_.filename + ":" + std::to_string(ps.line) + ": FROM");
  }
  // ONBUILD triggers of the base run first, and are not inherited further.
  if (!s.config.config.on_build.empty()) {
    std::string text = Join(s.config.config.on_build, "\n") + "\n";
    auto parsed = dockerfile::ParseDockerfile(text, "ONBUILD");
    if (!parsed.ok()) return parsed.error().Context("base image ONBUILD triggers");
    OCIB_ASSIGN_OR_RETURN(steps, dockerfile::ParseInstructions(*parsed));
    s.config.config.on_build.clear();
    for (const auto& st : steps) total += counted(st) ? 1 : 0;
    progress_.PlanSteps(static_cast<int>(steps.size()));
  }
  steps.insert(steps.end(), ps.steps.begin(), ps.steps.end());
  {
    std::lock_guard lock(mu_);
    stages_[ps.index] = std::move(owned);
  }
  int n = from_image ? 1 : 0;
  // How many RUN steps are still ahead: with none, COPY and WORKDIR may use a scoped tree.
  auto runs_left = std::count_if(steps.begin(), steps.end(), [](const dockerfile::Step& st) {
    return std::holds_alternative<dockerfile::RunInstr>(st.instr);
  });
  for (auto& step : steps) {
    if (cancelled_) return Error{"stage " + s.name + " cancelled: another stage failed"};
    if (std::holds_alternative<dockerfile::RunInstr>(step.instr)) --runs_left;
    s.scoped_ok = opts_.scoped_trees && runs_left == 0;
    Status st = ExecStep(ps, s, step, counted(step) ? ++n : 0, total);
    if (!st.ok()) {
      ws_.Finish(s);
      return st;
    }
  }
  ws_.Finish(s);
  return Ok();
}

void Executor::MarkSharedTreesStale(const StageState& writer) {
  std::vector<StageState*> others;
  {
    std::lock_guard lock(mu_);
    for (auto& [i, st] : stages_)
      if (st.get() != &writer) others.push_back(st.get());
    for (auto& [r, st] : image_stages_) others.push_back(st.get());
  }
  for (StageState* o : others) {
    std::lock_guard lock(o->mu);
    if (!o->shared_inodes.empty()) o->stale = true;
  }
}

Result<StageState*> Executor::FindStage(const std::string& from) {
  // A stage name, a stage index, or else an image reference. Stages the Dockerfile alone did
  // not make this step need (an ONBUILD trigger's --from) are built now.
  for (const auto* list : {&plan_.stages, &plan_.other_stages})
    for (const auto& ps : *list)
      if ((!ps.name.empty() && ps.name == ToLower(from)) || std::to_string(ps.index) == from)
        return EnsureStage(ps.index);
  OCIB_ASSIGN_OR_RETURN(StageState * named, ContextStage(from, ToPlatform(plan_.target_platform)));
  if (named) return named;
  return ImageStage(from);
}

Result<StageState*> Executor::ImageStage(const std::string& ref) {
  std::lock_guard lock(mu_);  // one pull per image, whichever stage asks first
  auto it = image_stages_.find(ref);
  if (it != image_stages_.end()) return it->second.get();
  OCIB_ASSIGN_OR_RETURN(PulledImage img, PullImage(ref, ToPlatform(plan_.target_platform)));
  auto s = std::make_unique<StageState>();
  s->name = ref;
  s->config = std::move(img.config);
  s->layers = std::move(img.layers);
  s->cache_key = "image:" + img.manifest_digest.str();
  s->finished = true;  // only read
  StageState* raw = s.get();
  image_stages_[ref] = std::move(s);
  return raw;
}

Status Executor::ExecWorkdir(StageState& s, const std::string& path, int pstep) {
  std::string wd = dockerfile::CleanPath(JoinGuest(s.config.config.working_dir, path));
  s.config.config.working_dir = wd;
  std::string created_by = "WORKDIR " + wd;
  if (wd == "/") {
    StageWorkspace::AddHistory(s, created_by, true, MetaCreated());
    progress_.StepFinished(pstep, StepState::kDone);
    return Ok();
  }
  nlohmann::json key = {{"op", "mkdir"}, {"path", wd}, {"user", s.config.config.user}};
  std::string ck = ChainKey(s.cache_key, key);
  OCIB_ASSIGN_OR_RETURN(bool hit, ws_.TryCache(s, ck, created_by, commit_));
  if (hit) {
    progress_.StepFinished(pstep, StepState::kCached);
    return Ok();
  }
  oci::PathScope want = StepScope(wd, !s.config.config.user.empty());
  OCIB_TRY(ws_.MaterializeScope(s, want));
  bool focused = false;
  if (opts_.scoped_trees) {
    OCIB_ASSIGN_OR_RETURN(focused, ws_.Focus(s, want));
  }
  // BuildKit creates a missing WORKDIR owned by the current USER.
  std::pair<uint32_t, uint32_t> owner{0, 0};
  if (!s.config.config.user.empty()) {
    OCIB_ASSIGN_OR_RETURN(UserDb users, s.Users());
    OCIB_ASSIGN_OR_RETURN(auto id, users.ResolveUser(s.config.config.user));
    owner = {id.uid, id.gid};
  }
  std::string rel = wd.substr(1);
  std::string cur;
  for (const auto& part : Split(rel, '/')) {
    cur = cur.empty() ? part : cur + "/" + part;
    auto existing = s.root->OpenAt(cur, O_PATH);
    if (existing.ok()) continue;
    OCIB_ASSIGN_OR_RETURN(UniqueFd fd, s.root->MkdirAll(cur, 0755));
    OCIB_TRY(SetOwnerAndMode(fd.get(), *s.store, owner.first, owner.second, S_IFDIR | 0755));
  }
  OCIB_TRY(ws_.Commit(s, ck, created_by, commit_, focused ? &want : nullptr));
  progress_.StepFinished(pstep, StepState::kDone);
  return Ok();
}

Status Executor::ExecCopy(StageState& s, const dockerfile::CopyInstr& c, const std::string& label,
                          int pstep) {
  (void)label;
  std::string dest = JoinGuest(s.config.config.working_dir, c.dest);
  if (EndsWith(c.dest, "/") && !EndsWith(dest, "/")) dest += "/";
  std::optional<ChmodSpec> chmod;
  if (!c.chmod.empty()) {
    OCIB_ASSIGN_OR_RETURN(chmod, ChmodSpec::Parse(c.chmod));
  }
  // Where the files come from, and what identifies them for the cache.
  StageState* from = nullptr;
  std::vector<SourceMatch> matches;
  std::optional<TempDir> heredoc_dir;
  std::vector<FetchedUrl> remote;           // ADD <url>, fetched
  std::vector<std::string> remote_pending;  // ADD --checksum <url>: fetched only on a miss
  std::vector<std::pair<GitSource, std::string>> git_pending;  // ADD <repo>: cloned on a miss
  nlohmann::json sources = nlohmann::json::array();
  bool imported_memo = false;  // the --from digest came from an imported cache: only a hint
  auto copy_from_digest = [&](bool imported_ok) {
    return StageContentDigest(
        *from, {{"copy-digest", c.sources}, {"parents", c.parents}, {"tree-digest", 2}},
        [&c](const StageState& st) { return StageSourcesDigest(st, c); }, imported_ok,
        &imported_memo);
  };
  if (!c.contents.empty()) {
    OCIB_ASSIGN_OR_RETURN(TempDir td, TempDir::Create("heredoc-", opts_.work_dir));
    for (const auto& sc : c.contents) {
      OCIB_TRY(WriteFile(JoinPath(td.path(), sc.path), sc.data, 0644));
      matches.push_back(SourceMatch{sc.path, false});
      sources.push_back({{"heredoc", sc.path}, {"digest", oci::Digest::OfBytes(sc.data).str()}});
    }
    heredoc_dir = std::move(td);
  } else if (!c.from.empty()) {
    OCIB_ASSIGN_OR_RETURN(from, FindStage(c.from));
    if (opts_.no_cache || s.no_cache) {
      // Nothing is looked up: the stage's chain key stands for the content without hashing it.
      sources.push_back({{"from", from->cache_key}, {"paths", c.sources}});
    } else {
      // By content, as BuildKit keys it: a change in the other stage that leaves what is copied
      // as it was keeps this step and the ones after it.
      OCIB_ASSIGN_OR_RETURN(std::string digest, copy_from_digest(true));
      sources.push_back({{"from-content", digest}, {"paths", c.sources}});
    }
  } else {
    for (const auto& src : c.sources) {
      if (IsGitSource(src)) {
        if (!c.is_add)
          return Error{"COPY " + src + ": COPY does not fetch git repositories; use ADD"};
        OCIB_ASSIGN_OR_RETURN(GitSource g, ParseGitSource(src));
        // --checksum and ?commit=, --keep-git-dir and ?keep-git-dir must agree (BuildKit).
        if (!c.checksum.empty() && !g.checksum.empty() && c.checksum != g.checksum)
          return Error{"checksum mismatch \"" + c.checksum + "\" != \"" + g.checksum + "\""};
        if (c.keep_git_dir && g.keep_git_dir && *c.keep_git_dir != *g.keep_git_dir)
          return Error{"inconsistent keep-git-dir configuration"};
        if (!g.keep_git_dir) g.keep_git_dir = c.keep_git_dir;
        OCIB_ASSIGN_OR_RETURN(std::string commit,
                              ResolveGitCommit(g, c.checksum.empty() ? g.checksum : c.checksum));
        // The commit is the content: --checksum itself is not part of the key, so adding it
        // keeps the cache.
        Record({ResolvedSource::Kind::kGit, src, "", commit, false});
        sources.push_back({{"git", g.url},
                           {"commit", commit},
                           {"subdir", g.subdir},
                           {"keep_git_dir", g.keep_git_dir.value_or(false)},
                           {"submodules", g.submodules.value_or(true)}});
        git_pending.emplace_back(std::move(g), commit);
        continue;
      }
      if (IsRemoteSource(src)) {
        if (!c.is_add) return Error{"COPY " + src + ": COPY does not fetch URLs; use ADD"};
        if (c.checksum.empty()) {
          // Without --checksum the content decides whether the step is cached: fetch it now.
          OCIB_ASSIGN_OR_RETURN(FetchedUrl f, FetchUrl(src, "", opts_.work_dir));
          sources.push_back({{"url", src}, {"digest", f.digest}});
          Record({ResolvedSource::Kind::kHttp, src, "", f.digest, false});
          remote.push_back(std::move(f));
        } else {
          sources.push_back({{"url", src}, {"digest", c.checksum}});
          Record({ResolvedSource::Kind::kHttp, src, "", c.checksum, false});
          remote_pending.push_back(src);
        }
        continue;
      }
      if (!c.checksum.empty()) return Error{"checksum requires HTTP(S) or Git sources"};
      OCIB_ASSIGN_OR_RETURN(auto m, context_.Resolve(src, c.parents));
      matches.insert(matches.end(), m.begin(), m.end());
    }
    if (!matches.empty()) {
      OCIB_ASSIGN_OR_RETURN(std::string digest, context_.Digest(matches, c.excludes));
      sources.push_back({{"context", digest}});
    }
  }
  auto step_key = [&] {
    return nlohmann::json{{"op", c.is_add ? "add" : "copy"},
                          {"sources", sources},
                          {"dest", dest},
                          {"chown", c.chown},
                          {"chmod", c.chmod},
                          {"parents", c.parents},
                          {"excludes", c.excludes},
                          {"link", c.link}};
  };
  nlohmann::json key = step_key();
  std::string created_by = c.is_add ? "ADD" : "COPY";
  if (c.parents) created_by += " --parents";
  if (!c.chown.empty()) created_by += " --chown=" + c.chown;
  if (!c.chmod.empty()) created_by += " --chmod=" + c.chmod;
  for (const auto& src : c.sources) created_by += " " + src;
  for (const auto& sc : c.contents) created_by += " <<" + sc.path;  // as BuildKit records it
  created_by += " " + c.dest + " # buildkit";

  std::string ck, link_key;
  auto lookup = [&]() -> Result<bool> {
    ck = ChainKey(s.cache_key, key);
    // COPY --link (BuildKit): the layer is built in an empty tree and keyed by the step alone,
    // so a changed base (or any earlier step) keeps it; the stage's chain key still follows it.
    if (c.link) {
      link_key = ChainKey("copy-link", key);
      ck = ChainKey(s.cache_key, {{"op", "link"}, {"layer", link_key}});
    }
    OCIB_ASSIGN_OR_RETURN(bool found, ws_.TryCache(s, ck, created_by, commit_));
    if (!found && c.link && !opts_.no_cache && !s.no_cache) {
      OCIB_ASSIGN_OR_RETURN(std::optional<CachedStep> linked, cache_.Get(link_key, store_));
      if (linked) {
        OCIB_TRY(AppendLinked(s, *linked, ck, created_by));
        found = true;
      }
    }
    return found;
  };
  OCIB_ASSIGN_OR_RETURN(bool hit, lookup());
  if (!hit && imported_memo) {
    // A step that runs is keyed by a digest of what it read, never by a memo another runner
    // sent: a wrong one would file this layer under the key of other content.
    OCIB_ASSIGN_OR_RETURN(std::string digest, copy_from_digest(false));
    sources.back()["from-content"] = digest;
    key = step_key();
    OCIB_ASSIGN_OR_RETURN(hit, lookup());
  }
  if (hit) {
    progress_.StepFinished(pstep, StepState::kCached);
    return Ok();
  }
  StageState link_tree;  // --link: the empty tree the files are copied into
  oci::PathScope want;   // what the copy touches in the stage's tree
  bool focused = false;  // its commit walks only that (StageWorkspace::Focus)
  StageState& dst = c.link ? link_tree : s;
  // Names resolve against the stage's /etc/passwd, even --link.
  bool names = !c.chown.empty();
  if (c.link) {
    OCIB_TRY(ws_.Materialize(link_tree));
    if (names) OCIB_TRY(ws_.MaterializeScope(s, StepScope("/etc/passwd", true)));
  } else {
    want = StepScope(dest, names);
    OCIB_TRY(ws_.MaterializeScope(s, want));
    if (opts_.scoped_trees) {
      OCIB_ASSIGN_OR_RETURN(focused, ws_.Focus(s, want));
    }
  }
  CopyOptions co;
  co.dest = dest;
  co.chmod = chmod;
  co.excludes = c.excludes;
  if (names) {
    OCIB_ASSIGN_OR_RETURN(UserDb users, s.Users());
    OCIB_ASSIGN_OR_RETURN(co.chown, users.ResolveChown(c.chown));
  }
  std::optional<oci::RootDir> src_root;
  CopySourceTree tree;
  std::unique_lock<std::mutex> from_lock;
  if (heredoc_dir) {
    OCIB_ASSIGN_OR_RETURN(oci::RootDir r, oci::RootDir::Open(heredoc_dir->path()));
    src_root.emplace(std::move(r));
    tree = CopySourceTree{&*src_root, nullptr, nullptr, matches};
  } else if (from) {
    // Held until the copy is done: another reader that finds the tree stale (a RUN wrote a
    // shared inode in place) unpacks it again, and must not remove it under this copy.
    from_lock = std::unique_lock(from->mu);
    OCIB_TRY(ws_.Materialize(*from));
    OCIB_ASSIGN_OR_RETURN(tree.matches, StageSources(*from, c));
    tree.root = &*from->root;
    tree.store = from->store.get();
  } else {
    OCIB_ASSIGN_OR_RETURN(oci::RootDir r, oci::RootDir::Open(context_.dir()));
    src_root.emplace(std::move(r));
    tree = CopySourceTree{&*src_root, nullptr, &context_, matches};
  }
  // ADD auto-extracts local tar archives (any compression) into the destination directory.
  if (c.is_add && !heredoc_dir && !from && (!c.unpack.has_value() || *c.unpack)) {
    std::vector<SourceMatch> plain;
    for (const auto& m : tree.matches) {
      if (m.is_dir || m.include) {
        plain.push_back(m);
        continue;
      }
      if (dockerfile::CleanPath(dest) == "/" && !co.chown && !co.chmod) {
        // Straight into the rootfs: an archive at the root keeps its owners and modes as they
        // are, and this avoids extracting, copying and deleting every file once more.
        OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(JoinPath(context_.dir(), m.rel), O_RDONLY));
        char magic[512];
        ssize_t n = ::pread(fd.get(), magic, sizeof magic, 0);
        if (n > 0 && LooksLikeArchive(std::string_view(magic, static_cast<size_t>(n)))) {
          auto applied = oci::ApplyLayer(*dst.root, *dst.store, fd.get());
          if (!applied.ok()) return applied.error().Context("ADD " + m.rel);
          continue;
        }
        plain.push_back(m);
        continue;
      }
      OCIB_ASSIGN_OR_RETURN(TempDir x, TempDir::Create("add-", opts_.work_dir));
      oci::MetaStore xstore;
      auto applied =
          oci::ApplyLayerFile(JoinPath(x.path(), "root"), xstore, JoinPath(context_.dir(), m.rel));
      if (!applied.ok()) {
        plain.push_back(m);  // not an archive: copied as a file
        continue;
      }
      OCIB_ASSIGN_OR_RETURN(oci::RootDir xr, oci::RootDir::Open(JoinPath(x.path(), "root")));
      CopyOptions xo = co;
      xo.dest = EndsWith(dest, "/") ? dest : dest + "/";
      CopySourceTree xt{&xr, &xstore, nullptr, {SourceMatch{".", true, std::nullopt}}};
      OCIB_TRY(CopyInto(*dst.root, *dst.store, xt, xo));
    }
    tree.matches = plain;
  }
  if (!tree.matches.empty()) OCIB_TRY(CopyInto(*dst.root, *dst.store, tree, co));
  // Git repositories: the checkout's files (or its subdir's) go into the destination directory.
  for (const auto& [g, commit] : git_pending) {
    OCIB_ASSIGN_OR_RETURN(GitCheckout checkout,
                          FetchGit(g, commit, g.keep_git_dir.value_or(false), opts_.work_dir));
    OCIB_ASSIGN_OR_RETURN(oci::RootDir gr, oci::RootDir::Open(checkout.repo));
    CopyOptions go = co;
    go.dest = EndsWith(dest, "/") ? dest : dest + "/";
    CopySourceTree gt{&gr, nullptr, nullptr, {SourceMatch{checkout.rel, true, std::nullopt}}};
    OCIB_TRY(CopyInto(*dst.root, *dst.store, gt, go));
  }
  // Downloads: never extracted; mode 0600 unless --chmod, mtime from Last-Modified (Docker).
  for (const auto& url : remote_pending) {
    OCIB_ASSIGN_OR_RETURN(FetchedUrl f, FetchUrl(url, c.checksum, opts_.work_dir));
    remote.push_back(std::move(f));
  }
  for (const auto& f : remote) {
    // BuildKit: "__unnamed__" when the URL's path gives no name; copied like any single file
    // (into DEST when it ends in '/' or is a directory); extracted only with --unpack=true. The
    // download is 0600 (FetchUrl's file) unless --chmod says otherwise.
    std::string name = f.file_name.empty() ? "__unnamed__" : f.file_name;
    if (c.unpack.value_or(false)) {
      OCIB_ASSIGN_OR_RETURN(TempDir x, TempDir::Create("add-", opts_.work_dir));
      oci::MetaStore xstore;
      if (oci::ApplyLayerFile(JoinPath(x.path(), "root"), xstore, f.path).ok()) {
        OCIB_ASSIGN_OR_RETURN(oci::RootDir xr, oci::RootDir::Open(JoinPath(x.path(), "root")));
        CopyOptions xo = co;
        xo.dest = EndsWith(dest, "/") ? dest : dest + "/";
        CopySourceTree xt{&xr, &xstore, nullptr, {SourceMatch{".", true, std::nullopt}}};
        OCIB_TRY(CopyInto(*dst.root, *dst.store, xt, xo));
        continue;
      }
    }
    OCIB_ASSIGN_OR_RETURN(TempDir td, TempDir::Create("url-", opts_.work_dir));
    if (::rename(f.path.c_str(), JoinPath(td.path(), name).c_str()) != 0)
      return SysError("rename", f.path);
    if (f.last_modified) {
      struct timespec ts[2] = {{*f.last_modified, 0}, {*f.last_modified, 0}};
      ::utimensat(AT_FDCWD, JoinPath(td.path(), name).c_str(), ts, 0);
    }
    OCIB_ASSIGN_OR_RETURN(oci::RootDir ur, oci::RootDir::Open(td.path()));
    CopyOptions uo = co;
    CopySourceTree ut{&ur, nullptr, nullptr, {SourceMatch{name, false, std::nullopt}}};
    OCIB_TRY(CopyInto(*dst.root, *dst.store, ut, uo));
  }
  if (c.link) {
    OCIB_TRY(ws_.Commit(link_tree, link_key, created_by, commit_));
    CachedStep made;
    if (!link_tree.layers.empty()) {
      made.layer = link_tree.layers.back();
      made.diff_id = link_tree.config.diff_ids.back();
    }
    OCIB_TRY(AppendLinked(s, made, ck, created_by));
    OCIB_TRY(RemoveAll(link_tree.dir));
  } else {
    OCIB_TRY(ws_.Commit(s, ck, created_by, commit_, focused ? &want : nullptr));
  }
  progress_.StepFinished(pstep, StepState::kDone);
  return Ok();
}

Result<std::string> Executor::StageContentDigest(
    StageState& from, const nlohmann::json& what,
    const std::function<Result<std::string>(const StageState&)>& digest, bool imported_ok,
    bool* imported) {
  std::string memo = ChainKey(from.cache_key, what);
  auto known = [&]() -> std::optional<std::string> {
    bool from_import = false;
    auto d = cache_.GetMemo(memo, imported_ok, &from_import);
    if (!d || !oci::Digest::Parse(*d).ok()) return std::nullopt;
    if (from_import && imported) *imported = true;
    return d;
  };
  if (auto d = known()) return *d;
  std::lock_guard lock(from.mu);
  if (auto d = known()) return *d;  // another reader hashed it meanwhile
  OCIB_TRY(ws_.Materialize(from));
  OCIB_ASSIGN_OR_RETURN(std::string d, digest(from));
  OCIB_TRY(cache_.PutMemo(memo, d));
  return d;
}

Status Executor::AppendLinked(StageState& s, const CachedStep& step, const std::string& ck,
                              const std::string& created_by) {
  // The rootfs, if there is one, does not hold this layer yet: Materialize applies it when a
  // later step needs the files.
  if (step.layer) {
    s.layers.push_back(*step.layer);
    s.config.diff_ids.push_back(step.diff_id);
  }
  StageWorkspace::AddHistory(s, created_by, !step.layer.has_value(),
                             step.created.empty() ? commit_.created : step.created);
  s.cache_key = ContentChainKey(ck, step);
  return cache_.Put(ck, step);
}

Status Executor::ExecStep(const dockerfile::PlannedStage& ps, StageState& s, dockerfile::Step step,
                          int number, int total) {
  (void)ps;
  dockerfile::ShellLex lex(plan_.escape);
  std::string where = plan_.filename + ":" + std::to_string(step.line) + ": " + step.keyword;
  if (!std::holds_alternative<dockerfile::ArgInstr>(step.instr)) {
    Status st = dockerfile::ExpandInstruction(&step.instr, s.ExpansionEnv(), lex);
    if (!st.ok()) return st.error().Context(where);
  }
  std::string label = (number > 0 ? StepPrefix(s.name, number, total) : "[" + s.name + "] ") +
                      dockerfile::FormatInstruction(step);
  int pstep = progress_.StepStarted(label);
  auto meta = [&](const std::string& created_by) {
    StageWorkspace::AddHistory(s, created_by, true, MetaCreated());
    progress_.StepFinished(pstep, StepState::kDone);
    return Ok();
  };
  struct {
    oci::ContainerConfig& c;
  } cfg{s.config.config};
  Status st = std::visit(
      [&](auto& in) -> Status {
        using T = std::decay_t<decltype(in)>;
        if constexpr (std::is_same_v<T, dockerfile::FromInstr>) {
          return Error{"FROM inside a stage"};
        } else if constexpr (std::is_same_v<T, dockerfile::ArgInstr>) {
          OCIB_ASSIGN_OR_RETURN(auto values,
                                dockerfile::ResolveStageArg(in, plan_, s.ExpansionEnv(), lex));
          std::vector<std::string> parts;
          for (const auto& [k, v] : values) {
            if (v) s.args.Set(k, *v);
            parts.push_back(v ? k + "=" + *v : k);
          }
          return meta("ARG " + Join(parts, " "));
        } else if constexpr (std::is_same_v<T, dockerfile::EnvInstr>) {
          std::string cb = "ENV";
          for (const auto& kv : in.vars) {
            cfg.c.SetEnv(kv.key, kv.value);
            cb += " " + kv.key + "=" + kv.value;
          }
          return meta(cb);
        } else if constexpr (std::is_same_v<T, dockerfile::LabelInstr>) {
          std::string cb = "LABEL";
          for (const auto& kv : in.labels) {
            cfg.c.labels[kv.key] = kv.value;
            cb += " " + kv.key + "=" + kv.value;
          }
          return meta(cb);
        } else if constexpr (std::is_same_v<T, dockerfile::MaintainerInstr>) {
          s.config.author = in.maintainer;
          return meta("MAINTAINER " + in.maintainer);
        } else if constexpr (std::is_same_v<T, dockerfile::UserInstr>) {
          cfg.c.user = in.user;
          return meta("USER " + in.user);
        } else if constexpr (std::is_same_v<T, dockerfile::ExposeInstr>) {
          for (const auto& p : in.ports) {
            OCIB_ASSIGN_OR_RETURN(auto ports, ExpandPorts(p));
            cfg.c.exposed_ports.insert(ports.begin(), ports.end());
          }
          // BuildKit's history lists this instruction's ports, in the order given (the parser
          // sorted the words): "EXPOSE [1234/udp 80/tcp]".
          std::vector<std::string> shown;
          for (const auto& p : in.ports) {
            OCIB_ASSIGN_OR_RETURN(auto ports, ExpandPorts(p));
            shown.insert(shown.end(), ports.begin(), ports.end());
          }
          return meta("EXPOSE [" + Join(shown, " ") + "]");
        } else if constexpr (std::is_same_v<T, dockerfile::VolumeInstr>) {
          for (const auto& v : in.volumes) {
            if (TrimSpace(v).empty()) return Error{"VOLUME specified can not be an empty string"};
            cfg.c.volumes.insert(v);
          }
          return meta("VOLUME " + GoList(in.volumes));
        } else if constexpr (std::is_same_v<T, dockerfile::CmdInstr>) {
          std::vector<std::string> cmd = WithShell(cfg.c, in.command);
          cfg.c.cmd = cmd;
          // BuildKit sets the (deprecated) ArgsEscaped on every CMD, for Docker's image format.
          cfg.c.args_escaped = true;
          s.cmd_set = true;
          return meta("CMD " + GoQuotedList(cmd));
        } else if constexpr (std::is_same_v<T, dockerfile::EntrypointInstr>) {
          std::vector<std::string> ep = WithShell(cfg.c, in.command);
          cfg.c.entrypoint = ep;
          // A CMD inherited from the base does not survive a new ENTRYPOINT.
          if (!s.cmd_set) cfg.c.cmd.reset();
          return meta("ENTRYPOINT " + GoQuotedList(ep));
        } else if constexpr (std::is_same_v<T, dockerfile::ShellInstr>) {
          cfg.c.shell = in.shell;
          return meta("SHELL " + GoList(in.shell));
        } else if constexpr (std::is_same_v<T, dockerfile::HealthcheckInstr>) {
          oci::HealthConfig h;
          h.test = in.test;
          h.interval = in.interval_ns;
          h.timeout = in.timeout_ns;
          h.start_period = in.start_period_ns;
          h.start_interval = in.start_interval_ns;
          h.retries = in.retries;
          cfg.c.healthcheck = h;
          return meta("HEALTHCHECK " + GoList(in.test));
        } else if constexpr (std::is_same_v<T, dockerfile::StopSignalInstr>) {
          cfg.c.stop_signal = in.signal;
          return meta("STOPSIGNAL " + in.signal);
        } else if constexpr (std::is_same_v<T, dockerfile::OnbuildInstr>) {
          cfg.c.on_build.push_back(in.expression);
          progress_.StepFinished(pstep, StepState::kDone);  // BuildKit records no history
          return Ok();
        } else if constexpr (std::is_same_v<T, dockerfile::WorkdirInstr>) {
          return ExecWorkdir(s, in.path, pstep);
        } else if constexpr (std::is_same_v<T, dockerfile::CopyInstr>) {
          return ExecCopy(s, in, label, pstep);
        } else if constexpr (std::is_same_v<T, dockerfile::RunInstr>) {
          OCIB_ASSIGN_OR_RETURN(
              TempDir scratch,
              TempDir::Create("run-" + std::to_string(scratch_seq_++) + "-", opts_.work_dir));
          RunEnvironment renv;
          renv.plan = &plan_;
          renv.context = &context_;
          renv.find_stage = [this](const std::string& f) { return FindStage(f); };
          renv.materialize = [this](StageState& st2) {
            std::lock_guard lock(st2.mu);
            return ws_.Materialize(st2);
          };
          bool mount_memo_imported = false, mount_memo_imported_ok = true;
          renv.mount_digest = [&, this](StageState& st2, const std::string& rel) {
            return StageContentDigest(
                st2, {{"mount-digest", rel}, {"tree-digest", 2}},
                [&rel](const StageState& st) { return TreeDigest(*st.root, *st.store, rel); },
                mount_memo_imported_ok, &mount_memo_imported);
          };
          renv.secrets = &opts_.secrets;
          renv.ssh = &opts_.ssh;
          renv.mounts_root = opts_.mounts_root;
          if (opts_.no_cache || s.no_cache) {
            renv.reset_cache = [this](const std::string& id) {
              std::lock_guard lock(mu_);
              return reset_cache_mounts_.insert(id).second;
            };
          }
          renv.scratch = scratch.path();
          renv.add_hosts = &opts_.add_hosts;
          renv.default_network = opts_.network;
          if ((in.network == "default" ? opts_.network : in.network) != "none")
            used_network_ = true;
          OCIB_ASSIGN_OR_RETURN(RunIdentity id, IdentifyRun(in, s, renv));
          std::string ck = ChainKey(s.cache_key, id.key);
          OCIB_ASSIGN_OR_RETURN(bool hit, ws_.TryCache(s, ck, id.created_by, commit_));
          if (!hit && mount_memo_imported) {
            // As for COPY --from: a step that runs is keyed by what its mounts hold, not by
            // another runner's memo of it.
            mount_memo_imported_ok = false;
            OCIB_ASSIGN_OR_RETURN(id, IdentifyRun(in, s, renv));
            ck = ChainKey(s.cache_key, id.key);
            OCIB_ASSIGN_OR_RETURN(hit, ws_.TryCache(s, ck, id.created_by, commit_));
          }
          if (hit) {
            progress_.StepFinished(pstep, StepState::kCached);
            return Ok();
          }
          OCIB_TRY(ws_.Materialize(s));
          // Before the plan makes mount stubs in the tree: the watch must see every change
          // since the snapshot. When it cannot be set up, the tree is walked after the step.
          std::unique_ptr<TreeWatch> watch;
          if (opts_.tree_watch != ExecutorOptions::TreeWatchMode::kOff && s.snapshot && !s.scope) {
            auto w = TreeWatch::Start(s.root->path(), *s.snapshot);
            if (w.ok()) watch = std::move(*w);
          }
          OCIB_ASSIGN_OR_RETURN(PlannedRun pr, PlanRun(in, id, s, renv));
          pr.watch = std::move(watch);
          pr.verify_watch = opts_.tree_watch == ExecutorOptions::TreeWatchMode::kVerify;
          auto held = LockCacheMounts(in);
          std::unique_ptr<oci::PrecompressedFiles> pre =
              StartPrecompressing(commit_, scratch.path());
          {
            std::optional<Precompressor> pc;
            if (pre) pc.emplace(s.rootfs(), *pre, Now());
            bool shared = !s.shared_nodes.empty();
            Status ran = RunPlanned(pr, s, progress_, pstep);
            if (pr.watch) ws_.DisposeLater(std::move(pr.watch));
            // The guard found a shared inode written in place: finished stages that restored
            // the same cache entries hold it too.
            if (shared && s.shared_nodes.empty()) MarkSharedTreesStale(s);
            OCIB_TRY(ran);
          }
          held.clear();
          CommitOptions co = commit_;
          co.layer.precompressed = pre.get();
          OCIB_TRY(ws_.Commit(s, ck, id.created_by, co));
          progress_.StepFinished(pstep, StepState::kDone);
          return Ok();
        }
      },
      step.instr);
  if (!st.ok()) {
    progress_.StepFinished(pstep, StepState::kFailed);
    return st.error().Context(where);
  }
  return Ok();
}

namespace {
// A platform as BuildKit names it in package URLs (containerd's normalization: arm64/v8 is
// plain arm64).
std::string PurlPlatform(const oci::Platform& p) {
  oci::Platform n = p.Normalized();
  if (n.architecture == "arm64" && n.variant == "v8") n.variant.clear();
  return n.str();
}
}  // namespace

void Executor::Record(ResolvedSource src) {
  std::lock_guard lock(sources_mu_);
  for (const auto& s : sources_)
    if (s.kind == src.kind && s.ref == src.ref && s.platform == src.platform &&
        s.digest == src.digest)
      return;
  sources_.push_back(std::move(src));
}

std::vector<ResolvedSource> Executor::Sources() const {
  std::lock_guard lock(sources_mu_);
  return sources_;
}

Result<PulledImage> Executor::PullImage(const std::string& ref, const oci::Platform& platform) {
  if (!images_) return Error{ref + ": no registry access configured"};
  OCIB_ASSIGN_OR_RETURN(PulledImage img, images_->Pull(ref, platform));
  Record({ResolvedSource::Kind::kImage, img.name, PurlPlatform(platform),
          (img.root_digest.empty() ? img.manifest_digest : img.root_digest).str(), false});
  return img;
}

Result<StageState*> Executor::ContextStage(const std::string& name, const oci::Platform& platform) {
  auto spec_it = opts_.build_contexts.find(name);
  if (spec_it == opts_.build_contexts.end()) return static_cast<StageState*>(nullptr);
  const std::string& spec = spec_it->second;
  std::string key_name = name + "@" + platform.Normalized().str();
  std::lock_guard lock(mu_);  // one source per context and platform, whichever stage asks first
  if (auto it = context_stages_.find(key_name); it != context_stages_.end())
    return it->second.get();
  auto s = std::make_unique<StageState>();
  s->name = "context " + name;
  std::string where = "--build-context " + name + "=" + spec;
  if (StartsWith(spec, "docker-image://")) {
    std::string ref = spec.substr(std::string("docker-image://").size());
    auto img = PullImage(ref, platform);
    if (!img.ok()) return img.error().Context(where);
    s->config = std::move(img->config);
    s->layers = std::move(img->layers);
    s->cache_key = "image:" + img->manifest_digest.str();
  } else if (StartsWith(spec, "oci-layout://")) {
    // oci-layout://DIR[:TAG|@DIGEST]: the image's blobs are copied into the content store.
    std::string rest = spec.substr(std::string("oci-layout://").size());
    std::string dir = rest, ref;
    if (size_t at = rest.rfind('@'); at != std::string::npos) {
      dir = rest.substr(0, at);
      ref = rest.substr(at + 1);
    } else if (size_t colon = rest.rfind(':');
               colon != std::string::npos && rest.find('/', colon) == std::string::npos) {
      dir = rest.substr(0, colon);
      ref = rest.substr(colon + 1);
    }
    auto layout = oci::ImageLayout::Open(dir);
    if (!layout.ok()) return layout.error().Context(where);
    oci::Descriptor root;
    if (StartsWith(ref, "sha256:")) {
      OCIB_ASSIGN_OR_RETURN(oci::Digest d, oci::Digest::Parse(ref));
      auto index = layout->ReadIndex();
      if (!index.ok()) return index.error().Context(where);
      bool found = false;
      for (const auto& m : index->manifests)
        if (m.digest == d) root = m, found = true;
      if (!found) {
        OCIB_ASSIGN_OR_RETURN(std::string bytes, oci::ReadBlob(layout->blobs(), d));
        OCIB_ASSIGN_OR_RETURN(std::string mt, oci::SniffMediaType(bytes));
        root = oci::DescribeBytes(mt, bytes);
      }
    } else {
      auto r =
          layout->Resolve(ref.empty() ? (layout->Resolve("latest").ok() ? "latest" : "") : ref);
      if (!r.ok()) return r.error().Context(where);
      root = *r;
    }
    auto image = oci::LoadImage(layout->blobs(), root, platform);
    if (!image.ok()) return image.error().Context(where);
    for (const auto& l : image->manifest.layers)
      OCIB_TRY(oci::CopyBlob(layout->blobs(), store_, l));
    s->config = image->config;
    s->layers = image->manifest.layers;
    s->cache_key = "image:" + image->descriptor.digest.str();
    Record({ResolvedSource::Kind::kImage, dir + (ref.empty() ? "" : ":" + ref),
            PurlPlatform(platform), root.digest.str(), true});
  } else {
    // A local directory: one layer holding its files (owned by root, as COPY from the context),
    // cached by the files' digest. .dockerignore in the directory applies, as for the context.
    auto ctx = BuildContext::Open(spec, "");
    if (!ctx.ok()) return ctx.error().Context(where);
    OCIB_ASSIGN_OR_RETURN(auto matches, ctx->Resolve("/"));
    OCIB_ASSIGN_OR_RETURN(std::string digest, ctx->Digest(matches, {}));
    s->config.SetPlatform(platform);
    s->config.config.env = {std::string("PATH=") + kDefaultPath};
    s->cache_key = "scratch:" + platform.Normalized().str();
    std::string ck = ChainKey(s->cache_key, {{"op", "context"}, {"digest", digest}});
    std::string created_by = "COPY context " + name + " / # buildkit";
    OCIB_ASSIGN_OR_RETURN(bool hit, ws_.TryCache(*s, ck, created_by, commit_));
    if (!hit) {
      OCIB_TRY(ws_.Materialize(*s));
      OCIB_ASSIGN_OR_RETURN(oci::RootDir src_root, oci::RootDir::Open(ctx->dir()));
      CopySourceTree tree{&src_root, nullptr, &*ctx, matches};
      CopyOptions co;
      co.dest = "/";
      OCIB_TRY(CopyInto(*s->root, *s->store, tree, co));
      OCIB_TRY(ws_.Commit(*s, ck, created_by, commit_));
    }
  }
  // Only read from now on: a reader's restore keeps no claim on the unpacked-tree cache.
  ws_.Finish(*s);
  StageState* raw = s.get();
  context_stages_[key_name] = std::move(s);
  return raw;
}

}  // namespace ocibuild::builder
