// The SBOM of an image: the packages its final filesystem's package databases list, as an SPDX
// 2.3 JSON document (the predicate of BuildKit's SBOM attestation, "https://spdx.dev/Document").
// Debian ships no SBOM generator (syft, trivy and the SPDX tools are not packaged), so the
// databases are read here, in-root, without running anything from the image:
//   dpkg   var/lib/dpkg/status (and status.d/ as distroless images have it)
//   apk    lib/apk/db/installed
//   Python *.dist-info/METADATA and *.egg-info/PKG-INFO under site- and dist-packages
//   npm    node_modules/**/package.json, and package-lock.json "packages" (lockfile v2/v3)
//   Go     the build info of Go executables (the .go.buildinfo section: main module and deps)
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "oci/safe_path.h"
#include "util/result.h"

namespace ocibuild::builder {

struct SbomPackage {
  std::string type;  // deb, apk, pypi, npm, golang
  std::string name;
  std::string version;
  std::string arch;    // deb/apk only
  std::string source;  // where it was found, e.g. /var/lib/dpkg/status
  std::string purl;
};

// Every package found in the tree; `distro` ("debian-12") qualifies deb/apk package URLs.
Result<std::vector<SbomPackage>> ScanPackages(const oci::RootDir& root);

struct SbomDocumentInfo {
  std::string name;            // the image's name (the first -t), or the context
  std::string created;         // RFC 3339
  std::string tool;            // "ocibuild-<version>"
  std::string namespace_seed;  // makes documentNamespace unique per build (invocation id)
};

nlohmann::json SpdxDocument(const std::vector<SbomPackage>& packages, const SbomDocumentInfo& info);

// Go build info from the bytes of an executable (ELF .go.buildinfo, Go >= 1.18 layout):
// the main module and the dependencies, or nothing when it is no Go binary.
std::vector<SbomPackage> GoBuildInfoPackages(std::string_view elf, const std::string& where);

}  // namespace ocibuild::builder
