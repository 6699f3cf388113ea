// Real servers on 127.0.0.1 for registry integration tests: Debian's docker-registry in three
// auth modes (none; htpasswd over TLS with a test CA; token auth with token_server.py), the
// fault-injecting proxy (fault_proxy.py), and a generator of small random test images.
// Every server is a Child: killed and reaped when its owner dies.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci/content_store.h"
#include "oci/descriptor.h"
#include "oci/platform.h"
#include "registry/credentials.h"
#include "registry/options.h"
#include "util/fs.h"
#include "util/result.h"
#include "util/subprocess.h"

namespace ocibuild::registry::testing {

enum class AuthMode { kNone, kHtpasswdTls, kToken };
const char* AuthModeName(AuthMode m);

// True when `tool` is on PATH (docker-registry, skopeo, htpasswd, openssl, python3).
bool HaveTool(const std::string& tool);
// A missing-tool message for GTEST_SKIP, or "" when all are present.
std::string MissingTools(const std::vector<std::string>& tools);

Result<int> FreePort();
Status WaitForPort(int port, int timeout_ms = 15000);

class TestRegistry {
 public:
  static Result<std::unique_ptr<TestRegistry>> Start(AuthMode mode);
  ~TestRegistry();

  AuthMode mode() const { return mode_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  const std::string& dir() const { return dir_.path(); }
  // What a client needs: the CA for TLS mode, nothing else.
  RegistryOptions ClientOptions() const;
  // An environment whose DOCKER_CONFIG holds this registry's credentials (none for kNone),
  // for `registry_host` (this registry or a proxy in front of it).
  CredentialEnv ClientEnv(const std::string& registry_host) const;
  // skopeo flags for talking to `registry_host` as source ("src") or destination ("dest").
  std::vector<std::string> SkopeoFlags(const std::string& which) const;
  // The token server's request log (token mode), one JSON object per request.
  Result<std::vector<nlohmann::json>> TokenLog() const;

  const std::string username = "ocitest";
  const std::string password = "s3cret-Pa55word";
  const std::string refresh_token = "refresh-0123456789";

  // Stops the registry for good (the "registry is gone" scenario).
  void Kill();

 private:
  TestRegistry(AuthMode mode, TempDir dir) : mode_(mode), dir_(std::move(dir)) {}
  Status Launch();

  AuthMode mode_;
  TempDir dir_;
  int port_ = 0;
  std::string ca_file_;
  std::unique_ptr<Child> registry_;
  std::unique_ptr<Child> token_server_;
};

class FaultProxy {
 public:
  // Forwards to http://<upstream_host>; `seed` drives the rules' random choices.
  static Result<std::unique_ptr<FaultProxy>> Start(const std::string& upstream_host, int seed = 1);
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  // Replaces the rules (see fault_proxy.py for their shape).
  Status SetRules(const nlohmann::json& rules);
  Result<nlohmann::json> Log();
  Status ClearLog();

 private:
  FaultProxy(TempDir dir) : dir_(std::move(dir)) {}
  Result<std::string> Control(const std::string& method, const std::string& path,
                              const std::string& body);
  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Child> proxy_;
};

// Writes a random image into `store`: a config and layers of the given sizes (random bytes,
// each layer distinct per `seed`), and its manifest. Returns the manifest's descriptor.
Result<oci::Descriptor> MakeTestImage(oci::ContentStore& store, const std::vector<size_t>& sizes,
                                      uint64_t seed,
                                      const oci::Platform& platform = oci::Platform::Host());
// An index over images for each platform; returns the index descriptor.
Result<oci::Descriptor> MakeTestIndex(oci::ContentStore& store,
                                      const std::vector<oci::Platform>& platforms,
                                      const std::vector<size_t>& sizes, uint64_t seed);
// Makes `dir` (a DirContentStore root) a complete OCI image layout with `root` tagged `tag`.
Status WriteOciLayoutIndex(const std::string& dir, const oci::Descriptor& root,
                           const std::string& tag);

// Runs skopeo; returns its stdout or an error with its stderr.
Result<std::string> RunSkopeo(const std::vector<std::string>& args);

}  // namespace ocibuild::registry::testing
