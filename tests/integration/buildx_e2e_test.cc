// buildx's build features end to end: the real `ocibuild` binary pushes to a real
// docker-registry, and what the registry holds is read back with skopeo (manifests, the index,
// attestation blobs through `skopeo copy --all`) and umoci (each platform's filesystem):
// several platforms in one index, SLSA provenance and SPDX SBOM attestations in BuildKit's
// layout, annotations, named build contexts, --add-host, --network, --no-cache-filter,
// `imagetools create`, Dockerfile checks, and an arm64 image run by Docker under qemu.
// Where Debian's BuildKit (dockerd 20.10's, `DOCKER_BUILDKIT=1 docker build`) can build the
// same thing, the results are compared field by field.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/integration_testing.h"
#include "tests/registry/registry_fixture.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using json = nlohmann::json;
using registry::testing::AuthMode;
using registry::testing::HaveTool;
using registry::testing::TestRegistry;
using testing::Busybox;
using testing::Env;

constexpr char kSecretValue[] = "tok-Sup3rS3cret-0042";

class BuildxE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = Env("OCIBUILD_BINARY");
    ASSERT_FALSE(bin_.empty());
    if (Busybox().empty()) GTEST_SKIP() << "no static busybox on this machine";
    auto d = TempDir::Create("ocibuild-buildx-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    state_ = Out("state");
    ASSERT_TRUE(WriteFileAtomic(Out("auth.json"), "{\"auths\": {}}").ok());
  }

  std::string Out(const std::string& name) const { return JoinPath(tmp_->path(), name); }

  void StartRegistry() {
    if (!HaveTool("docker-registry") || !HaveTool("skopeo"))
      GTEST_SKIP() << "needs docker-registry and skopeo";
    auto reg = TestRegistry::Start(AuthMode::kNone);
    ASSERT_TRUE(reg.ok()) << reg.error().message;
    reg_ = std::move(*reg);
  }

  // The arm64 busybox from Debian's busybox-static:arm64 (scripts/arm64-busybox.sh).
  std::string Arm64Busybox() {
    std::string cached = JoinPath(Env("OCIBUILD_BUILD_DIR"), "cache/arm64-busybox/busybox");
    if (::access(cached.c_str(), X_OK) == 0) return cached;
    auto r = RunProcess({JoinPath(Env("OCIBUILD_SOURCE_DIR"), "scripts/arm64-busybox.sh")});
    if (r.ok() && r->success()) return std::string(TrimSpace(r->out));
    return "";
  }

  // A context with both busyboxes, and package databases for the SBOM.
  std::string MultiArchContext(const std::string& dockerfile) {
    std::string arm = Arm64Busybox();
    if (arm.empty()) return "";
    std::string ctx = Out("ctx-" + std::to_string(seq_++));
    EXPECT_TRUE(MakeDirs(JoinPath(ctx, "pkgs/var/lib/dpkg")).ok());
    EXPECT_TRUE(RunProcess({"cp", Busybox(), JoinPath(ctx, "busybox-amd64")})->success());
    EXPECT_TRUE(RunProcess({"cp", arm, JoinPath(ctx, "busybox-arm64")})->success());
    EXPECT_TRUE(WriteFile(JoinPath(ctx, "pkgs/var/lib/dpkg/status"),
                          "Package: libfake1\nStatus: install ok installed\nArchitecture: all\n"
                          "Version: 1.2-3\n\n")
                    .ok());
    EXPECT_TRUE(
        MakeDirs(JoinPath(ctx, "pkgs/usr/lib/python3/dist-packages/tiny-0.1.dist-info")).ok());
    EXPECT_TRUE(
        WriteFile(JoinPath(ctx, "pkgs/usr/lib/python3/dist-packages/tiny-0.1.dist-info/METADATA"),
                  "Metadata-Version: 2.1\nName: tiny\nVersion: 0.1\n")
            .ok());
    EXPECT_TRUE(MakeDirs(JoinPath(ctx, "pkgs/app/node_modules/left-pad")).ok());
    EXPECT_TRUE(WriteFile(JoinPath(ctx, "pkgs/app/node_modules/left-pad/package.json"),
                          R"({"name": "left-pad", "version": "1.3.0"})")
                    .ok());
    EXPECT_TRUE(WriteFile(JoinPath(ctx, "Dockerfile"), dockerfile).ok());
    return ctx;
  }

  ProcessResult Ocibuild(std::vector<std::string> args,
                         std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {bin_};
    if (args.empty() || args[0] != "imagetools") argv.push_back("--progress=plain");
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions o;
    o.extra_env = std::move(env);
    o.extra_env["OCIBUILD_ROOT"] = state_;
    auto r = RunProcess(argv, o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : ProcessResult{};
  }

  std::string Skopeo(std::vector<std::string> args) {
    std::vector<std::string> argv = {"skopeo"};
    std::vector<std::string> common = {"--authfile", Out("auth.json"), "--tls-verify=false"};
    argv.push_back(args[0]);
    argv.insert(argv.end(), common.begin(), common.end());
    argv.insert(argv.end(), args.begin() + 1, args.end());
    auto r = RunProcess(argv);
    EXPECT_TRUE(r.ok() && r->success()) << ShellQuote(argv) << "\n" << (r.ok() ? r->err : "");
    return r.ok() ? r->out : "";
  }

  json Raw(const std::string& ref) {
    return json::parse(Skopeo({"inspect", "--raw", "docker://" + ref}));
  }

  // `skopeo copy --all` of the whole index into an OCI layout; returns a blob reader.
  std::string CopyAll(const std::string& ref) {
    std::string layout = Out("copy-" + std::to_string(seq_++));
    Skopeo({"copy", "--all", "--dest-tls-verify=false", "docker://" + ref, "oci:" + layout + ":x"});
    return layout;
  }
  static json Blob(const std::string& layout, const std::string& digest) {
    auto t = ReadFile(JoinPath(layout, "blobs/sha256/" + digest.substr(7)));
    EXPECT_TRUE(t.ok()) << digest;
    return json::parse(t.ok() ? *t : "{}");
  }

  std::string bin_;
  std::unique_ptr<TempDir> tmp_;
  std::string state_;
  std::unique_ptr<TestRegistry> reg_;
  int seq_ = 0;
};

