#include "cli/buildx.h"

#include <unistd.h>

#include <ctime>
#include <functional>
#include <iostream>

#include <nlohmann/json.hpp>

#include "builder/attestations.h"
#include "builder/sbom.h"
#include "cli/state_root.h"
#include "oci/image_config.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "registry/blob_cache.h"
#include "registry/client.h"
#include "registry/pusher.h"
#include "registry/reference.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild::cli {
namespace {

std::string EnvOr(const EnvMap& env, const std::string& k, const std::string& def = "") {
  auto it = env.find(k);
  return it == env.end() ? def : it->second;
}

bool EnvFalse(const EnvMap& env, const std::string& k) {
  std::string v = ToLower(EnvOr(env, k));
  return v == "false" || v == "0" || v == "no" || v == "off";
}

std::string NowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string GitOut(const std::string& dir, const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"git", "-C", dir};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunProcess(argv);
  if (!r.ok() || !r->success()) return "";
  return std::string(TrimSpace(r->out));
}

// A remote URL without credentials ("https://user:token@host/x" -> "https://host/x").
std::string StripCredentials(std::string url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@');
  if (scheme != std::string::npos && at != std::string::npos && at > scheme &&
      url.find('/', scheme + 3) > at)
    url = url.substr(0, scheme + 3) + url.substr(at + 1);
  return url;
}

}  // namespace

Result<CheckResult> CheckDockerfile(const std::string& text, const std::string& display,
                                    const Options& opts) {
  CheckResult r;
  auto parsed = dockerfile::ParseDockerfile(text, display);
  if (!parsed.ok()) return r;
  std::string check;
  if (const auto* d = parsed->FindDirective("check")) check = d->value;
  // The build arg wins over the directive, as in BuildKit.
  for (const auto& [k, v] : opts.build_args)
    if (k == "BUILDKIT_DOCKERFILE_CHECK") check = v;
  auto cfg = dockerfile::ParseCheckConfig(check);
  if (!cfg.ok()) return cfg.error().Context(display);
  r.config = *cfg;
  r.warnings = dockerfile::Lint(*parsed, r.config);
  r.file = std::move(*parsed);
  return r;
}

int PrintCheckReport(const CheckResult& r, const builder::GithubActions& gha, const EnvMap& env) {
  size_t n = r.warnings.size();
  std::string noun = n == 1 ? "warning has" : "warnings have";
  if (n == 0) {
    std::cout << "Check complete, no warnings found.\n";
    return 0;
  }
  std::cout << "Check complete, " << n << " " << noun << " been found!\n";
  for (const auto& w : r.warnings) {
    std::cout << "\nWARNING: " << w.rule << " - " << w.url << "\n"
              << w.description << "\n"
              << w.message << "\n"
              << dockerfile::FormatLintLocation(*r.file, w);
  }
  if (gha.active() && !EnvFalse(env, "DOCKER_BUILD_CHECKS_ANNOTATIONS")) {
    char cwd[4096];
    std::string file = r.file->filename;
    if (!StartsWith(file, "/") && ::getcwd(cwd, sizeof cwd)) file = JoinPath(cwd, file);
    for (const auto& w : r.warnings)
      std::cout << gha.WarningAnnotationAt(gha.AnnotationPath(file), w.line, w.rule,
                                           w.message + " (" + w.url + ")");
  }
  std::cout.flush();
  return 1;
}

void ReportCheckWarnings(const CheckResult& r, const std::string& dockerfile_path,
                         const builder::GithubActions& gha, const EnvMap& env) {
  if (r.warnings.empty()) return;
  std::string file = dockerfile_path;
  char cwd[4096];
  if (!StartsWith(file, "/") && ::getcwd(cwd, sizeof cwd)) file = JoinPath(cwd, file);
  for (const auto& w : r.warnings) {
    std::cerr << "WARNING: " << w.rule << ": " << w.message << " (line " << w.line << ")\n";
    if (gha.active() && !EnvFalse(env, "DOCKER_BUILD_CHECKS_ANNOTATIONS"))
      std::cout << gha.WarningAnnotationAt(gha.AnnotationPath(file), w.line, w.rule,
                                           w.message + " (" + w.url + ")");
  }
  std::cout.flush();
}

