#include "builder/sbom.h"

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::builder {
namespace {

TEST(Sbom, ReadsEachPackageDatabase) {
  auto dir = TempDir::Create("sbom-");
  ASSERT_TRUE(dir.ok());
  auto put = [&](const std::string& rel, const std::string& text) {
    std::string p = JoinPath(dir->path(), rel);
    ASSERT_TRUE(MakeDirs(p.substr(0, p.rfind('/'))).ok());
    ASSERT_TRUE(WriteFile(p, text).ok());
  };
  put("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n");
  put("var/lib/dpkg/status",
      "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9\n"
      "Description: GNU C\n more text\n\n"
      "Package: removed\nStatus: deinstall ok config-files\nVersion: 1\n");
  put("lib/apk/db/installed",
      "C:Q1\nP:musl\nV:1.2.4-r2\nA:x86_64\n\nP:busybox\nV:1.36\nA:x86_64\n");
  put("usr/lib/python3/dist-packages/Requests_Toolbelt-1.0.dist-info/METADATA",
      "Metadata-Version: 2.1\nName: Requests_Toolbelt\nVersion: 1.0.0\n\nbody\n");
  put("app/node_modules/left-pad/package.json", R"({"name":"left-pad","version":"1.3.0"})");
  put("app/node_modules/@scope/pkg/package.json", R"({"name":"@scope/pkg","version":"2.0.0"})");
  put("app/package-lock.json",
      R"({"lockfileVersion":3,"packages":{"":{"name":"app"},"node_modules/ms":{"version":"2.1.3"}}})");
  auto root = oci::RootDir::Open(dir->path());
  ASSERT_TRUE(root.ok());
  auto pkgs = ScanPackages(*root);
  ASSERT_TRUE(pkgs.ok()) << pkgs.error().message;
  std::map<std::string, std::string> purls;
  for (const auto& p : *pkgs) purls[p.name] = p.purl;
  EXPECT_EQ(purls["libc6"], "pkg:deb/debian/libc6@2.36-9?arch=amd64&distro=debian-12");
  EXPECT_EQ(purls.count("removed"), 0u);
  EXPECT_EQ(purls["musl"], "pkg:apk/debian/musl@1.2.4-r2?arch=x86_64&distro=debian-12");
  EXPECT_EQ(purls["Requests_Toolbelt"], "pkg:pypi/requests-toolbelt@1.0.0");
  EXPECT_EQ(purls["left-pad"], "pkg:npm/left-pad@1.3.0");
  EXPECT_EQ(purls["@scope/pkg"], "pkg:npm/%40scope/pkg@2.0.0");
  EXPECT_EQ(purls["ms"], "pkg:npm/ms@2.1.3");

  auto doc = SpdxDocument(*pkgs, {"example/app:1", "2024-01-01T00:00:00Z", "ocibuild-test", "x"});
  EXPECT_EQ(doc["spdxVersion"], "SPDX-2.3");
  EXPECT_EQ(doc["packages"].size(), pkgs->size() + 1);
  EXPECT_EQ(doc["relationships"][0]["relationshipType"], "DESCRIBES");
}

TEST(Sbom, GoBuildInfoOfARealGoBinary) {
  // A Go executable on this machine, if there is one (docker's client is one).
  std::string bin;
  for (const char* p : {"/usr/local/bin/docker", "/usr/bin/docker-registry", "/usr/bin/skopeo"})
    if (bin.empty() && PathExists(p)) bin = p;
  if (bin.empty()) GTEST_SKIP() << "no Go binary on this machine";
  auto data = ReadFile(bin);
  ASSERT_TRUE(data.ok());
  auto pkgs = GoBuildInfoPackages(*data, bin);
  ASSERT_FALSE(pkgs.empty()) << bin << " has no Go build info we could read";
  EXPECT_EQ(pkgs[0].name, "stdlib");
  EXPECT_GE(pkgs.size(), 2u);  // stdlib and the main module or package, at least
  EXPECT_TRUE(GoBuildInfoPackages("not an elf", "x").empty());
}

}  // namespace
}  // namespace ocibuild::builder
