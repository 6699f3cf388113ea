#include "registry/ca_store.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "registry/http_transport.h"

namespace ocibuild::registry {
namespace {

// A pretend machine: these environment variables, bundle files and hashed directories exist.
struct FakeMachine {
  std::map<std::string, std::string> env;
  std::set<std::string> files;
  std::set<std::string> cert_dirs;

  CaProbe Probe() const {
    CaProbe p;
    p.getenv = [this](const std::string& n) {
      auto it = env.find(n);
      return it == env.end() ? std::string() : it->second;
    };
    p.is_file = [this](const std::string& f) { return files.count(f) > 0; };
    p.is_cert_dir = [this](const std::string& d) { return cert_dirs.count(d) > 0; };
    return p;
  }
};

TEST(CaStore, DebianBundleAndHashedDirectory) {
  FakeMachine m;
  m.files = {"/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem"};
  m.cert_dirs = {"/etc/ssl/certs"};
  CaStore s = FindCaStore("", m.Probe());
  EXPECT_EQ(s.file, "/etc/ssl/certs/ca-certificates.crt");
  EXPECT_EQ(s.dir, "/etc/ssl/certs");
  EXPECT_EQ(s.source, "system");
}

TEST(CaStore, FedoraAndAlpineLayouts) {
  FakeMachine fedora;
  fedora.files = {"/etc/pki/tls/certs/ca-bundle.crt"};
  EXPECT_EQ(FindCaStore("", fedora.Probe()).file, "/etc/pki/tls/certs/ca-bundle.crt");
  FakeMachine alpine;
  alpine.files = {"/etc/ssl/cert.pem"};
  CaStore s = FindCaStore("", alpine.Probe());
  EXPECT_EQ(s.file, "/etc/ssl/cert.pem");
  EXPECT_EQ(s.dir, "");
}

TEST(CaStore, HashedDirectoryAlone) {
  FakeMachine m;
  m.cert_dirs = {"/etc/pki/tls/certs"};
  CaStore s = FindCaStore("", m.Probe());
  EXPECT_EQ(s.file, "");
  EXPECT_EQ(s.dir, "/etc/pki/tls/certs");
  EXPECT_FALSE(s.empty());
}

TEST(CaStore, NothingOnABusyboxImage) {
  FakeMachine m;
  EXPECT_TRUE(FindCaStore("", m.Probe()).empty());
}

TEST(CaStore, ExplicitFileWinsAndKeepsTheSystemDirectory) {
  FakeMachine m;
  m.env = {{"SSL_CERT_FILE", "/env.pem"}};
  m.files = {"/etc/ssl/certs/ca-certificates.crt"};
  m.cert_dirs = {"/etc/ssl/certs"};
  CaStore s = FindCaStore("/my/ca.pem", m.Probe());
  EXPECT_EQ(s.file, "/my/ca.pem");
  EXPECT_EQ(s.dir, "/etc/ssl/certs");
  EXPECT_EQ(s.source, "--registry-ca");
}

TEST(CaStore, EnvironmentBeforeSystemPaths) {
  FakeMachine m;
  m.files = {"/etc/ssl/certs/ca-certificates.crt"};
  m.env = {{"SSL_CERT_FILE", "/env.pem"}};
  CaStore s = FindCaStore("", m.Probe());
  EXPECT_EQ(s.file, "/env.pem");  // used even if missing: the TLS error then names it
  EXPECT_EQ(s.source, "SSL_CERT_FILE");
  m.env = {{"SSL_CERT_DIR", "/certs"}};
  s = FindCaStore("", m.Probe());
  EXPECT_EQ(s.file, "");
  EXPECT_EQ(s.dir, "/certs");
  EXPECT_EQ(s.source, "SSL_CERT_DIR");
}

TEST(CaStore, HttpsWithoutAStoreFailsClearlyBeforeConnecting) {
  FakeMachine m;
  CurlTransportOptions o;
  o.ca_probe = m.Probe();
  o.connect_timeout_ms = 2000;
  auto t = NewCurlTransport(o);
  HttpRequest req;
  req.url = "https://127.0.0.1:9/v2/";
  auto r = t->Do(req);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("--registry-ca"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("SSL_CERT_FILE"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("/etc/ssl/certs/ca-certificates.crt"), std::string::npos);
  // Not a verification failure: loopback registries may still fall back to plain HTTP.
  EXPECT_FALSE(IsTlsVerificationError(r.error()));

  // Plain HTTP needs no store: the request goes out (and finds nothing listening on port 9).
  req.url = "http://127.0.0.1:9/v2/";
  r = t->Do(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("--registry-ca"), std::string::npos) << r.error().message;

  // Verification off (--insecure-registry): no store needed either.
  o.host_tls.emplace_back("127.0.0.1:9", TlsOptions{"", /*verify=*/false});
  t = NewCurlTransport(o);
  req.url = "https://127.0.0.1:9/v2/";
  r = t->Do(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.find("--registry-ca"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace ocibuild::registry