oci::Annotations AnnotationsOf(const Options& opts, const std::string& kind,
                               const std::string& platform) {
  oci::Annotations out;
  for (const auto& a : opts.annotations) {
    if (std::find(a.types.begin(), a.types.end(), kind) == a.types.end()) continue;
    if (!a.platform.empty()) {
      auto want = oci::Platform::Parse(a.platform);
      auto have = oci::Platform::Parse(platform);
      if (!want.ok() || !have.ok() || !oci::PlatformMatches(*want, *have)) continue;
    }
    out[a.key] = a.value;
  }
  return out;
}

VcsInfo DetectVcs(const std::string& context_dir, const EnvMap& env) {
  VcsInfo v;
  if (!EnvFalse(env, "BUILDX_GIT_INFO")) {
    v.revision = GitOut(context_dir, {"rev-parse", "HEAD"});
    if (!v.revision.empty())
      v.source = StripCredentials(GitOut(context_dir, {"config", "--get", "remote.origin.url"}));
  }
  if (v.revision.empty() && EnvOr(env, "GITHUB_ACTIONS") == "true") {
    v.revision = EnvOr(env, "GITHUB_SHA");
    if (!EnvOr(env, "GITHUB_REPOSITORY").empty())
      v.source = EnvOr(env, "GITHUB_SERVER_URL", "https://github.com") + "/" +
                 EnvOr(env, "GITHUB_REPOSITORY");
  }
  return v;
}

Result<builder::BuildResult> AssembleResult(oci::ContentStore& store,
                                            std::vector<builder::PlatformResult> images,
                                            const Options& opts, const EnvMap& env,
                                            const AttestationContext& ctx,
                                            builder::Progress& progress) {
  builder::BuildResult out;
  const AttestSpec* prov = opts.Attest("provenance");
  const AttestSpec* sbom = opts.Attest("sbom");
  oci::Annotations index_ann = AnnotationsOf(opts, "index");
  out.index_descriptor_annotations = AnnotationsOf(opts, "index-descriptor");
  std::vector<oci::Descriptor> attestation_entries;
  for (auto& pr : images) {
    std::string plat = pr.platform.str();  // as the index names it (no arm64/v8)
    std::vector<std::string> names;
    for (const auto& t : opts.tags) names.push_back(builder::ImagePurl(t, plat));
    std::vector<nlohmann::json> statements;
    const oci::Digest& subject = pr.image.manifest_desc.digest;
    if (sbom) {
      int step = progress.StepStarted("[" + plat + "] generating SBOM (SPDX)");
      auto target = pr.exec->MaterializedTarget();
      if (!target.ok()) return target.error().Context("SBOM");
      auto pkgs = builder::ScanPackages(*(*target)->root);
      if (!pkgs.ok()) return pkgs.error().Context("SBOM");
      builder::SbomDocumentInfo info{opts.tags.empty() ? opts.context_dir : opts.tags.front(),
                                     NowRfc3339(), "ocibuild-" + ctx.version,
                                     ctx.invocation_id + plat};
      statements.push_back(builder::InTotoStatement(
          builder::kSpdxDocument, builder::SpdxDocument(*pkgs, info), names, subject));
      progress.StepOutput(step, std::to_string(pkgs->size()) + " packages\n");
      progress.StepFinished(step, builder::StepState::kDone);
    }
    if (prov) {
      builder::ProvenanceInput in;
      auto attr = [&](const std::string& k) {
        auto it = prov->attrs.find(k);
        return it == prov->attrs.end() ? std::string() : it->second;
      };
      in.mode = attr("mode").empty() ? "min" : attr("mode");
      in.builder_id = attr("builder-id");
      if (in.builder_id.empty() && !EnvOr(env, "GITHUB_RUN_ID").empty())
        in.builder_id = EnvOr(env, "GITHUB_SERVER_URL", "https://github.com") + "/" +
                        EnvOr(env, "GITHUB_REPOSITORY") + "/actions/runs/" +
                        EnvOr(env, "GITHUB_RUN_ID") + "/attempts/" +
                        EnvOr(env, "GITHUB_RUN_ATTEMPT", "1");
      in.reproducible = attr("reproducible") == "true";
      in.builder_version = ctx.version;
      in.invocation_id = ctx.invocation_id;
      in.started_on = ctx.started_on;
      in.finished_on = NowRfc3339();
      in.builder_platform = oci::Platform::Host().str();
      in.dockerfile_path = ctx.dockerfile_path;
      in.dockerfile_text = ctx.dockerfile_text;
      in.vcs_source = ctx.vcs.source;
      in.vcs_revision = ctx.vcs.revision;
      for (const auto& [k, v] : opts.build_args) in.build_args[k] = v;
      in.labels = opts.labels;
      in.target = opts.target;
      in.platforms = opts.platforms;
      for (const auto& s : opts.secrets) in.secret_ids.push_back(s.id);
      for (const auto& [id, sock] : opts.ssh) in.ssh_ids.push_back(id);
      for (const auto& [k, v] : opts.build_contexts) in.build_contexts[k] = v;
      in.no_cache = opts.no_cache;
      const dockerfile::BuildPlan& plan = pr.exec->plan();
      for (const auto& st : plan.stages) {
        in.steps.push_back("[" + st.display_name + "] FROM " + st.base_expr);
        for (const auto& step : st.steps)
          in.steps.push_back("[" + st.display_name + "] " + dockerfile::FormatInstruction(step));
      }
      in.sources = pr.exec->Sources();
      in.hermetic = !pr.exec->UsedNetwork();
      statements.push_back(builder::InTotoStatement(
          builder::kSlsaProvenanceV1, builder::MakeProvenancePredicate(in), names, subject));
    }
    if (!statements.empty()) {
      OCIB_ASSIGN_OR_RETURN(oci::Descriptor att,
                            builder::WriteAttestationManifest(store, statements, subject));
      attestation_entries.push_back(att);
    }
  }
  out.images = std::move(images);
  if (out.images.size() == 1 && attestation_entries.empty()) {
    // As BuildKit: one platform without attestations is pushed as its manifest alone, so
    // there is no index to annotate.
    if (!index_ann.empty())
      progress.Warning(
          "--annotation index:...: this build makes no index (one platform, no attestations); "
          "the index annotations are not used");
    out.root = out.images[0].image.manifest_desc;
    return out;
  }
  oci::Index idx;
  for (const auto& pr : out.images) {
    oci::Descriptor d = pr.image.manifest_desc;
    oci::Platform p;
    p.os = pr.platform.os;
    p.architecture = pr.platform.architecture;
    p.variant = pr.platform.variant;
    d.platform = p;
    d.annotations = AnnotationsOf(opts, "manifest-descriptor", pr.platform.Normalized().str());
    idx.manifests.push_back(std::move(d));
  }
  for (auto& a : attestation_entries) idx.manifests.push_back(std::move(a));
  idx.annotations = index_ann;
  std::string bytes = idx.Serialize();
  OCIB_ASSIGN_OR_RETURN(out.root, oci::PutBlob(store, idx.media_type, bytes));
  return out;
}

