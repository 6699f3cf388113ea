// Attestations attached the way BuildKit attaches them: in-toto statements (SLSA provenance v1,
// SPDX SBOMs) stored as layers of an "attestation manifest" (platform unknown/unknown) that the
// image index lists next to the image it describes, with the annotations
// vnd.docker.reference.type=attestation-manifest and vnd.docker.reference.digest=<image>.
// Tools that read BuildKit's attestations (buildx imagetools inspect, cosign, crane, Docker
// Hub/Scout) find ours in the same place and shape.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "builder/executor.h"
#include "oci/content_store.h"
#include "oci/descriptor.h"
#include "oci/media_types.h"
#include "oci/platform.h"

namespace ocibuild::builder {

inline constexpr char kInTotoStatementType[] = "https://in-toto.io/Statement/v0.1";
inline constexpr char kInTotoMediaType[] = "application/vnd.in-toto+json";
inline constexpr char kPredicateTypeAnnotation[] = "in-toto.io/predicate-type";
inline constexpr char kSlsaProvenanceV1[] = "https://slsa.dev/provenance/v1";
inline constexpr char kSpdxDocument[] = "https://spdx.dev/Document";
inline constexpr char kReferenceTypeAnnotation[] = "vnd.docker.reference.type";
inline constexpr char kReferenceDigestAnnotation[] = "vnd.docker.reference.digest";
inline constexpr char kAttestationManifestType[] = "attestation-manifest";

// A package URL for an image (BuildKit's subject and dependency names):
// pkg:docker/NAMESPACE/NAME@TAG?platform=os%2Farch — docker.io/library/ dropped as Docker's
// familiar names drop it; `oci` as the type for images from a local OCI layout.
std::string ImagePurl(const std::string& reference, const std::string& platform,
                      const std::string& type = "docker");

struct ProvenanceInput {
  std::string mode = "min";  // min | max
  std::string builder_id;
  std::string builder_version;  // ocibuild's
  std::string invocation_id;
  std::string started_on, finished_on;  // RFC 3339
  std::string builder_platform;         // os/arch of the machine
  // The Dockerfile: its path relative to the context, its bytes.
  std::string dockerfile_path;
  std::string dockerfile_text;
  // The context's version control, where known (a git checkout, or GITHUB_* under Actions).
  std::string vcs_source;                         // e.g. https://github.com/org/repo
  std::string vcs_revision;                       // commit
  std::map<std::string, std::string> build_args;  // never secrets: those are ids only
  std::vector<std::pair<std::string, std::string>> labels;
  std::string target;
  std::vector<std::string> platforms;
  std::vector<std::string> secret_ids;
  std::vector<std::string> ssh_ids;
  std::map<std::string, std::string> build_contexts;
  bool no_cache = false;
  std::vector<std::string> steps;  // "[stage n/m] INSTRUCTION" lines (mode=max)
  std::vector<ResolvedSource> sources;
  bool hermetic = false;
  bool reproducible = false;
};

// The SLSA provenance v1 predicate, with the field set of BuildKit's provenance (its
// "slsa-definitions"): mode=min leaves out build args, secrets, ssh ids and the build steps.
nlohmann::json MakeProvenancePredicate(const ProvenanceInput& in);

// An in-toto statement about one image manifest, named by each of `names` (package URLs).
nlohmann::json InTotoStatement(const std::string& predicate_type, const nlohmann::json& predicate,
                               const std::vector<std::string>& names, const oci::Digest& subject);

// Stores the statements as the layers of an attestation manifest (config: platform
// unknown/unknown, diff_ids = the layers' digests) and returns its index entry: platform
// unknown/unknown, the reference annotations pointing at `subject`.
Result<oci::Descriptor> WriteAttestationManifest(oci::ContentStore& store,
                                                 const std::vector<nlohmann::json>& statements,
                                                 const oci::Digest& subject,
                                                 oci::MediaFormat format = oci::MediaFormat::kOci);

}  // namespace ocibuild::builder
