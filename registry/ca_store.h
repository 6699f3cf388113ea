// Where TLS trust comes from. The release artifact bundles its own libcurl and OpenSSL, whose
// compiled-in CA paths are Debian's and do not exist on Alpine, Fedora or busybox images; so the
// trust store is found here, the way Go's crypto/x509 does: explicit settings first, then the
// well-known bundle files and directories of each distribution.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace ocibuild::registry {

// What the probe may look at; a seam so tests need no particular filesystem or environment.
struct CaProbe {
  std::function<std::string(const std::string& name)> getenv;  // "" when unset
  std::function<bool(const std::string& path)> is_file;        // a readable, non-empty file
  // A directory holding OpenSSL hash links ("5ed36f99.0"): an empty /etc/ssl/certs (a base
  // image without ca-certificates) trusts nothing and does not count.
  std::function<bool(const std::string& path)> is_cert_dir;
};
// The real environment and filesystem.
CaProbe SystemCaProbe();

struct CaStore {
  std::string file;    // PEM bundle for CURLOPT_CAINFO, "" if none
  std::string dir;     // hashed certificate directory for CURLOPT_CAPATH, "" if none
  std::string source;  // "--registry-ca", "SSL_CERT_FILE", "SSL_CERT_DIR" or "system"

  bool empty() const { return file.empty() && dir.empty(); }
};

// The bundle files and directories tried, in order, when nothing is configured.
const std::vector<std::string>& KnownCaFiles();
const std::vector<std::string>& KnownCaDirs();

// `explicit_file` (--registry-ca) wins, then $SSL_CERT_FILE and $SSL_CERT_DIR (as OpenSSL and Go
// read them), then the first known bundle file, then the first known directory. An explicit file
// still gets the system directory alongside, so it adds to the system store where one exists.
// Returns an empty store when nothing usable exists.
CaStore FindCaStore(const std::string& explicit_file, const CaProbe& probe);

// The error text for an https request with no trust store: what was looked for and how to fix it.
std::string NoCaStoreMessage();

}  // namespace ocibuild::registry
