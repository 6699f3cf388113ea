// Registry credentials found the way docker, podman and GitHub Actions users expect, without a
// login step of our own. Secrets are held here and in the authenticator only; no error or log
// message built from this file contains one.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "util/result.h"

namespace ocibuild::registry {

struct Credential {
  std::string username;
  std::string password;        // password or personal access token
  std::string identity_token;  // OAuth2 refresh token (docker login via an identity provider)
  std::string source;          // where it was found, for messages: "/home/u/.docker/config.json"

  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
};

// The environment credentials are looked up in; a value so tests need not touch the process's.
struct CredentialEnv {
  std::map<std::string, std::string> vars;  // DOCKER_CONFIG, HOME, GITHUB_TOKEN, ...
  // Directories searched for docker-credential-<name>; empty: the PATH of `vars`.
  static CredentialEnv FromProcess();
  std::string Get(const std::string& k) const;
};

// Finds credentials for a registry (as written in references: "docker.io", "ghcr.io",
// "localhost:5000"). First match wins:
//   1. DOCKER_AUTH_CONFIG (a config.json document in the variable, as GitLab CI sets it)
//   2. REGISTRY_AUTH_FILE (podman/skopeo/buildah auth.json)
//   3. $DOCKER_CONFIG/config.json, else ~/.docker/config.json: credHelpers[host], credsStore,
//      then auths (keys matched after stripping scheme and path, as docker does)
//   4. ${XDG_RUNTIME_DIR}/containers/auth.json, then ~/.config/containers/auth.json
//   5. ghcr.io only: GITHUB_TOKEN with GITHUB_ACTOR (or any username; GHCR ignores it)
// nullopt when none has an entry: the registry is then used anonymously.
Result<std::optional<Credential>> LookupCredential(const std::string& registry,
                                                   const CredentialEnv& env);

// Looks in one docker/podman config document only (steps 1-4 use it). `source` names the file.
Result<std::optional<Credential>> LookupInConfig(const std::string& registry,
                                                 const std::string& json, const std::string& source,
                                                 const CredentialEnv& env);

// Runs `docker-credential-<helper> get` with the server URL on stdin.
Result<std::optional<Credential>> RunCredentialHelper(const std::string& helper,
                                                      const std::string& server_url,
                                                      const CredentialEnv& env);

// Docker's hostname matching for `auths` keys: "https://index.docker.io/v1/" -> "index.docker.io".
std::string ConvertToHostname(std::string_view key);

}  // namespace ocibuild::registry
