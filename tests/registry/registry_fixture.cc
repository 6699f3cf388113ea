#include "tests/registry/registry_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/base64.h"
#include "registry/http_transport.h"
#include "util/strings.h"

namespace ocibuild::registry::testing {
namespace {

using nlohmann::json;

std::string ScriptDir() {
  const char* src = std::getenv("OCIBUILD_SOURCE_DIR");
  return JoinPath(src ? src : ".", "tests/registry");
}

Status Run(const std::vector<std::string>& argv, const std::string& what) {
  OCIB_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv));
  if (!r.success())
    return Error{what + ": " + ShellQuote(argv) + " exited " + std::to_string(r.exit_code) + ": " +
                 r.err};
  return Ok();
}

Result<int> ReadPortFile(const std::string& path, Child& child, const std::string& what) {
  for (int i = 0; i < 300; ++i) {
    if (PathExists(path)) {
      OCIB_ASSIGN_OR_RETURN(std::string s, ReadFile(path));
      return std::stoi(s);
    }
    if (!child.Running()) return Error{what + " exited during startup"};
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Error{what + " did not start within 15 s"};
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t k = 0; k < 8 && i + k < n; ++k) s[i + k] = static_cast<char>(v >> (8 * k));
  }
  return s;
}

}  // namespace

const char* AuthModeName(AuthMode m) {
  switch (m) {
    case AuthMode::kNone:
      return "NoAuth";
    case AuthMode::kHtpasswdTls:
      return "HtpasswdTls";
    case AuthMode::kToken:
      return "Token";
  }
  return "?";
}

