// buildx's build features on top of the executor: Dockerfile checks (--call=check and the
// warnings of a build), --annotation, the attestations (--provenance, --sbom) and the image
// index of a multi-platform or attested build, and `imagetools create`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "builder/github_actions.h"
#include "builder/outputs.h"
#include "builder/progress.h"
#include "cli/options.h"
#include "dockerfile-parser/lint.h"
#include "oci/content_store.h"

namespace ocibuild::cli {

using EnvMap = std::map<std::string, std::string>;

// The checks of a Dockerfile (a parse failure gives none: the build reports it).
struct CheckResult {
  std::vector<dockerfile::LintWarning> warnings;
  dockerfile::CheckConfig config;
  std::optional<dockerfile::ParsedDockerfile> file;
};
Result<CheckResult> CheckDockerfile(const std::string& text, const std::string& display,
                                    const Options& opts);

// --call=check: the report as buildx prints it; exit status 1 when something was found.
int PrintCheckReport(const CheckResult& r, const builder::GithubActions& gha, const EnvMap& env);
// A build's check warnings: "WARNING: RULE: message (line N)" on stderr and, under Actions
// unless DOCKER_BUILD_CHECKS_ANNOTATIONS=false, a warning annotation on the Dockerfile line.
void ReportCheckWarnings(const CheckResult& r, const std::string& dockerfile_path,
                         const builder::GithubActions& gha, const EnvMap& env);

// The --annotation values of one kind ("manifest", "index", ...) for `platform` ("" = any).
oci::Annotations AnnotationsOf(const Options& opts, const std::string& kind,
                               const std::string& platform = "");

// The context's version control: a git checkout's origin and HEAD, else GitHub Actions'
// repository and commit.
struct VcsInfo {
  std::string source, revision;
};
VcsInfo DetectVcs(const std::string& context_dir, const EnvMap& env);

// Everything the attestations need besides the images themselves.
struct AttestationContext {
  std::string dockerfile_path;  // relative to the context when inside it
  std::string dockerfile_text;
  std::string started_on;
  VcsInfo vcs;
  std::string invocation_id;
  std::string version;                            // ocibuild's
  std::map<std::string, std::string> secret_ids;  // id -> "" (values never come here)
};

// Adds the requested attestations and makes the root: one platform without attestations is
// its manifest; otherwise an index (manifest-descriptor annotations on its entries, index
// annotations on it) listing each image and its attestation manifest.
Result<builder::BuildResult> AssembleResult(oci::ContentStore& store,
                                            std::vector<builder::PlatformResult> images,
                                            const Options& opts, const EnvMap& env,
                                            const AttestationContext& ctx,
                                            builder::Progress& progress);

// `ocibuild imagetools create -t REF... SOURCE...`.
int ImagetoolsCreate(const Options& opts, const EnvMap& env);

}  // namespace ocibuild::cli
