// Command-line options of `ocibuild`, docker-buildx style. Parsing is pure: it reads argv and the
// environment it is given, and returns options or an error that names the flag.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace ocibuild::cli {

enum class Command { kBuild, kPrintPlan, kDoctor, kHelp, kVersion, kImagetoolsCreate };
enum class Progress { kAuto, kPlain, kTty, kQuiet };

struct OutputSpec {
  std::string type;                          // registry, image, oci, docker, tar, local
  std::map<std::string, std::string> attrs;  // dest=..., name=..., push=true, ...
  std::string raw;
};

struct SecretSpec {
  std::string id;
  std::string src;  // file path, or empty
  std::string env;  // environment variable, or empty
};

struct CacheSpec {
  std::string type;  // registry, local, inline
  std::map<std::string, std::string> attrs;
  std::string raw;
};

// --attest type=provenance|sbom[,k=v...] (and --provenance / --sbom, their shorthands).
struct AttestSpec {
  std::string type;  // provenance, sbom
  std::map<std::string, std::string> attrs;
  bool disabled = false;  // disabled=true, --provenance=false, --sbom=false
};

// --annotation [TYPES[PLATFORM]:]KEY=VALUE, as buildx: TYPES is a comma list of manifest, index,
// manifest-descriptor, index-descriptor (default manifest); PLATFORM limits it to one platform.
struct AnnotationSpec {
  std::vector<std::string> types;
  std::string platform;  // "" = every platform
  std::string key;
  std::string value;
};

struct Options {
  Command command = Command::kBuild;
  std::string context_dir;
  std::string dockerfile;  // empty: <context>/Dockerfile
  std::vector<std::string> tags;
  std::vector<std::pair<std::string, std::string>> build_args;
  std::string target;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::string> platforms;  // empty: the host's; several build one index
  bool no_cache = false;
  std::optional<bool> push;  // unset: push when tags are given and no --output says otherwise
  std::vector<OutputSpec> outputs;
  Progress progress = Progress::kAuto;
  std::string iidfile;
  std::string metadata_file;
  std::string digest_file;
  std::vector<SecretSpec> secrets;
  std::map<std::string, std::string> ssh;  // --ssh ID[=SOCKET]: ssh-agent sockets by id
  std::vector<CacheSpec> cache_from;
  std::vector<CacheSpec> cache_to;
  std::vector<std::string> insecure_registries;
  std::string registry_ca;
  // From -o ...,compression=gzip|zstd|uncompressed,compression-level=N (BuildKit's attributes):
  // how the layers built in this run are compressed; cached and base layers keep theirs.
  std::string compression;               // "" = gzip
  int compression_level = -1;            // -1 = the compressor's default
  std::vector<std::string> doctor_refs;  // `ocibuild doctor [REF]`

  // buildx's flags beyond `docker build`'s.
  std::vector<AttestSpec> attests;  // at most one per type; the last one given wins
  std::vector<AnnotationSpec> annotations;
  // --build-context NAME=DIR|docker-image://REF|oci-layout://DIR[:TAG|@DIGEST]
  std::vector<std::pair<std::string, std::string>> build_contexts;
  bool pull = false;                                           // --pull
  std::vector<std::pair<std::string, std::string>> add_hosts;  // --add-host HOST:IP
  std::string network;                                         // --network: default|none|host
  std::vector<std::string> no_cache_filter;                    // --no-cache-filter STAGE
  std::string call = "build";                                  // --call build|check, --check

  // `ocibuild imagetools create -t REF... SOURCE...`
  std::vector<std::string> sources;
  bool dry_run = false;

  // The attestation of `type` that is asked for (and not disabled), or null.
  const AttestSpec* Attest(const std::string& type) const;
};

// argv excludes the program name. `env` resolves `--build-arg KEY` (no value) and `--secret
// id=x,env=VAR` checks, as docker does.
Result<Options> ParseArgs(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env);

std::string UsageText();
std::string VersionText();

}  // namespace ocibuild::cli
