// Command-line options of `ocibuild`, docker-buildx style. Parsing is pure: it reads argv and the
// environment it is given, and returns options or an error that names the flag.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace ocibuild::cli {

enum class Command { kBuild, kPrintPlan, kDoctor, kHelp, kVersion };
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

struct Options {
  Command command = Command::kBuild;
  std::string context_dir;
  std::string dockerfile;  // empty: <context>/Dockerfile
  std::vector<std::string> tags;
  std::vector<std::pair<std::string, std::string>> build_args;
  std::string target;
  std::vector<std::pair<std::string, std::string>> labels;
  std::string platform;  // empty: the host's
  bool no_cache = false;
  std::vector<std::string> no_cache_filter;  // --no-cache-filter: stage names
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
};

// argv excludes the program name. `env` resolves `--build-arg KEY` (no value) and `--secret
// id=x,env=VAR` checks, as docker does.
Result<Options> ParseArgs(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env);

std::string UsageText();
std::string VersionText();

}  // namespace ocibuild::cli
