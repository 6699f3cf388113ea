#include "registry/ca_store.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <string_view>

namespace ocibuild::registry {

const std::vector<std::string>& KnownCaFiles() {
  static const std::vector<std::string> files = {
      "/etc/ssl/certs/ca-certificates.crt",                 // Debian, Ubuntu, Gentoo, Arch
      "/etc/pki/tls/certs/ca-bundle.crt",                   // Fedora, RHEL 6
      "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",  // RHEL 7+, CentOS
      "/etc/ssl/ca-bundle.pem",                             // openSUSE
      "/etc/pki/tls/cacert.pem",                            // OpenELEC
      "/etc/ssl/cert.pem",                                  // Alpine, macOS-like layouts
  };
  return files;
}

const std::vector<std::string>& KnownCaDirs() {
  static const std::vector<std::string> dirs = {
      "/etc/ssl/certs",      // Debian, Ubuntu, Alpine (hashed links from update-ca-certificates)
      "/etc/pki/tls/certs",  // Fedora, RHEL
  };
  return dirs;
}

CaProbe SystemCaProbe() {
  CaProbe p;
  p.getenv = [](const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return std::string(v ? v : "");
  };
  p.is_file = [](const std::string& path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
           ::access(path.c_str(), R_OK) == 0;
  };
  p.is_cert_dir = [](const std::string& path) {
    std::unique_ptr<DIR, int (*)(DIR*)> d(::opendir(path.c_str()), ::closedir);
    if (!d) return false;
    while (const dirent* e = ::readdir(d.get())) {
      std::string_view n = e->d_name;
      if (n.size() > 2 && n.substr(n.size() - 2) == ".0") return true;
    }
    return false;
  };
  return p;
}

CaStore FindCaStore(const std::string& explicit_file, const CaProbe& probe) {
  auto first_dir = [&]() -> std::string {
    for (const std::string& d : KnownCaDirs())
      if (probe.is_cert_dir(d)) return d;
    return "";
  };
  // An explicit or environment setting is used even when it does not exist: the TLS library then
  // reports the bad path, which is better than silently trusting something else.
  if (!explicit_file.empty()) return CaStore{explicit_file, first_dir(), "--registry-ca"};
  if (std::string f = probe.getenv("SSL_CERT_FILE"); !f.empty())
    return CaStore{f, probe.getenv("SSL_CERT_DIR"), "SSL_CERT_FILE"};
  if (std::string d = probe.getenv("SSL_CERT_DIR"); !d.empty())
    return CaStore{"", d, "SSL_CERT_DIR"};
  for (const std::string& f : KnownCaFiles())
    if (probe.is_file(f)) return CaStore{f, first_dir(), "system"};
  if (std::string d = first_dir(); !d.empty()) return CaStore{"", d, "system"};
  return CaStore{};
}

std::string NoCaStoreMessage() {
  std::string looked;
  for (const std::string& f : KnownCaFiles()) looked += (looked.empty() ? "" : ", ") + f;
  return "no CA certificates to verify TLS with (looked for " + looked +
         "): install the ca-certificates package, or pass --registry-ca FILE or set "
         "SSL_CERT_FILE=FILE to a PEM bundle (SSL_CERT_DIR=DIR for a hashed directory); use "
         "--insecure-registry HOST only for a registry you trust without TLS";
}

}  // namespace ocibuild::registry