namespace {

// Copies a manifest or index (and, when `fetch_blobs`, its blobs) from `repo` into `store`.
Status ImportTree(registry::RegistryClient& client, const std::string& repo,
                  const oci::Descriptor& d, oci::ContentStore& store, bool fetch_blobs, int depth) {
  if (depth > 4) return Error{"index nesting too deep at " + d.digest.str()};
  OCIB_ASSIGN_OR_RETURN(registry::FetchedManifest m, client.GetManifest(repo, d.digest.str()));
  OCIB_ASSIGN_OR_RETURN(oci::Descriptor stored, oci::PutBlob(store, m.media_type, m.bytes));
  (void)stored;
  if (oci::IsIndexType(m.media_type)) {
    OCIB_ASSIGN_OR_RETURN(oci::Index idx, oci::Index::Parse(m.bytes));
    for (const auto& c : idx.manifests)
      OCIB_TRY(ImportTree(client, repo, c, store, fetch_blobs, depth + 1));
    return Ok();
  }
  OCIB_ASSIGN_OR_RETURN(oci::Manifest man, oci::Manifest::Parse(m.bytes));
  OCIB_TRY(client.FetchBlob(repo, man.config, store));  // small, and tells the platform
  if (fetch_blobs)
    for (const auto& l : man.layers) OCIB_TRY(client.FetchBlob(repo, l, store));
  return Ok();
}

}  // namespace