// Every entry of an index: image manifests with platforms, attestation manifests pointing at
// them with BuildKit's annotations, in-toto layers, SLSA provenance v1 and SPDX contents.
TEST_F(BuildxE2E, MultiPlatformIndexWithProvenanceSbomAndAnnotations) {
  StartRegistry();
  // A base image of two platforms in the registry: what provenance must name by digest.
  std::string base_ctx =
      MultiArchContext("FROM scratch\nARG TARGETARCH\nCOPY busybox-${TARGETARCH} /bin/busybox\n");
  if (base_ctx.empty()) GTEST_SKIP() << "no arm64 busybox (scripts/arm64-busybox.sh)";
  std::string base = reg_->host() + "/lib/base:1";
  auto b = Ocibuild({"--platform", "linux/amd64,linux/arm64", "--provenance=false", "-t", base,
                     "--push", base_ctx});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  json base_index = Raw(base);
  ASSERT_EQ(base_index["manifests"].size(), 2u) << base_index.dump(2);

  std::string ctx = MultiArchContext(
      "ARG BASE\n"
      // A stage for the build machine: the same for both platforms, so built once.
      "FROM --platform=$BUILDPLATFORM ${BASE} AS tool\n"
      "RUN --mount=type=secret,id=tok [\"/bin/busybox\", \"sh\", \"-c\", "
      "\"/bin/busybox sha256sum /run/secrets/tok | /bin/busybox cut -c1-8 > /tok.sum\"]\n"
      "FROM ${BASE}\n"
      "ARG VERSION\n"
      "COPY pkgs/ /\n"
      "COPY --from=tool /tok.sum /etc/tok.sum\n"
      "COPY <<EOT /etc/version\n${VERSION}\nEOT\n"
      "CMD [\"/bin/busybox\", \"cat\", \"/etc/version\"]\n");
  // The context is a git checkout: provenance names its commit.
  std::map<std::string, std::string> genv = {{"GIT_AUTHOR_NAME", "t"},
                                             {"GIT_AUTHOR_EMAIL", "t@e"},
                                             {"GIT_COMMITTER_NAME", "t"},
                                             {"GIT_COMMITTER_EMAIL", "t@e"},
                                             {"HOME", tmp_->path()}};
  std::string commit;
  if (HaveTool("git")) {
    SpawnOptions go;
    go.cwd = ctx;
    go.extra_env = genv;
    for (auto argv : std::vector<std::vector<std::string>>{
             {"git", "init", "-q"},
             {"git", "-c", "safe.directory=*", "remote", "add", "origin",
              "https://git.example/o/app.git"},
             {"git", "-c", "safe.directory=*", "add", "Dockerfile"},
             {"git", "-c", "safe.directory=*", "commit", "-qm", "x"}})
      ASSERT_TRUE(RunProcess(argv, go)->success()) << argv[1];
    commit = std::string(TrimSpace(RunProcess({"git", "-C", ctx, "rev-parse", "HEAD"}, go)->out));
  }
  std::string app = reg_->host() + "/org/app:1.0";
  auto r = Ocibuild({"--platform",
                     "linux/amd64,linux/arm64",
                     "--build-arg",
                     "BASE=" + base,
                     "--build-arg",
                     "VERSION=1.2.3",
                     "--secret",
                     "id=tok,env=TOK",
                     "--attest",
                     "type=provenance,mode=max,builder-id=https://ci.example/run/7",
                     "--sbom=true",
                     "--annotation",
                     "index:org.opencontainers.image.description=two platforms",
                     "--annotation",
                     "manifest:org.opencontainers.image.version=1.2.3",
                     "--annotation",
                     "manifest-descriptor[linux/arm64]:com.example.arch=arm",
                     "-t",
                     app,
                     "--push",
                     "--metadata-file",
                     Out("meta.json"),
                     ctx},
                    {{"TOK", kSecretValue},
                     {"GIT_CONFIG_COUNT", "1"},
                     {"GIT_CONFIG_KEY_0", "safe.directory"},
                     {"GIT_CONFIG_VALUE_0", "*"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The build-platform stage ran once; the second platform took it from the cache.
  {
    auto lines = Split(r.err, '\n');
    bool cached = false;
    for (size_t i = 0; i + 1 < lines.size(); ++i)
      if (lines[i].find("[linux/arm64 tool 2/2] RUN") != std::string::npos) {
        cached = lines[i + 1].find("CACHED") != std::string::npos;
        break;
      }
    EXPECT_TRUE(cached) << r.err;
  }

  std::string index_bytes = Skopeo({"inspect", "--raw", "docker://" + app});
  json index = json::parse(index_bytes);
  auto meta = json::parse(*ReadFile(Out("meta.json")));
  EXPECT_EQ(meta["containerimage.digest"], "sha256:" + Sha256::HexOf(index_bytes));
  EXPECT_FALSE(meta.contains("containerimage.config.digest"));  // several platforms: none
  EXPECT_EQ(index["mediaType"], "application/vnd.oci.image.index.v1+json");
  EXPECT_EQ(index["annotations"]["org.opencontainers.image.description"], "two platforms");
  ASSERT_EQ(index["manifests"].size(), 4u) << index.dump(2);
  std::map<std::string, std::string> image_by_arch;
  for (size_t i = 0; i < 2; ++i) {
    const auto& m = index["manifests"][i];
    EXPECT_EQ(m["platform"]["os"], "linux");
    image_by_arch[m["platform"]["architecture"]] = m["digest"];
    bool arm = m["platform"]["architecture"] == "arm64";
    EXPECT_EQ(m.contains("annotations") && m["annotations"].contains("com.example.arch"), arm);
  }
  ASSERT_EQ(image_by_arch.size(), 2u);

  std::string layout = CopyAll(app);
  for (size_t i = 2; i < 4; ++i) {
    const auto& a = index["manifests"][i];
    SCOPED_TRACE(a.dump());
    EXPECT_EQ(a["platform"], json({{"architecture", "unknown"}, {"os", "unknown"}}));
    EXPECT_EQ(a["annotations"]["vnd.docker.reference.type"], "attestation-manifest");
    std::string subject = a["annotations"]["vnd.docker.reference.digest"];
    std::string arch = subject == image_by_arch["arm64"] ? "arm64" : "amd64";
    EXPECT_EQ(subject, image_by_arch[arch]);
    json am = Blob(layout, a["digest"]);
    json cfg = Blob(layout, am["config"]["digest"]);
    EXPECT_EQ(cfg["architecture"], "unknown");
    ASSERT_EQ(am["layers"].size(), 2u);
    std::map<std::string, json> by_type;
    for (const auto& l : am["layers"]) {
      EXPECT_EQ(l["mediaType"], "application/vnd.in-toto+json");
      by_type[l["annotations"]["in-toto.io/predicate-type"]] = Blob(layout, l["digest"]);
      auto raw =
          ReadFile(JoinPath(layout, "blobs/sha256/" + l["digest"].get<std::string>().substr(7)));
      EXPECT_EQ(raw->find(kSecretValue), std::string::npos) << "the secret's value leaked";
    }
    const json& prov = by_type["https://slsa.dev/provenance/v1"];
    const json& sbom = by_type["https://spdx.dev/Document"];
    ASSERT_FALSE(prov.is_null());
    ASSERT_FALSE(sbom.is_null());
    for (const json* st : {&prov, &sbom}) {
      EXPECT_EQ((*st)["_type"], "https://in-toto.io/Statement/v0.1");
      EXPECT_EQ((*st)["subject"][0]["digest"]["sha256"], subject.substr(7));
      EXPECT_EQ((*st)["subject"][0]["name"],
                "pkg:docker/" + reg_->host() + "/org/app@1.0?platform=linux%2F" + arch);
    }
    const json& p = prov["predicate"];
    const json& ext = p["buildDefinition"]["externalParameters"];
    EXPECT_EQ(ext["configSource"]["path"], "Dockerfile");
    EXPECT_EQ(ext["configSource"]["digest"]["sha256"],
              Sha256::HexOf(*ReadFile(JoinPath(ctx, "Dockerfile"))));
    if (!commit.empty()) {
      EXPECT_EQ(ext["configSource"]["digest"]["sha1"], commit);
      EXPECT_EQ(p["runDetails"]["metadata"]["buildkit_metadata"]["vcs"]["source"],
                "https://git.example/o/app.git");
    }
    EXPECT_EQ(ext["request"]["args"]["build-arg:VERSION"], "1.2.3");
    EXPECT_EQ(ext["request"]["secrets"], json::array({{{"id", "tok"}}}));
    EXPECT_EQ(p["runDetails"]["builder"]["id"], "https://ci.example/run/7");
    EXPECT_TRUE(p["runDetails"]["builder"]["version"].contains("ocibuild"));
    bool base_found = false;
    for (const auto& dep : p["buildDefinition"]["resolvedDependencies"]) {
      if (dep["uri"] == "pkg:docker/" + reg_->host() + "/lib/base@1?platform=linux%2F" + arch) {
        base_found = true;
        EXPECT_EQ(dep["digest"]["sha256"],
                  Sha256::HexOf(Skopeo({"inspect", "--raw", "docker://" + base})));
      }
    }
    EXPECT_TRUE(base_found) << p["buildDefinition"]["resolvedDependencies"].dump(2);
    // SPDX: the packages of the image's databases.
    EXPECT_EQ(sbom["predicate"]["spdxVersion"], "SPDX-2.3");
    std::set<std::string> purls;
    for (const auto& pkg : sbom["predicate"]["packages"])
      for (const auto& ref : pkg.value("externalRefs", json::array()))
        purls.insert(ref["referenceLocator"]);
    EXPECT_TRUE(purls.count("pkg:deb/debian/libfake1@1.2-3?arch=all")) << sbom.dump(2);
    EXPECT_TRUE(purls.count("pkg:pypi/tiny@0.1"));
    EXPECT_TRUE(purls.count("pkg:npm/left-pad@1.3.0"));
  }

  // Each platform's image: its manifest annotation, and its filesystem through umoci.
  json arm_manifest = Blob(layout, image_by_arch["arm64"]);
  EXPECT_EQ(arm_manifest["annotations"]["org.opencontainers.image.version"], "1.2.3");
  if (HaveTool("umoci")) {
    for (const std::string arch : {"amd64", "arm64"}) {
      std::string one = Out("one-" + arch);
      Skopeo({"copy", "--override-arch", arch, "docker://" + app, "oci:" + one + ":1"});
      auto u = RunProcess(
          {"umoci", "unpack", "--rootless", "--image", one + ":1", Out("bundle-" + arch)});
      ASSERT_TRUE(u.ok() && u->success()) << (u.ok() ? u->err : "");
      auto f = RunProcess({"file", "-b", JoinPath(Out("bundle-" + arch), "rootfs/bin/busybox")});
      if (f.ok() && f->success()) {
        EXPECT_NE(f->out.find(arch == "arm64" ? "aarch64" : "x86-64"), std::string::npos) << f->out;
      }
      EXPECT_EQ(*ReadFile(JoinPath(Out("bundle-" + arch), "rootfs/etc/version")), "1.2.3\n");
      EXPECT_EQ(*ReadFile(JoinPath(Out("bundle-" + arch), "rootfs/etc/tok.sum")),
                Sha256::HexOf(kSecretValue).substr(0, 8) + "\n");
    }
  }
}

// One platform with provenance (mode=min, the default mode): an index of the image and its
// attestation, build args left out; without attestations a plain manifest, as before.
TEST_F(BuildxE2E, SinglePlatformProvenanceMinAndPlainManifest) {
  StartRegistry();
  std::string ctx = MultiArchContext("FROM scratch\nARG V\nCOPY busybox-amd64 /bin/busybox\n");
  if (ctx.empty()) GTEST_SKIP() << "no arm64 busybox";
  std::string ref = reg_->host() + "/org/one:1";
  auto r = Ocibuild({"--provenance", "--build-arg", "V=hidden-in-min", "-t", ref, "--push",
                     "--iidfile", Out("iid"), "--metadata-file", Out("meta.json"), ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json index = Raw(ref);
  ASSERT_EQ(index["manifests"].size(), 2u);
  auto meta = json::parse(*ReadFile(Out("meta.json")));
  // One platform: the image ID stays the config's, as buildx reports it.
  EXPECT_EQ(*ReadFile(Out("iid")), meta["containerimage.config.digest"]);
  std::string layout = CopyAll(ref);
  json am = Blob(layout, index["manifests"][1]["digest"]);
  json prov = Blob(layout, am["layers"][0]["digest"]);
  EXPECT_FALSE(
      prov["predicate"]["buildDefinition"]["externalParameters"]["request"]["args"].contains(
          "build-arg:V"));
  EXPECT_FALSE(prov["predicate"]["buildDefinition"]["internalParameters"].contains("buildConfig"));

  std::string plain = reg_->host() + "/org/plain:1";
  r = Ocibuild({"-t", plain, "--push", ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Raw(plain)["mediaType"], "application/vnd.oci.image.manifest.v1+json");
}

// The SBOM of a real Debian image (debootstrap minbase): every package dpkg lists as installed.
TEST_F(BuildxE2E, SbomOfADebianImageListsItsDpkgPackages) {
  std::string base = Env("OCIBUILD_DEBIAN_BASE");
  if (base.empty() || !PathExists(base)) GTEST_SKIP() << "OCIBUILD_DEBIAN_BASE is not set";
  std::string ctx = Out("deb");
  ASSERT_TRUE(MakeDirs(ctx).ok());
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "Dockerfile"), "FROM scratch\nADD rootfs.tar /\n").ok());
  ASSERT_TRUE(RunProcess({"cp", base, JoinPath(ctx, "rootfs.tar")})->success());
  auto r = Ocibuild({"--sbom", "-o", "type=oci,dest=" + Out("deb-layout"), ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json top = json::parse(*ReadFile(Out("deb-layout/index.json")));
  json index = Blob(Out("deb-layout"), top["manifests"][0]["digest"]);
  ASSERT_EQ(index["manifests"].size(), 2u);
  json am = Blob(Out("deb-layout"), index["manifests"][1]["digest"]);
  json sbom = Blob(Out("deb-layout"), am["layers"][0]["digest"]);
  // What dpkg itself says is installed, from the tarball's status file.
  auto status = RunProcess({"tar", "-xOf", base, "./var/lib/dpkg/status"});
  ASSERT_TRUE(status.ok() && status->success());
  std::set<std::string> installed;
  std::string pkg;
  for (const auto& line : Split(status->out, '\n')) {
    if (StartsWith(line, "Package: ")) pkg = line.substr(9);
    if (StartsWith(line, "Status: ") && line.find(" installed") != std::string::npos)
      installed.insert(pkg);
  }
  std::set<std::string> listed;
  bool libc = false;
  for (const auto& p : sbom["predicate"]["packages"]) {
    for (const auto& ref : p.value("externalRefs", json::array())) {
      std::string purl = ref["referenceLocator"];
      if (!StartsWith(purl, "pkg:deb/debian/")) continue;
      listed.insert(p["name"]);
      if (p["name"] == "libc6")
        libc = purl.find("?arch=amd64&distro=debian-12") != std::string::npos;
    }
  }
  EXPECT_GT(installed.size(), 50u);
  EXPECT_EQ(listed, installed);
  EXPECT_TRUE(libc) << sbom.dump(2).substr(0, 3000);
}

// Per-architecture images pushed separately (native runners), merged into one index.
TEST_F(BuildxE2E, ImagetoolsCreateMergesPerArchImages) {
  StartRegistry();
  std::string ctx =
      MultiArchContext("FROM scratch\nARG TARGETARCH\nCOPY busybox-${TARGETARCH} /bin/busybox\n");
  if (ctx.empty()) GTEST_SKIP() << "no arm64 busybox";
  std::string repo = reg_->host() + "/org/merged";
  auto a = Ocibuild({"--platform", "linux/amd64", "-t", repo + ":amd64", "--push", "--digest-file",
                     Out("d-amd64"), ctx});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto b = Ocibuild({"--platform", "linux/arm64", "--provenance", "-t", repo + ":arm64", "--push",
                     "--digest-file", Out("d-arm64"), ctx});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  // A bare digest names a manifest of the target's repository; a REF@DIGEST any other.
  auto c = Ocibuild({"imagetools", "create", "-t", repo + ":latest", "--annotation",
                     "index:org.opencontainers.image.description=merged", *ReadFile(Out("d-amd64")),
                     repo + "@" + *ReadFile(Out("d-arm64"))});
  ASSERT_EQ(c.exit_code, 0) << c.err;
  json index = Raw(repo + ":latest");
  EXPECT_EQ("sha256:" + Sha256::HexOf(Skopeo({"inspect", "--raw", "docker://" + repo + ":latest"})),
            std::string(TrimSpace(c.out)));
  ASSERT_EQ(index["manifests"].size(), 3u) << index.dump(2);  // amd64, arm64, arm64's attestation
  EXPECT_EQ(index["manifests"][0]["digest"], *ReadFile(Out("d-amd64")));
  EXPECT_EQ(index["manifests"][0]["platform"]["architecture"], "amd64");
  EXPECT_EQ(index["manifests"][1]["platform"]["architecture"], "arm64");
  EXPECT_EQ(index["manifests"][2]["annotations"]["vnd.docker.reference.type"],
            "attestation-manifest");
  EXPECT_EQ(index["annotations"]["org.opencontainers.image.description"], "merged");
  // skopeo resolves each platform through the new index.
  EXPECT_NE(Skopeo({"inspect", "--override-arch", "arm64", "docker://" + repo + ":latest"})
                .find("\"Architecture\": \"arm64\""),
            std::string::npos);
  auto dry =
      Ocibuild({"imagetools", "create", "--dry-run", "-t", repo + ":x", *ReadFile(Out("d-amd64"))});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(json::parse(dry.out)["manifests"].size(), 1u);
}

// --build-context (a directory, docker-image://, oci-layout://), --add-host, --network and
// --no-cache-filter in RUN steps.
TEST_F(BuildxE2E, BuildContextsHostsNetworkAndNoCacheFilter) {
  StartRegistry();
  std::string ctx = MultiArchContext("");
  if (ctx.empty()) GTEST_SKIP() << "no arm64 busybox";
  // Sources for the named contexts.
  std::string extra = Out("extra");
  ASSERT_TRUE(MakeDirs(extra).ok());
  ASSERT_TRUE(WriteFile(JoinPath(extra, "from-dir.txt"), "dir context\n").ok());
  std::string img_ref = reg_->host() + "/lib/tools:1";
  std::string tools_ctx = Out("tools");
  ASSERT_TRUE(MakeDirs(tools_ctx).ok());
  ASSERT_TRUE(RunProcess({"cp", Busybox(), JoinPath(tools_ctx, "busybox")})->success());
  ASSERT_TRUE(
      WriteFile(JoinPath(tools_ctx, "Dockerfile"),
                "FROM scratch\nCOPY busybox /bin/busybox\nCOPY <<EOT /tool.txt\nfrom image\nEOT\n")
          .ok());
  auto t =
      Ocibuild({"-t", img_ref, "--push", "-o", "type=oci,dest=" + Out("tools-layout"), tools_ctx});
  ASSERT_EQ(t.exit_code, 0) << t.err;

  int port = reg_->port();
  ASSERT_TRUE(
      WriteFile(JoinPath(ctx, "Dockerfile"),
                "FROM tools AS base\n"
                "FROM base AS net\n"
                "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox cat /etc/hosts > /hosts; "
                "if /bin/busybox wget -q -O /dev/null http://127.0.0.1:" +
                    std::to_string(port) +
                    "/v2/ 2>/dev/null; then echo reached > /net; else echo blocked > /net; "
                    "fi\"]\n"
                    "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox head -c 16 /dev/urandom "
                    "| /bin/busybox md5sum > /stamp\"]\n"
                    "FROM scratch\n"
                    "COPY --from=net /hosts /net /stamp /\n"
                    "COPY --from=extra from-dir.txt /\n"
                    "COPY --from=lay /tool.txt /from-layout.txt\n"
                    "COPY --from=base /tool.txt /from-image.txt\n")
          .ok());
  auto build = [&](const std::string& out, std::vector<std::string> more) {
    std::vector<std::string> args = {"--build-context",
                                     "tools=docker-image://" + img_ref,
                                     "--build-context",
                                     "extra=" + extra,
                                     "--build-context",
                                     "lay=oci-layout://" + Out("tools-layout") + ":1",
                                     "--pull",
                                     "--add-host",
                                     "db.internal:10.1.2.3",
                                     "-o",
                                     "type=local,dest=" + out};
    args.insert(args.end(), more.begin(), more.end());
    args.push_back(ctx);
    return Ocibuild(args);
  };
  auto r = build(Out("o1"), {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(ReadFile(Out("o1/hosts"))->find("10.1.2.3\tdb.internal\n"), std::string::npos)
      << *ReadFile(Out("o1/hosts"));
  EXPECT_EQ(*ReadFile(Out("o1/net")), "reached\n");
  EXPECT_EQ(*ReadFile(Out("o1/from-dir.txt")), "dir context\n");
  EXPECT_EQ(*ReadFile(Out("o1/from-layout.txt")), "from image\n");
  EXPECT_EQ(*ReadFile(Out("o1/from-image.txt")), "from image\n");

  // --network none: the same RUN cannot reach the registry (and is not the cached step).
  r = build(Out("o2"), {"--network", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ReadFile(Out("o2/net")), "blocked\n");

  // Again with default network: cached, unless the stage is in --no-cache-filter.
  r = build(Out("o3"), {});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ReadFile(Out("o3/stamp")), *ReadFile(Out("o1/stamp")));
  r = build(Out("o4"), {"--no-cache-filter", "net"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(*ReadFile(Out("o4/stamp")), *ReadFile(Out("o1/stamp")));
  EXPECT_NE(r.err.find("#"), std::string::npos);
}

// --call=check: BuildKit's rule names, file:line, the check directive; error=true fails a build.
TEST_F(BuildxE2E, ChecksReportBuildKitRules) {
  std::string ctx = Out("chk");
  ASSERT_TRUE(MakeDirs(ctx).ok());
  ASSERT_TRUE(RunProcess({"cp", Busybox(), JoinPath(ctx, "busybox")})->success());
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "Dockerfile"),
                        "FROM scratch AS Build\nCOPY busybox /bin/busybox\nCMD /bin/busybox true\n")
                  .ok());
  auto c = Ocibuild({"--call=check", "-o", "type=oci,dest=" + Out("not-built"), ctx});
  EXPECT_EQ(c.exit_code, 1) << c.out << c.err;
  EXPECT_NE(c.out.find("Check complete, 2 warnings have been found!"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("WARNING: StageNameCasing - "
                       "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/"),
            std::string::npos)
      << c.out;
  EXPECT_NE(c.out.find("   3 | >>> CMD /bin/busybox true"), std::string::npos) << c.out;
  EXPECT_FALSE(PathExists(Out("not-built")));  // a check builds nothing

  // A build prints them as warnings and goes on.
  auto b = Ocibuild({"-o", "type=oci,dest=" + Out("l1"), ctx});
  EXPECT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.err.find("WARNING: JSONArgsRecommended: JSON arguments recommended for CMD"),
            std::string::npos)
      << b.err;

  ASSERT_TRUE(WriteFile(JoinPath(ctx, "Dockerfile"),
                        "# check=skip=StageNameCasing;error=true\n"
                        "FROM scratch AS Build\nCOPY busybox /bin/busybox\nCMD /bin/busybox true\n")
                  .ok());
  b = Ocibuild({"-o", "type=oci,dest=" + Out("l2"), ctx});
  EXPECT_NE(b.exit_code, 0);
  EXPECT_NE(b.err.find("lint violation found for rules: JSONArgsRecommended"), std::string::npos)
      << b.err;
  EXPECT_EQ(b.err.find("StageNameCasing"), std::string::npos) << b.err;
  EXPECT_FALSE(PathExists(Out("l2")));
  // The build arg overrides the directive.
  b = Ocibuild({"--build-arg", "BUILDKIT_DOCKERFILE_CHECK=skip=all", "-o",
                "type=oci,dest=" + Out("l3"), ctx});
  EXPECT_EQ(b.exit_code, 0) << b.err;
  c = Ocibuild({"--check", ctx});
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_NE(c.out.find("Check complete, 1 warning has been found!"), std::string::npos) << c.out;
}

// Debian's BuildKit (dockerd 20.10, DOCKER_BUILDKIT=1 docker build) and ocibuild build one
// Dockerfile with --add-host and --network none; the RUN step's view and the image config
// are compared field by field. (That BuildKit predates attestations, annotations and checks.)
TEST_F(BuildxE2E, SameAsDebianBuildKitForHostsNetworkAndConfig) {
  if (!PathExists("/usr/bin/docker")) GTEST_SKIP() << "needs Debian's docker.io client";
  auto host = RunProcess({JoinPath(Env("OCIBUILD_SOURCE_DIR"), "scripts/dockerd.sh"), "start"});
  if (!host.ok() || host->exit_code != 0) GTEST_SKIP() << "no Docker daemon here";
  std::string ctx = Out("cmp");
  ASSERT_TRUE(MakeDirs(ctx).ok());
  ASSERT_TRUE(RunProcess({"cp", Busybox(), JoinPath(ctx, "busybox")})->success());
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "Dockerfile"),
                        "FROM scratch\n"
                        "COPY busybox /bin/busybox\n"
                        "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox grep db.internal "
                        "/etc/hosts > /hosts; /bin/busybox wget -q -O /dev/null http://10.1.2.3/ "
                        "2>/dev/null && echo reached > /net || echo blocked > /net\"]\n"
                        "LABEL org.example.k=v\n"
                        "ENV A=1\n"
                        "CMD [\"/bin/busybox\", \"cat\", \"/hosts\"]\n")
                  .ok());
  std::string tag = "ocibuild-buildx-cmp:" + std::to_string(::getpid());
  SpawnOptions o;
  o.extra_env = {{"DOCKER_HOST", std::string(TrimSpace(host->out))}, {"DOCKER_BUILDKIT", "1"}};
  auto bk = RunProcess({"/usr/bin/docker", "build", "--add-host", "db.internal:10.1.2.3",
                        "--network", "none", "-t", tag, ctx},
                       o);
  ASSERT_TRUE(bk.ok() && bk->success()) << (bk.ok() ? bk->err : "");
  auto bk_out = RunProcess({"/usr/bin/docker", "build", "--add-host", "db.internal:10.1.2.3",
                            "--network", "none", "-o", "type=local,dest=" + Out("bk-out"), ctx},
                           o);
  ASSERT_TRUE(bk_out.ok() && bk_out->success()) << (bk_out.ok() ? bk_out->err : "");
  auto inspect = RunProcess({"/usr/bin/docker", "image", "inspect", tag}, o);
  ASSERT_TRUE(inspect.ok() && inspect->success());
  json bk_cfg = json::parse(inspect->out)[0]["Config"];
  auto hist = RunProcess(
      {"/usr/bin/docker", "history", "--no-trunc", "--format", "{{.CreatedBy}}", tag}, o);
  (void)RunProcess({"/usr/bin/docker", "rmi", "-f", tag}, o);

  auto r = Ocibuild({"--add-host", "db.internal:10.1.2.3", "--network", "none", "-o",
                     "type=local,dest=" + Out("oc-out"), "-o", "type=oci,dest=" + Out("oc-layout"),
                     ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ReadFile(Out("oc-out/hosts")), *ReadFile(Out("bk-out/hosts")));
  EXPECT_EQ(*ReadFile(Out("oc-out/net")), *ReadFile(Out("bk-out/net")));
  auto index = json::parse(*ReadFile(Out("oc-layout/index.json")));
  json m = Blob(Out("oc-layout"), index["manifests"][0]["digest"]);
  json cfg = Blob(Out("oc-layout"), m["config"]["digest"])["config"];
  for (const char* field : {"Cmd", "Env", "Labels"}) EXPECT_EQ(cfg[field], bk_cfg[field]) << field;
  // History: BuildKit's created_by for the RUN step is what ours says too.
  json oc_hist = Blob(Out("oc-layout"), m["config"]["digest"])["history"];
  std::string run_cb;
  for (const auto& h : oc_hist)
    if (StartsWith(h.value("created_by", ""), "RUN ")) run_cb = h["created_by"];
  if (hist.ok() && hist->success()) {
    EXPECT_NE(hist->out.find(run_cb), std::string::npos) << hist->out << "\nours: " << run_cb;
  }
}

// An arm64 image from Debian's arm64 busybox, built on this machine, runs under
// `docker run --platform linux/arm64` where qemu is registered with binfmt_misc.
TEST_F(BuildxE2E, Arm64ImageRunsUnderDockerWithQemu) {
  if (!PathExists("/proc/sys/fs/binfmt_misc/qemu-aarch64"))
    GTEST_SKIP() << "qemu-aarch64 is not registered with binfmt_misc here (qemu-user-static)";
  if (!PathExists("/usr/bin/docker")) GTEST_SKIP() << "needs Debian's docker.io client";
  auto host = RunProcess({JoinPath(Env("OCIBUILD_SOURCE_DIR"), "scripts/dockerd.sh"), "start"});
  if (!host.ok() || host->exit_code != 0) GTEST_SKIP() << "no Docker daemon here";
  std::string ctx = MultiArchContext(
      "FROM scratch\nARG TARGETARCH\nCOPY busybox-${TARGETARCH} /bin/busybox\n"
      "ENTRYPOINT [\"/bin/busybox\"]\nCMD [\"uname\", \"-m\"]\n");
  if (ctx.empty()) GTEST_SKIP() << "no arm64 busybox";
  std::string tag = "ocibuild-buildx-arm64:" + std::to_string(::getpid());
  auto r = Ocibuild(
      {"--platform", "linux/arm64", "-t", tag, "-o", "type=docker,dest=" + Out("arm.tar"), ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  SpawnOptions o;
  o.extra_env = {{"DOCKER_HOST", std::string(TrimSpace(host->out))}};
  auto load = RunProcess({"/usr/bin/docker", "load", "-i", Out("arm.tar")}, o);
  ASSERT_TRUE(load.ok() && load->success()) << (load.ok() ? load->err : "");
  auto run = RunProcess(
      {"/usr/bin/docker", "run", "--rm", "--platform", "linux/arm64", "--network", "none", tag}, o);
  (void)RunProcess({"/usr/bin/docker", "rmi", "-f", tag}, o);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->exit_code, 0) << run->err;
  EXPECT_EQ(run->out, "aarch64\n");
}

}  // namespace
}  // namespace ocibuild
