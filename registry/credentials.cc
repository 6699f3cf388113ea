#include "registry/credentials.h"

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "registry/base64.h"
#include "registry/reference.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

extern char** environ;

namespace ocibuild::registry {
namespace {

using nlohmann::json;

constexpr std::string_view kDockerHubServerUrl = "https://index.docker.io/v1/";

bool IsDockerHub(const std::string& registry) {
  return registry == kDockerHubDomain || registry == "index.docker.io" ||
         registry == kDockerHubApiHost;
}

// The names a registry may be filed under in `auths` and `credHelpers`, after ConvertToHostname.
std::vector<std::string> HostnamesFor(const std::string& registry) {
  if (IsDockerHub(registry)) return {"index.docker.io", "docker.io", "registry-1.docker.io"};
  return {registry};
}

std::string ServerUrlFor(const std::string& registry) {
  return IsDockerHub(registry) ? std::string(kDockerHubServerUrl) : registry;
}

std::string JsonString(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::string FindExecutable(const std::string& name, const CredentialEnv& env) {
  std::string path = env.Get("PATH");
  if (path.empty()) path = "/usr/local/bin:/usr/bin:/bin";
  for (const std::string& dir : Split(path, ':')) {
    if (dir.empty()) continue;
    std::string p = JoinPath(dir, name);
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

Result<std::optional<Credential>> FromAuthEntry(const json& entry, const std::string& source,
                                                const std::string& key) {
  if (!entry.is_object()) return std::optional<Credential>();
  Credential c;
  c.source = source;
  std::string auth = JsonString(entry, "auth");
  if (!auth.empty()) {
    auto decoded = Base64Decode(auth);
    bool found = false;
    std::pair<std::string, std::string> up;
    if (decoded) up = SplitOnce(*decoded, ':', &found);
    // The value is a secret: the message names the file and key only.
    if (!found)
      return Error{source + ": auths[\"" + key + "\"].auth is not base64 of \"user:password\""};
    c.username = up.first;
    c.password = up.second;
  } else {
    c.username = JsonString(entry, "username");
    c.password = JsonString(entry, "password");
  }
  c.identity_token = JsonString(entry, "identitytoken");
  if (c.empty()) return std::optional<Credential>();
  return std::optional<Credential>(std::move(c));
}

}  // namespace

CredentialEnv CredentialEnv::FromProcess() {
  CredentialEnv e;
  for (char** p = environ; p && *p; ++p) {
    bool found = false;
    auto [k, v] = SplitOnce(*p, '=', &found);
    if (found) e.vars[k] = v;
  }
  return e;
}

std::string CredentialEnv::Get(const std::string& k) const {
  auto it = vars.find(k);
  return it == vars.end() ? "" : it->second;
}

std::string ConvertToHostname(std::string_view key) {
  std::string_view s = key;
  if (StartsWith(s, "http://"))
    s.remove_prefix(7);
  else if (StartsWith(s, "https://"))
    s.remove_prefix(8);
  return std::string(s.substr(0, s.find('/')));
}

Result<std::optional<Credential>> RunCredentialHelper(const std::string& helper,
                                                      const std::string& server_url,
                                                      const CredentialEnv& env) {
  const std::string exe_name = "docker-credential-" + helper;
  std::string exe = FindExecutable(exe_name, env);
  if (exe.empty())
    return Error{"credential helper " + exe_name + " not found in PATH (configured for " +
                 server_url + ")"};
  SpawnOptions so;
  std::vector<std::string> envv;
  for (const auto& [k, v] : env.vars) envv.push_back(k + "=" + v);
  so.env = std::move(envv);
  so.stdin_data = server_url;
  so.search_path = false;
  OCIB_ASSIGN_OR_RETURN(ProcessResult pr, RunProcess({exe, "get"}, so));
  if (!pr.success()) {
    // Helpers print "credentials not found in native keychain" when they have no entry.
    std::string msg(TrimSpace(pr.out.empty() ? pr.err : pr.out));
    if (msg.find("credentials not found") != std::string::npos) return std::optional<Credential>();
    if (msg.size() > 200) msg = msg.substr(0, 200) + "...";
    return Error{exe_name + " get " + server_url + ": exit status " + std::to_string(pr.exit_code) +
                 (msg.empty() ? "" : ": " + msg)};
  }
  json j = json::parse(pr.out, nullptr, false);
  if (!j.is_object())
    return Error{exe_name + " get " + server_url + ": output is not a JSON object"};
  Credential c;
  c.source = exe_name;
  std::string user = JsonString(j, "Username");
  std::string secret = JsonString(j, "Secret");
  if (user == "<token>") {
    c.identity_token = secret;
  } else {
    c.username = user;
    c.password = secret;
  }
  if (c.empty()) return std::optional<Credential>();
  return std::optional<Credential>(std::move(c));
}

Result<std::optional<Credential>> LookupInConfig(const std::string& registry,
                                                 const std::string& text, const std::string& source,
                                                 const CredentialEnv& env) {
  json cfg = json::parse(text, nullptr, false);
  if (!cfg.is_object()) return Error{source + ": not a JSON object"};
  const std::vector<std::string> names = HostnamesFor(registry);
  auto matches = [&](const std::string& key) {
    std::string h = ConvertToHostname(key);
    for (const auto& n : names)
      if (h == n) return true;
    return false;
  };

  if (auto it = cfg.find("credHelpers"); it != cfg.end() && it->is_object()) {
    for (const auto& [key, helper] : it->items()) {
      if (matches(key) && helper.is_string() && !helper.get<std::string>().empty())
        return RunCredentialHelper(helper.get<std::string>(), ServerUrlFor(registry), env);
    }
  }
  std::string store = JsonString(cfg, "credsStore");
  if (!store.empty()) {
    OCIB_ASSIGN_OR_RETURN(auto c, RunCredentialHelper(store, ServerUrlFor(registry), env));
    if (c) return c;
  }
  if (auto it = cfg.find("auths"); it != cfg.end() && it->is_object()) {
    // An exact key wins over one that only matches after normalisation.
    for (const auto& n : names) {
      auto e = it->find(n);
      if (e != it->end()) {
        OCIB_ASSIGN_OR_RETURN(auto c, FromAuthEntry(*e, source, n));
        if (c) return c;
      }
    }
    for (const auto& [key, entry] : it->items()) {
      if (!matches(key)) continue;
      OCIB_ASSIGN_OR_RETURN(auto c, FromAuthEntry(entry, source, key));
      if (c) return c;
    }
  }
  return std::optional<Credential>();
}

Result<std::optional<Credential>> LookupCredential(const std::string& registry,
                                                   const CredentialEnv& env) {
  std::string inline_cfg = env.Get("DOCKER_AUTH_CONFIG");
  if (!inline_cfg.empty()) {
    OCIB_ASSIGN_OR_RETURN(auto c, LookupInConfig(registry, inline_cfg, "DOCKER_AUTH_CONFIG", env));
    if (c) return c;
  }
  std::vector<std::string> files;
  if (!env.Get("REGISTRY_AUTH_FILE").empty()) files.push_back(env.Get("REGISTRY_AUTH_FILE"));
  std::string home = env.Get("HOME");
  std::string docker_dir = env.Get("DOCKER_CONFIG");
  if (docker_dir.empty() && !home.empty()) docker_dir = JoinPath(home, ".docker");
  if (!docker_dir.empty()) files.push_back(JoinPath(docker_dir, "config.json"));
  if (!env.Get("XDG_RUNTIME_DIR").empty())
    files.push_back(JoinPath(env.Get("XDG_RUNTIME_DIR"), "containers/auth.json"));
  if (!home.empty()) files.push_back(JoinPath(home, ".config/containers/auth.json"));
  for (const std::string& f : files) {
    if (!PathExists(f)) continue;
    OCIB_ASSIGN_OR_RETURN(std::string text, ReadFile(f));
    OCIB_ASSIGN_OR_RETURN(auto c, LookupInConfig(registry, text, f, env));
    if (c) return c;
  }
  if (registry == "ghcr.io" && !env.Get("GITHUB_TOKEN").empty()) {
    Credential c;
    // GHCR checks the token, not the name; Actions sets GITHUB_ACTOR.
    c.username = env.Get("GITHUB_ACTOR").empty() ? "github-actions" : env.Get("GITHUB_ACTOR");
    c.password = env.Get("GITHUB_TOKEN");
    c.source = "GITHUB_TOKEN";
    return std::optional<Credential>(std::move(c));
  }
  return std::optional<Credential>();
}

}  // namespace ocibuild::registry