int ImagetoolsCreate(const Options& opts, const EnvMap& env) {
  auto fail = [](const Error& e) {
    std::cerr << "ocibuild imagetools create: " << e.message << "\n";
    return 1;
  };
  std::vector<registry::Reference> targets;
  for (const auto& t : opts.tags) {
    auto r = registry::ParseReference(t);
    if (!r.ok()) return fail(r.error().Context("-t " + t));
    targets.push_back(*r);
  }
  for (const auto& t : targets)
    if (t.registry != targets[0].registry)
      return fail(Error{"all -t references must be on one registry"});
  auto root = ChooseStateRoot(env);
  if (!root.ok()) return fail(root.error());
  auto store = registry::BlobCache::Open(root->path);
  if (!store.ok()) return fail(store.error());
  registry::RegistryOptions ropts;
  ropts.insecure_registries = opts.insecure_registries;
  ropts.ca_file = opts.registry_ca;
  registry::CredentialEnv cenv;
  cenv.vars = env;
  std::map<std::string, std::unique_ptr<registry::RegistryClient>> clients;
  auto client_for = [&](const std::string& reg) -> Result<registry::RegistryClient*> {
    auto& c = clients[reg];
    if (!c) {
      OCIB_ASSIGN_OR_RETURN(c, registry::RegistryClient::Create(reg, ropts, cenv));
    }
    return c.get();
  };
  oci::Index idx;
  registry::PushOptions po;
  for (const auto& src : opts.sources) {
    // A bare digest names a manifest in the first target's repository (buildx's shorthand).
    std::string text = StartsWith(src, "sha256:") ? targets[0].Name() + "@" + src : src;
    auto ref = registry::ParseReference(text);
    if (!ref.ok()) return fail(ref.error().Context(src));
    auto client = client_for(ref->registry);
    if (!client.ok()) return fail(client.error());
    auto m = (*client)->GetManifest(ref->repository, ref->Identifier());
    if (!m.ok()) return fail(m.error().Context(src));
    oci::Descriptor d = m->descriptor();
    bool same_registry = ref->registry == targets[0].registry;
    if (Status st = ImportTree(**client, ref->repository, d, **store, !same_registry, 0); !st.ok())
      return fail(st.error().Context(src));
    if (oci::IsIndexType(m->media_type)) {
      auto sub = oci::Index::Parse(m->bytes);
      if (!sub.ok()) return fail(sub.error().Context(src));
      for (const auto& c : sub->manifests) {
        idx.manifests.push_back(c);
        po.blob_sources.emplace(c.digest.str(), *ref);
      }
    } else {
      auto man = oci::Manifest::Parse(m->bytes);
      if (!man.ok()) return fail(man.error().Context(src));
      auto cfg_bytes = oci::ReadBlob(**store, man->config.digest);
      if (!cfg_bytes.ok()) return fail(cfg_bytes.error());
      auto cfg = oci::ImageConfig::Parse(*cfg_bytes);
      if (!cfg.ok()) return fail(cfg.error().Context(src));
      oci::Platform p = cfg->platform();
      oci::Platform entry;
      entry.os = p.os;
      entry.architecture = p.architecture;
      entry.variant = p.variant;
      d.platform = entry;
      idx.manifests.push_back(d);
    }
    if (same_registry) {
      // Blobs another repository of this registry holds are mounted, not copied.
      std::function<void(const oci::Descriptor&)> walk = [&](const oci::Descriptor& x) {
        auto b = oci::ReadBlob(**store, x.digest);
        if (!b.ok()) return;
        if (oci::IsIndexType(x.media_type)) {
          if (auto i = oci::Index::Parse(*b); i.ok())
            for (const auto& c : i->manifests) walk(c);
        } else if (auto mm = oci::Manifest::Parse(*b); mm.ok()) {
          po.blob_sources.emplace(mm->config.digest.str(), *ref);
          for (const auto& l : mm->layers) po.blob_sources.emplace(l.digest.str(), *ref);
        }
      };
      walk(d);
    }
  }
  // Duplicate entries (the same manifest named twice) are listed once.
  std::vector<oci::Descriptor> unique;
  for (const auto& d : idx.manifests)
    if (std::none_of(unique.begin(), unique.end(),
                     [&](const oci::Descriptor& u) { return u.digest == d.digest; }))
      unique.push_back(d);
  idx.manifests = unique;
  idx.annotations = AnnotationsOf(opts, "index");
  std::string bytes = idx.Serialize();
  if (opts.dry_run) {
    std::cout << nlohmann::json::parse(bytes).dump(2) << "\n";
    return 0;
  }
  auto desc = oci::PutBlob(**store, idx.media_type, bytes);
  if (!desc.ok()) return fail(desc.error());
  auto client = client_for(targets[0].registry);
  if (!client.ok()) return fail(client.error());
  auto res = registry::Push(**client, **store, *desc, targets, po);
  if (!res.ok()) return fail(res.error());
  for (const auto& t : targets) std::cerr << "pushed " << t.String() << "\n";
  std::cout << desc->digest.str() << "\n";
  return 0;
}

}  // namespace ocibuild::cli