bool HaveTool(const std::string& tool) {
  const char* path = std::getenv("PATH");
  for (const auto& dir : Split(path ? path : "/usr/bin:/bin", ':')) {
    if (!dir.empty() && ::access(JoinPath(dir, tool).c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::string MissingTools(const std::vector<std::string>& tools) {
  std::vector<std::string> missing;
  for (const auto& t : tools)
    if (!HaveTool(t)) missing.push_back(t);
  if (missing.empty()) return "";
  return "needs " + Join(missing, ", ") +
         " on PATH (Debian packages docker-registry, skopeo, "
         "apache2-utils, openssl, python3); not available here";
}

Result<int> FreePort() {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return SysError("socket", "");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return SysError("bind", "127.0.0.1:0");
  socklen_t len = sizeof a;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return static_cast<int>(ntohs(a.sin_port));
}

Status WaitForPort(int port, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return Ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Error{"nothing listening on 127.0.0.1:" + std::to_string(port) + " after " +
               std::to_string(timeout_ms) + " ms"};
}

Result<std::unique_ptr<TestRegistry>> TestRegistry::Start(AuthMode mode) {
  OCIB_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("ocibuild-registry-"));
  std::unique_ptr<TestRegistry> r(new TestRegistry(mode, std::move(dir)));
  OCIB_TRY(r->Launch());
  return r;
}

TestRegistry::~TestRegistry() = default;

void TestRegistry::Kill() {
  registry_.reset();
  token_server_.reset();
}

Status TestRegistry::Launch() {
  const std::string d = dir_.path();
  OCIB_ASSIGN_OR_RETURN(port_, FreePort());
  std::string cfg =
      "version: 0.1\n"
      "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
      "storage:\n  filesystem:\n    rootdirectory: " +
      JoinPath(d, "storage") +
      "\n"
      "  delete:\n    enabled: true\n"
      "  maintenance:\n    uploadpurging:\n      enabled: false\n"
      "http:\n  addr: 127.0.0.1:" +
      std::to_string(port_) +
      "\n"
      "  secret: ocibuild-test-secret\n";
  if (mode_ == AuthMode::kHtpasswdTls) {
    ca_file_ = JoinPath(d, "ca.crt");
    OCIB_TRY(Run(
        {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
         JoinPath(d, "ca.key"), "-out", ca_file_, "-days", "2", "-subj", "/CN=ocibuild test CA"},
        "making the test CA"));
    OCIB_TRY(Run({"openssl",  "req",
                  "-x509",    "-newkey",
                  "rsa:2048", "-nodes",
                  "-keyout",  JoinPath(d, "server.key"),
                  "-out",     JoinPath(d, "server.crt"),
                  "-days",    "2",
                  "-subj",    "/CN=127.0.0.1",
                  "-addext",  "subjectAltName=IP:127.0.0.1,DNS:localhost",
                  "-addext",  "basicConstraints=critical,CA:FALSE",
                  "-CA",      ca_file_,
                  "-CAkey",   JoinPath(d, "ca.key")},
                 "making the server certificate"));
    OCIB_TRY(MakeDirs(JoinPath(d, "skopeo-certs")));
    OCIB_ASSIGN_OR_RETURN(std::string ca, ReadFile(ca_file_));
    OCIB_TRY(WriteFile(JoinPath(d, "skopeo-certs/ca.crt"), ca));
    OCIB_ASSIGN_OR_RETURN(ProcessResult h, RunProcess({"htpasswd", "-Bbn", username, password}));
    if (!h.success()) return Error{"htpasswd -Bbn failed: " + h.err};
    OCIB_TRY(WriteFile(JoinPath(d, "htpasswd"), h.out));
    cfg += "  tls:\n    certificate: " + JoinPath(d, "server.crt") +
           "\n    key: " + JoinPath(d, "server.key") + "\n";
    cfg +=
        "auth:\n  htpasswd:\n    realm: ocibuild-test\n    path: " + JoinPath(d, "htpasswd") + "\n";
  } else if (mode_ == AuthMode::kToken) {
    OCIB_TRY(Run({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                  JoinPath(d, "token.key"), "-out", JoinPath(d, "token.crt"), "-days", "2", "-subj",
                  "/CN=ocibuild test token issuer"},
                 "making the token signing certificate"));
    std::string port_file = JoinPath(d, "token.port");
    SpawnOptions so;
    so.capture_stdout = so.capture_stderr = false;
    OCIB_ASSIGN_OR_RETURN(
        Child c,
        Child::Start({"python3", JoinPath(ScriptDir(), "token_server.py"), "--port-file", port_file,
                      "--key", JoinPath(d, "token.key"), "--cert", JoinPath(d, "token.crt"),
                      "--user", username + ":" + password, "--refresh-token", refresh_token,
                      "--public", "public/image", "--log", JoinPath(d, "token.log")},
                     so, JoinPath(d, "token_server.out")));
    token_server_ = std::make_unique<Child>(std::move(c));
    OCIB_ASSIGN_OR_RETURN(int tport, ReadPortFile(port_file, *token_server_, "token_server.py"));
    cfg += "auth:\n  token:\n    realm: http://127.0.0.1:" + std::to_string(tport) +
           "/token\n    service: ocibuild-test-registry\n    issuer: ocibuild-test-issuer\n"
           "    rootcertbundle: " +
           JoinPath(d, "token.crt") + "\n";
  }
  OCIB_TRY(WriteFile(JoinPath(d, "config.yml"), cfg));
  SpawnOptions so;
  so.capture_stdout = so.capture_stderr = false;
  OCIB_ASSIGN_OR_RETURN(Child c,
                        Child::Start({"docker-registry", "serve", JoinPath(d, "config.yml")}, so,
                                     JoinPath(d, "registry.log")));
  registry_ = std::make_unique<Child>(std::move(c));
  Status up = WaitForPort(port_);
  if (!up.ok()) {
    auto log = ReadFile(JoinPath(d, "registry.log"));
    return Error{"docker-registry did not start: " + up.error().message + "\n" +
                 (log.ok() ? *log : "")};
  }
  return Ok();
}

RegistryOptions TestRegistry::ClientOptions() const {
  RegistryOptions o;
  o.ca_file = ca_file_;
  o.retry.initial_backoff = std::chrono::milliseconds(50);
  o.retry.max_backoff = std::chrono::milliseconds(1000);
  return o;
}

CredentialEnv TestRegistry::ClientEnv(const std::string& registry_host) const {
  CredentialEnv env;
  const char* path = std::getenv("PATH");
  env.vars["PATH"] = path ? path : "/usr/bin:/bin";
  std::string home = JoinPath(dir_.path(), "home");
  env.vars["HOME"] = home;
  if (mode_ == AuthMode::kNone) return env;
  std::string cfgdir = JoinPath(dir_.path(), "docker-" + registry_host);
  json cfg = {{"auths", {{registry_host, {{"auth", Base64Encode(username + ":" + password)}}}}}};
  (void)MakeDirs(cfgdir);
  // Atomic: tests call this from several threads, and a reader must never see a torn file.
  (void)WriteFileAtomic(JoinPath(cfgdir, "config.json"), cfg.dump());
  env.vars["DOCKER_CONFIG"] = cfgdir;
  return env;
}

std::vector<std::string> TestRegistry::SkopeoFlags(const std::string& which) const {
  std::string p = which.empty() ? "--" : "--" + which + "-";
  std::vector<std::string> f;
  if (mode_ == AuthMode::kHtpasswdTls)
    f.push_back(p + "cert-dir=" + JoinPath(dir_.path(), "skopeo-certs"));
  else
    f.push_back(p + "tls-verify=false");
  if (mode_ != AuthMode::kNone) f.push_back(p + "creds=" + username + ":" + password);
  return f;
}

Result<std::vector<json>> TestRegistry::TokenLog() const {
  std::vector<json> out;
  std::string p = JoinPath(dir_.path(), "token.log");
  if (!PathExists(p)) return out;
  OCIB_ASSIGN_OR_RETURN(std::string text, ReadFile(p));
  for (const auto& line : Split(text, '\n'))
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

Result<std::unique_ptr<FaultProxy>> FaultProxy::Start(const std::string& upstream_host, int seed) {
  OCIB_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("ocibuild-proxy-"));
  std::unique_ptr<FaultProxy> p(new FaultProxy(std::move(dir)));
  std::string port_file = JoinPath(p->dir_.path(), "port");
  SpawnOptions so;
  so.capture_stdout = so.capture_stderr = false;
  OCIB_ASSIGN_OR_RETURN(
      Child c, Child::Start({"python3", JoinPath(ScriptDir(), "fault_proxy.py"), "--upstream",
                             "http://" + upstream_host, "--port-file", port_file, "--seed",
                             std::to_string(seed)},
                            so, JoinPath(p->dir_.path(), "proxy.log")));
  p->proxy_ = std::make_unique<Child>(std::move(c));
  OCIB_ASSIGN_OR_RETURN(p->port_, ReadPortFile(port_file, *p->proxy_, "fault_proxy.py"));
  return p;
}

Result<std::string> FaultProxy::Control(const std::string& method, const std::string& path,
                                        const std::string& body) {
  auto t = NewCurlTransport();
  HttpRequest req;
  req.method = method;
  req.url = "http://" + host() + path;
  req.body = body;
  OCIB_ASSIGN_OR_RETURN(HttpResponse r, t->Do(req));
  if (r.status != 200) return Error{"fault proxy " + method + " " + path + ": " + r.body};
  return r.body;
}

Status FaultProxy::SetRules(const json& rules) {
  OCIB_ASSIGN_OR_RETURN(std::string b, Control("PUT", "/__proxy/rules", rules.dump()));
  (void)b;
  return Ok();
}

Result<json> FaultProxy::Log() {
  OCIB_ASSIGN_OR_RETURN(std::string b, Control("GET", "/__proxy/log", ""));
  return json::parse(b);
}

Status FaultProxy::ClearLog() {
  OCIB_ASSIGN_OR_RETURN(std::string b, Control("DELETE", "/__proxy/log", ""));
  (void)b;
  return Ok();
}

Result<oci::Descriptor> MakeTestImage(oci::ContentStore& store, const std::vector<size_t>& sizes,
                                      uint64_t seed, const oci::Platform& platform) {
  oci::Manifest m;
  json diff_ids = json::array();
  for (size_t i = 0; i < sizes.size(); ++i) {
    std::string bytes = RandomBytes(sizes[i], seed * 1000 + i);
    OCIB_ASSIGN_OR_RETURN(oci::Descriptor l,
                          oci::PutBlob(store, oci::media_type::kOciLayerGzip, bytes));
    m.layers.push_back(l);
    diff_ids.push_back(l.digest.str());
  }
  json cfg = {{"architecture", platform.architecture},
              {"os", platform.os},
              {"config", json::object()},
              {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}};
  if (!platform.variant.empty()) cfg["variant"] = platform.variant;
  OCIB_ASSIGN_OR_RETURN(m.config, oci::PutBlob(store, oci::media_type::kOciConfig, cfg.dump()));
  return oci::PutBlob(store, oci::media_type::kOciManifest, m.Serialize());
}

Result<oci::Descriptor> MakeTestIndex(oci::ContentStore& store,
                                      const std::vector<oci::Platform>& platforms,
                                      const std::vector<size_t>& sizes, uint64_t seed) {
  oci::Index idx;
  for (size_t i = 0; i < platforms.size(); ++i) {
    OCIB_ASSIGN_OR_RETURN(oci::Descriptor d,
                          MakeTestImage(store, sizes, seed * 100 + i, platforms[i]));
    d.platform = platforms[i];
    idx.manifests.push_back(d);
  }
  return oci::PutBlob(store, oci::media_type::kOciIndex, idx.Serialize());
}

Status WriteOciLayoutIndex(const std::string& dir, const oci::Descriptor& root,
                           const std::string& tag) {
  oci::Index idx;
  oci::Descriptor d = root;
  d.annotations[std::string(oci::kAnnotationRefName)] = tag;
  idx.manifests.push_back(d);
  OCIB_TRY(WriteFile(JoinPath(dir, "oci-layout"), "{\"imageLayoutVersion\":\"1.0.0\"}"));
  return WriteFile(JoinPath(dir, "index.json"), idx.Serialize());
}

Result<std::string> RunSkopeo(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {"skopeo", "--insecure-policy"};
  argv.insert(argv.end(), args.begin(), args.end());
  // An empty auth file unless the caller chose one: skopeo's default,
  // /run/containers/<uid>/auth.json, may sit in a root-only directory (made by buildah or podman
  // run as root), which an unprivileged test user cannot read.
  SpawnOptions o;
  if (!std::getenv("REGISTRY_AUTH_FILE")) {
    const char* tmp = std::getenv("TMPDIR");
    std::string auth =
        JoinPath(tmp && *tmp ? tmp : "/tmp",
                 "ocibuild-test-skopeo-auth-" + std::to_string(::getuid()) + ".json");
    OCIB_TRY(WriteFileAtomic(auth, "{}\n", 0600));
    o.extra_env["REGISTRY_AUTH_FILE"] = auth;
  }
  OCIB_ASSIGN_OR_RETURN(ProcessResult r, RunProcess(argv, o));
  if (!r.success()) {
    std::vector<std::string> shown = argv;
    for (auto& a : shown)
      if (a.find("creds=") != std::string::npos) a = a.substr(0, a.find("creds=") + 6) + "***";
    return Error{ShellQuote(shown) + " exited " + std::to_string(r.exit_code) + ": " + r.err};
  }
  return r.out;
}

}  // namespace ocibuild::registry::testing
