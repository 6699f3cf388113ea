#include "builder/attestations.h"

#include "oci/image_config.h"
#include "oci/manifest.h"
#include "registry/base64.h"
#include "registry/reference.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

// Percent-encoding of a purl qualifier value: unreserved characters stay, the rest (the
// platform's '/') become %XX.
std::string PurlEscape(const std::string& s) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

nlohmann::json DigestSet(const std::string& digest) {
  // "sha256:<hex>" -> {"sha256": hex}; a bare git commit is sha1 (40) or sha256 (64).
  size_t colon = digest.find(':');
  if (colon != std::string::npos) return {{digest.substr(0, colon), digest.substr(colon + 1)}};
  return {{digest.size() == 64 ? "sha256" : "sha1", digest}};
}

}  // namespace

std::string ImagePurl(const std::string& reference, const std::string& platform,
                      const std::string& type) {
  std::string path = reference, version, digest;
  if (type == "docker") {
    auto ref = registry::ParseReference(reference);
    if (ref.ok()) {
      std::string repo = ref->repository;
      if (ref->registry == registry::kDockerHubDomain) {
        if (StartsWith(repo, "library/")) repo = repo.substr(8);
        path = repo;
      } else {
        path = ref->registry + "/" + repo;
      }
      version = ref->tag;
      digest = ref->digest.str();
      if (version.empty() && digest.empty()) version = "latest";
    }
  } else if (size_t colon = reference.rfind(':');
             colon != std::string::npos && reference.find('/', colon) == std::string::npos) {
    path = reference.substr(0, colon);
    version = reference.substr(colon + 1);
  }
  std::string out = "pkg:" + type + "/" + path;
  if (!version.empty()) out += "@" + version;
  std::vector<std::string> q;
  if (!digest.empty()) q.push_back("digest=" + PurlEscape(digest));
  if (!platform.empty()) q.push_back("platform=" + PurlEscape(platform));
  if (!q.empty()) out += "?" + Join(q, "&");
  return out;
}

nlohmann::json MakeProvenancePredicate(const ProvenanceInput& in) {
  const bool max = in.mode == "max";
  using json = nlohmann::json;

  json config_source = {{"path", in.dockerfile_path}};
  // The Dockerfile's own digest: what was built is pinned even for an untracked local context.
  json cs_digest = {{"sha256", Sha256::HexOf(in.dockerfile_text)}};
  if (!in.vcs_source.empty() && !in.vcs_revision.empty()) {
    config_source["uri"] = in.vcs_source + "#" + in.vcs_revision;
    cs_digest.update(DigestSet(in.vcs_revision));
  }
  config_source["digest"] = cs_digest;

  // The request as BuildKit's dockerfile frontend would have received it.
  json args = json::object();
  if (!in.dockerfile_path.empty()) args["filename"] = in.dockerfile_path;
  if (!in.target.empty()) args["target"] = in.target;
  if (!in.platforms.empty()) args["platform"] = Join(in.platforms, ",");
  if (in.no_cache) args["no-cache"] = "";
  for (const auto& [name, spec] : in.build_contexts) args["context:" + name] = spec;
  if (max) {
    // Build args and labels are left out of mode=min, as BuildKit does: they may carry data
    // the publisher did not mean to publish. Secrets are never here, only their ids below.
    for (const auto& [k, v] : in.build_args) args["build-arg:" + k] = v;
    for (const auto& [k, v] : in.labels) args["label:" + k] = v;
  }
  json request = {{"frontend", "dockerfile.v0"},
                  {"args", args},
                  {"locals", json::array({{{"name", "context"}}, {{"name", "dockerfile"}}})}};
  if (max) {
    json secrets = json::array(), ssh = json::array();
    for (const auto& id : in.secret_ids) secrets.push_back({{"id", id}});
    for (const auto& id : in.ssh_ids) ssh.push_back({{"id", id}});
    request["secrets"] = secrets;
    request["ssh"] = ssh;
  }

  json deps = json::array();
  for (const auto& s : in.sources) {
    json d;
    switch (s.kind) {
      case ResolvedSource::Kind::kImage:
        d["uri"] = ImagePurl(s.ref, s.platform, s.local ? "oci" : "docker");
        break;
      case ResolvedSource::Kind::kGit:
      case ResolvedSource::Kind::kHttp:
        d["uri"] = s.ref;
        break;
    }
    if (!s.digest.empty()) d["digest"] = DigestSet(s.digest);
    deps.push_back(d);
  }
  if (!in.vcs_source.empty() && !in.vcs_revision.empty())
    deps.push_back(
        {{"uri", in.vcs_source + "#" + in.vcs_revision}, {"digest", DigestSet(in.vcs_revision)}});

  json internal = {{"builderPlatform", in.builder_platform}};
  json metadata_ext = json::object();
  if (!in.vcs_source.empty() || !in.vcs_revision.empty()) {
    json vcs = {{"localdir:context", "."}, {"localdir:dockerfile", "."}};
    if (!in.vcs_source.empty()) vcs["source"] = in.vcs_source;
    if (!in.vcs_revision.empty()) vcs["revision"] = in.vcs_revision;
    metadata_ext["vcs"] = vcs;
  }
  if (max) {
    // No LLB here: the build's steps as the Dockerfile states them, and the Dockerfile itself.
    internal["buildConfig"] = {{"dockerfileSteps", in.steps}};
    metadata_ext["source"] = {
        {"infos", json::array({{{"filename", in.dockerfile_path},
                                {"language", "Dockerfile"},
                                {"data", registry::Base64Encode(in.dockerfile_text)}}})}};
  }

  json run_metadata = {{"invocationID", in.invocation_id},
                       {"startedOn", in.started_on},
                       {"finishedOn", in.finished_on},
                       {"buildkit_metadata", metadata_ext},
                       {"buildkit_hermetic", in.hermetic},
                       {"buildkit_completeness",
                        {{"request", max},
                         // A local context is not fully tracked; with its git revision known it
                         // still is not, since the checkout may hold uncommitted changes.
                         {"resolvedDependencies", false}}},
                       {"buildkit_reproducible", in.reproducible}};
  json builder = {{"id", in.builder_id}};
  if (!in.builder_version.empty()) builder["version"] = {{"ocibuild", in.builder_version}};
  return {{"buildDefinition",
           {{"buildType",
             "https://github.com/moby/buildkit/blob/master/docs/attestations/"
             "slsa-definitions.md"},
            {"externalParameters", {{"configSource", config_source}, {"request", request}}},
            {"internalParameters", internal},
            {"resolvedDependencies", deps}}},
          {"runDetails", {{"builder", builder}, {"metadata", run_metadata}}}};
}

nlohmann::json InTotoStatement(const std::string& predicate_type, const nlohmann::json& predicate,
                               const std::vector<std::string>& names, const oci::Digest& subject) {
  nlohmann::json subjects = nlohmann::json::array();
  for (const auto& n : names)
    subjects.push_back({{"name", n}, {"digest", {{"sha256", subject.hex()}}}});
  if (subjects.empty())
    subjects.push_back({{"name", "_"}, {"digest", {{"sha256", subject.hex()}}}});
  return {{"_type", kInTotoStatementType},
          {"predicateType", predicate_type},
          {"subject", subjects},
          {"predicate", predicate}};
}

Result<oci::Descriptor> WriteAttestationManifest(oci::ContentStore& store,
                                                 const std::vector<nlohmann::json>& statements,
                                                 const oci::Digest& subject,
                                                 oci::MediaFormat format) {
  oci::Manifest m;
  nlohmann::json diff_ids = nlohmann::json::array();
  for (const auto& st : statements) {
    std::string bytes = st.dump();
    OCIB_ASSIGN_OR_RETURN(oci::Descriptor d, oci::PutBlob(store, kInTotoMediaType, bytes));
    d.annotations[kPredicateTypeAnnotation] = st.value("predicateType", "");
    diff_ids.push_back(d.digest.str());
    m.layers.push_back(std::move(d));
  }
  // The config BuildKit gives attestation manifests: a platform no runtime will pick.
  nlohmann::json config = {{"architecture", "unknown"},
                           {"os", "unknown"},
                           {"config", nlohmann::json::object()},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  bool oci_types = format == oci::MediaFormat::kOci;
  OCIB_ASSIGN_OR_RETURN(
      m.config,
      oci::PutBlob(store, oci_types ? oci::media_type::kOciConfig : oci::media_type::kDockerConfig,
                   config.dump()));
  m.media_type =
      std::string(oci_types ? oci::media_type::kOciManifest : oci::media_type::kDockerManifest);
  std::string bytes = m.Serialize();
  OCIB_ASSIGN_OR_RETURN(oci::Descriptor d, oci::PutBlob(store, m.media_type, bytes));
  d.annotations[kReferenceTypeAnnotation] = kAttestationManifestType;
  d.annotations[kReferenceDigestAnnotation] = subject.str();
  oci::Platform unknown;
  unknown.os = "unknown";
  unknown.architecture = "unknown";
  d.platform = unknown;
  return d;
}

}  // namespace ocibuild::builder
