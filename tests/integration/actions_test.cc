// The GitHub Action end to end: scripts/action.sh (what action.yml runs) in a simulated Actions
// environment (GITHUB_* variables, temp GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files, INPUT_*
// variables as action.yml sets them) builds and pushes to a real docker-registry; the outputs,
// the summary, the log's workflow commands and the pushed image are checked.
#include <unistd.h>

#include <cstdlib>

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

using registry::testing::AuthMode;
using registry::testing::HaveTool;
using registry::testing::RunSkopeo;
using registry::testing::TestRegistry;
using testing::Busybox;
using testing::Env;

// name=value and name<<DELIM ... DELIM entries of a GITHUB_OUTPUT file.
std::map<std::string, std::string> ParseGithubOutput(const std::string& text) {
  std::map<std::string, std::string> out;
  auto lines = Split(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    size_t heredoc = l.find("<<");
    size_t eq = l.find('=');
    if (heredoc != std::string::npos && (eq == std::string::npos || heredoc < eq)) {
      std::string name = l.substr(0, heredoc), delim = l.substr(heredoc + 2), value;
      for (++i; i < lines.size() && lines[i] != delim; ++i)
        value += (value.empty() ? "" : "\n") + lines[i];
      EXPECT_LT(i, lines.size()) << "unterminated " << name;
      out[name] = value;
    } else if (eq != std::string::npos) {
      out[l.substr(0, eq)] = l.substr(eq + 1);
    }
  }
  return out;
}

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1))
    ++n;
  return n;
}

class ActionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = Env("OCIBUILD_BINARY");
    ASSERT_FALSE(bin_.empty()) << "OCIBUILD_BINARY not set";
    if (Busybox().empty()) GTEST_SKIP() << "no static busybox on this machine";
    auto d = TempDir::Create("ocibuild-action-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    workspace_ = JoinPath(tmp_->path(), "workspace");
    ASSERT_TRUE(MakeDirs(JoinPath(workspace_, "app"), 0755).ok());
    ASSERT_TRUE(MakeDirs(JoinPath(tmp_->path(), "runner-temp"), 0755).ok());
    auto r = RunProcess({"cp", Busybox(), JoinPath(workspace_, "app/busybox")});
    ASSERT_TRUE(r.ok() && r->success());
  }

  void WriteDockerfile(const std::string& text) {
    ASSERT_TRUE(WriteFileAtomic(JoinPath(workspace_, "app/Dockerfile"), text).ok());
  }

  std::string Path(const std::string& name) const { return JoinPath(tmp_->path(), name); }

  // A clean simulated runner environment: nothing inherited but PATH, so a real Actions
  // environment around the test cannot leak in.
  std::map<std::string, std::string> ActionsEnv() const {
    return {{"PATH", Env("PATH")},
            {"LD_LIBRARY_PATH", Env("LD_LIBRARY_PATH")},
            {"HOME", tmp_->path()},
            {"GITHUB_ACTIONS", "true"},
            {"GITHUB_SERVER_URL", "https://github.com"},
            {"GITHUB_REPOSITORY", "octo-org/octo-app"},
            {"GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"},
            {"GITHUB_WORKSPACE", workspace_},
            {"RUNNER_TEMP", Path("runner-temp")},
            {"GITHUB_OUTPUT", Path("github-output")},
            {"GITHUB_STEP_SUMMARY", Path("step-summary")},
            {"OCIBUILD_BINARY", bin_},
            {"INPUT_CONTEXT", "app"},
            {"INPUT_PUSH", "false"},
            {"INPUT_NO_CACHE", "false"}};
  }

  // Runs the action's script from the workspace, stdout and stderr in one stream, in order (as
  // the runner's log sees them).
  ProcessResult RunAction(const std::map<std::string, std::string>& env) {
    SpawnOptions o;
    std::vector<std::string> e;
    for (const auto& [k, v] : env) e.push_back(k + "=" + v);
    o.env = e;
    o.cwd = workspace_;
    std::string script = JoinPath(Env("OCIBUILD_SOURCE_DIR"), "scripts/action.sh");
    auto r = RunProcess({"bash", "-c", "exec \"$0\" 2>&1", script}, o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : ProcessResult{};
  }

  std::string bin_;
  std::unique_ptr<TempDir> tmp_;
  std::string workspace_;
};

TEST_F(ActionTest, BuildsPushesAndReportsLikeBuildPushAction) {
  if (!HaveTool("docker-registry") || !HaveTool("skopeo"))
    GTEST_SKIP() << "needs docker-registry and skopeo";
  auto reg = TestRegistry::Start(AuthMode::kNone);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  const std::string secret = "s3cr3t-Value-4711";
  WriteDockerfile(
      "FROM scratch\n"
      "COPY busybox /bin/busybox\n"
      "ARG GREETING\n"
      "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo \\\"greeting=$GREETING\\\"\"]\n"
      // The Dockerfile holds only the secret's hash: the step's title must not print it.
      "RUN --mount=type=secret,id=token,target=/token,required=true [\"/bin/busybox\", \"sh\", "
      "\"-c\", "
      "\"[ $(/bin/busybox sha256sum /token | /bin/busybox cut -c1-64) = " +
      Sha256::HexOf(secret) +
      " ] && echo secret-ok\"]\n"
      "LABEL org.opencontainers.image.description=\"from the Dockerfile\"\n");
  std::string repo = (*reg)->host() + "/octo-org/octo-app";
  auto env = ActionsEnv();
  env["INPUT_TAGS"] = repo + ":1.0, " + repo + ":latest\n";
  env["INPUT_BUILD_ARGS"] = "GREETING=hello, from the action\n";
  env["INPUT_LABELS"] = "com.example.team=builders\norg.opencontainers.image.revision=v1-mine\n";
  env["INPUT_SECRETS"] = "token=" + secret + "\n";
  env["INPUT_PUSH"] = "true";
  env["INPUT_CACHE_TO"] = "type=registry,ref=" + repo + ":buildcache";
  env["SOURCE_DATE_EPOCH"] = "1700000000";
  auto r = RunAction(env);
  ASSERT_EQ(r.exit_code, 0) << r.out;

  // The secret is known to the runner before anything could print it, and shows nowhere else.
  size_t first = r.out.find(secret);
  ASSERT_NE(first, std::string::npos);
  EXPECT_EQ(r.out.rfind("::add-mask::", first), first - std::string("::add-mask::").size());
  EXPECT_EQ(Count(r.out, secret), Count(r.out, "::add-mask::" + secret)) << r.out;
  EXPECT_NE(r.out.find("secret-ok"), std::string::npos) << r.out;
  // A build arg with a comma arrives whole (build-args is a newline-separated list).
  EXPECT_NE(r.out.find("greeting=hello, from the action\n"), std::string::npos) << r.out;

  // One group per step, every group closed.
  EXPECT_GE(Count(r.out, "\n::group::["), 6u) << r.out;
  EXPECT_EQ(Count(r.out, "::group::"), Count(r.out, "::endgroup::")) << r.out;
  EXPECT_NE(r.out.find("::group::[stage-0 2/3] RUN"), std::string::npos) << r.out;

  // Outputs: digest = the registry's manifest digest, imageid = the config's digest.
  auto outputs = ParseGithubOutput(*ReadFile(Path("github-output")));
  auto flags = (*reg)->SkopeoFlags("");
  // An empty auth file of our own: skopeo's default one may be unreadable for the test user.
  ASSERT_TRUE(WriteFileAtomic(Path("auth.json"), "{\"auths\": {}}").ok());
  std::vector<std::string> inspect = {"inspect", "--authfile", Path("auth.json")};
  inspect.insert(inspect.end(), flags.begin(), flags.end());
  auto raw = inspect;
  raw.push_back("--raw");
  raw.push_back("docker://" + repo + ":1.0");
  auto manifest = RunSkopeo(raw);
  ASSERT_TRUE(manifest.ok()) << manifest.error().message;
  EXPECT_EQ(outputs["digest"], "sha256:" + Sha256::HexOf(*manifest));
  auto cfg_args = inspect;
  cfg_args.push_back("--config");
  cfg_args.push_back("--raw");
  cfg_args.push_back("docker://" + repo + ":latest");
  auto config = RunSkopeo(cfg_args);
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(outputs["imageid"], "sha256:" + Sha256::HexOf(*config));
  auto meta = nlohmann::json::parse(outputs["metadata"]);
  EXPECT_EQ(meta["containerimage.digest"], outputs["digest"]);
  EXPECT_EQ(meta["containerimage.config.digest"], outputs["imageid"]);

  // Labels: the Actions defaults fill what neither --label nor LABEL set.
  auto labels = nlohmann::json::parse(*config)["config"]["Labels"];
  EXPECT_EQ(labels["org.opencontainers.image.source"], "https://github.com/octo-org/octo-app");
  EXPECT_EQ(labels["org.opencontainers.image.revision"], "v1-mine");
  EXPECT_EQ(labels["org.opencontainers.image.created"], "2023-11-14T22:13:20Z");
  EXPECT_EQ(labels["org.opencontainers.image.description"], "from the Dockerfile");
  EXPECT_EQ(labels["com.example.team"], "builders");

  // The --cache-to image is there.
  auto cache_args = inspect;
  cache_args.push_back("--raw");
  cache_args.push_back("docker://" + repo + ":buildcache");
  auto cache = RunSkopeo(cache_args);
  EXPECT_TRUE(cache.ok()) << "--cache-to was not exported: " << cache.error().message;

  std::string summary = *ReadFile(Path("step-summary"));
  EXPECT_NE(summary.find("| digest | `" + outputs["digest"] + "` |"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| image | `" + repo + ":1.0` |"), std::string::npos) << summary;
  EXPECT_NE(summary.find("| step | result | time |"), std::string::npos) << summary;
  EXPECT_NE(summary.find("RUN --mount=type=secret"), std::string::npos) << summary;
  EXPECT_EQ(summary.find(secret), std::string::npos) << summary;

  // Same inputs again: every step comes from the cache, and the summary says so.
  ASSERT_TRUE(WriteFileAtomic(Path("step-summary"), "").ok());
  r = RunAction(env);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("::group::[stage-0 2/3] RUN"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("(cached)"), std::string::npos) << r.out;
  summary = *ReadFile(Path("step-summary"));
  EXPECT_NE(summary.find("| cached |"), std::string::npos) << summary;
}

// build-push-action's other inputs: several platforms, provenance by default (max for a public
// repository, min for a private one, none with load), sbom, annotations, build-contexts,
// add-hosts, network, no-cache-filters, pull, call=check, check annotations and
// DOCKER_BUILD_SUMMARY / DOCKER_BUILD_CHECKS_ANNOTATIONS.
TEST_F(ActionTest, BuildxInputsAttestationsPlatformsAndChecks) {
  if (!HaveTool("docker-registry") || !HaveTool("skopeo"))
    GTEST_SKIP() << "needs docker-registry and skopeo";
  std::string arm = JoinPath(Env("OCIBUILD_BUILD_DIR"), "cache/arm64-busybox/busybox");
  if (::access(arm.c_str(), X_OK) != 0) {
    auto r = RunProcess({JoinPath(Env("OCIBUILD_SOURCE_DIR"), "scripts/arm64-busybox.sh")});
    if (!r.ok() || !r->success()) GTEST_SKIP() << "no arm64 busybox (scripts/arm64-busybox.sh)";
    arm = std::string(TrimSpace(r->out));
  }
  auto reg = TestRegistry::Start(AuthMode::kNone);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  ASSERT_TRUE(RunProcess({"cp", JoinPath(workspace_, "app/busybox"),
                          JoinPath(workspace_, "app/busybox-amd64")})
                  ->success());
  ASSERT_TRUE(RunProcess({"cp", arm, JoinPath(workspace_, "app/busybox-arm64")})->success());
  std::string extra = Path("extra");
  ASSERT_TRUE(MakeDirs(extra).ok());
  ASSERT_TRUE(WriteFile(JoinPath(extra, "note.txt"), "from a named context\n").ok());
  WriteDockerfile(
      "FROM --platform=$BUILDPLATFORM scratch AS tools\n"
      "COPY busybox-amd64 /bin/busybox\n"
      "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox grep db.internal /etc/hosts > "
      "/hosts\"]\n"
      "FROM scratch\n"
      "ARG TARGETARCH\n"
      "COPY busybox-${TARGETARCH} /bin/busybox\n"
      "COPY --from=tools /hosts /etc/build-hosts\n"
      "COPY --from=extra note.txt /note.txt\n"
      "CMD /bin/busybox true\n");
  std::string repo = (*reg)->host() + "/octo-org/multi";
  ASSERT_TRUE(WriteFile(Path("event.json"), R"({"repository": {"private": false}})").ok());
  auto env = ActionsEnv();
  env["GITHUB_EVENT_PATH"] = Path("event.json");
  env["GITHUB_RUN_ID"] = "4242";
  env["GITHUB_RUN_ATTEMPT"] = "2";
  env["INPUT_TAGS"] = repo + ":1";
  env["INPUT_PUSH"] = "true";
  env["INPUT_PLATFORMS"] = "linux/amd64,linux/arm64";
  env["INPUT_SBOM"] = "true";
  env["INPUT_ANNOTATIONS"] =
      "index:org.opencontainers.image.description=from the action\n"
      "org.opencontainers.image.licenses=MIT\n";
  env["INPUT_BUILD_CONTEXTS"] = "extra=" + extra + "\n";
  env["INPUT_ADD_HOSTS"] = "db.internal:10.9.8.7";
  env["INPUT_NETWORK"] = "none";
  env["INPUT_NO_CACHE_FILTERS"] = "tools";
  env["INPUT_PULL"] = "true";
  env["INPUT_ALLOW"] = "network.host";
  auto r = RunAction(env);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  // Checks: a warning annotation on the Dockerfile's line, titled with the rule.
  EXPECT_NE(r.out.find("::warning file=app/Dockerfile,line=9,title=JSONArgsRecommended::"),
            std::string::npos)
      << r.out;
  auto outputs = ParseGithubOutput(*ReadFile(Path("github-output")));
  ASSERT_TRUE(WriteFileAtomic(Path("auth.json"), "{\"auths\": {}}").ok());
  auto inspect = [&](std::vector<std::string> extra_args) {
    std::vector<std::string> a = {"inspect", "--authfile", Path("auth.json")};
    for (const auto& f : (*reg)->SkopeoFlags("")) a.push_back(f);
    a.insert(a.end(), extra_args.begin(), extra_args.end());
    return RunSkopeo(a);
  };
  auto raw = inspect({"--raw", "docker://" + repo + ":1"});
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  // attest-build-provenance needs the pushed digest (and the name: the tags).
  EXPECT_EQ(outputs["digest"], "sha256:" + Sha256::HexOf(*raw));
  EXPECT_EQ(outputs["imageid"], outputs["digest"]);  // several platforms: the index
  auto index = nlohmann::json::parse(*raw);
  ASSERT_EQ(index["manifests"].size(), 4u) << *raw;
  EXPECT_EQ(index["annotations"]["org.opencontainers.image.description"], "from the action");
  std::string att_digest = index["manifests"][2]["digest"];
  auto att = inspect({"--raw", "docker://" + repo + "@" + att_digest});
  ASSERT_TRUE(att.ok());
  auto am = nlohmann::json::parse(*att);
  ASSERT_EQ(am["layers"].size(), 2u);  // sbom, provenance
  EXPECT_EQ(am["layers"][0]["annotations"]["in-toto.io/predicate-type"],
            "https://spdx.dev/Document");
  EXPECT_EQ(am["layers"][1]["annotations"]["in-toto.io/predicate-type"],
            "https://slsa.dev/provenance/v1");
  // The provenance blob: mode=max for a public repository, the run's URL as builder id.
  auto blob = RunProcess({"curl", "-fsS",
                          "http://" + (*reg)->host() + "/v2/octo-org/multi/blobs/" +
                              am["layers"][1]["digest"].get<std::string>()});
  ASSERT_TRUE(blob.ok() && blob->success());
  auto prov = nlohmann::json::parse(blob->out)["predicate"];
  EXPECT_EQ(prov["runDetails"]["builder"]["id"],
            "https://github.com/octo-org/octo-app/actions/runs/4242/attempts/2");
  EXPECT_TRUE(prov["buildDefinition"]["internalParameters"].contains("buildConfig"));
  EXPECT_EQ(prov["buildDefinition"]["externalParameters"]["configSource"]["digest"]["sha1"],
            "0123456789abcdef0123456789abcdef01234567");
  EXPECT_EQ(prov["runDetails"]["metadata"]["buildkit_hermetic"], true);  // network none
  auto arm_cfg =
      inspect({"--override-arch", "arm64", "--config", "--raw", "docker://" + repo + ":1"});
  ASSERT_TRUE(arm_cfg.ok());
  EXPECT_EQ(nlohmann::json::parse(*arm_cfg)["architecture"], "arm64");

  // A private repository: mode=min; DOCKER_BUILD_SUMMARY=false: no job summary.
  ASSERT_TRUE(WriteFile(Path("event.json"), R"({"repository": {"private": true}})").ok());
  ASSERT_TRUE(WriteFileAtomic(Path("step-summary"), "").ok());
  env["INPUT_PLATFORMS"] = "";
  env["INPUT_SBOM"] = "";
  env["INPUT_TAGS"] = repo + ":private";
  env["DOCKER_BUILD_SUMMARY"] = "false";
  env["DOCKER_BUILD_CHECKS_ANNOTATIONS"] = "false";
  r = RunAction(env);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.find("title=JSONArgsRecommended"), std::string::npos) << r.out;
  EXPECT_EQ(*ReadFile(Path("step-summary")), "");
  raw = inspect({"--raw", "docker://" + repo + ":private"});
  ASSERT_TRUE(raw.ok());
  index = nlohmann::json::parse(*raw);
  ASSERT_EQ(index["manifests"].size(), 2u) << *raw;
  att = inspect(
      {"--raw", "docker://" + repo + "@" + index["manifests"][1]["digest"].get<std::string>()});
  am = nlohmann::json::parse(*att);
  blob = RunProcess({"curl", "-fsS",
                     "http://" + (*reg)->host() + "/v2/octo-org/multi/blobs/" +
                         am["layers"][0]["digest"].get<std::string>()});
  prov = nlohmann::json::parse(blob->out)["predicate"];
  EXPECT_FALSE(prov["buildDefinition"]["internalParameters"].contains("buildConfig"));

  // provenance: false, and BUILDX_NO_DEFAULT_ATTESTATIONS: a plain manifest.
  env["INPUT_TAGS"] = repo + ":none";
  env["BUILDX_NO_DEFAULT_ATTESTATIONS"] = "1";
  r = RunAction(env);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  raw = inspect({"--raw", "docker://" + repo + ":none"});
  EXPECT_EQ(nlohmann::json::parse(*raw)["mediaType"], "application/vnd.oci.image.manifest.v1+json");

  // call: check — the report, an annotation, a failing step, nothing built.
  env.erase("DOCKER_BUILD_CHECKS_ANNOTATIONS");
  env["INPUT_CALL"] = "check";
  env["INPUT_TAGS"] = repo + ":check";
  r = RunAction(env);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("Check complete, 1 warning has been found!"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("::warning file=app/Dockerfile,line=9,title=JSONArgsRecommended::"),
            std::string::npos)
      << r.out;
  EXPECT_FALSE(inspect({"--raw", "docker://" + repo + ":check"}).ok());
}

TEST_F(ActionTest, DockerfileErrorsBecomeAnnotationsOnTheLine) {
  WriteDockerfile("FROM scratch\nCOPY busybox /bin/busybox\nRUNN echo\n");
  auto r = RunAction(ActionsEnv());
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("::error file=app/Dockerfile,line=3"), std::string::npos) << r.out;

  // A failing RUN is annotated on its own line.
  WriteDockerfile(
      "FROM scratch\n"
      "COPY busybox /bin/busybox\n"
      "\n"
      "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo about to fail; exit 7\"]\n");
  auto env = ActionsEnv();
  env["INPUT_OUTPUTS"] = "type=oci,dest=" + Path("layout");
  r = RunAction(env);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("::error file=app/Dockerfile,line=4::RUN"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("exit code: 7"), std::string::npos) << r.out;
  std::string summary = *ReadFile(Path("step-summary"));
  EXPECT_NE(summary.find("**failed**"), std::string::npos) << summary;
  EXPECT_FALSE(PathExists(Path("layout/index.json")));
}

TEST_F(ActionTest, LoadHandsTheImageToDockerLoad) {
  // A stand-in docker that records what it was asked to load and lists the archive.
  std::string fakebin = Path("fakebin");
  ASSERT_TRUE(MakeDirs(fakebin).ok());
  ASSERT_TRUE(WriteFile(JoinPath(fakebin, "docker"),
                        "#!/bin/sh\n"
                        "[ \"$1\" = load ] && [ \"$2\" = -i ] || exit 2\n"
                        "tar -xOf \"$3\" manifest.json > \"" +
                            Path("docker-load.json") + "\"\n",
                        0755)
                  .ok());
  WriteDockerfile("FROM scratch\nCOPY busybox /bin/busybox\n");
  auto env = ActionsEnv();
  env["PATH"] = fakebin + ":" + env["PATH"];
  env["INPUT_TAGS"] = "example.com/octo/app:load";
  env["INPUT_LOAD"] = "true";
  auto r = RunAction(env);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto loaded = ReadFile(Path("docker-load.json"));
  ASSERT_TRUE(loaded.ok()) << "docker load was not run\n" << r.out;
  auto manifest = nlohmann::json::parse(*loaded);
  EXPECT_EQ(manifest[0]["RepoTags"][0], "example.com/octo/app:load") << *loaded;
  auto outputs = ParseGithubOutput(*ReadFile(Path("github-output")));
  EXPECT_EQ(manifest[0]["Config"], "blobs/sha256/" + outputs["imageid"].substr(7)) << *loaded;
}

TEST_F(ActionTest, InstallsTheReleaseTarballWhenNoOcibuildIsOnPath) {
  // A release-shaped tarball (bin/ocibuild) served from a file:// URL.
  std::string rel = Path("release");
  ASSERT_TRUE(MakeDirs(JoinPath(rel, "ocibuild/bin"), 0755).ok());
  auto r = RunProcess({"cp", bin_, JoinPath(rel, "ocibuild/bin/ocibuild")});
  ASSERT_TRUE(r.ok() && r->success());
  r = RunProcess({"tar", "-czf", Path("ocibuild-linux-amd64.tar.gz"), "-C", rel, "ocibuild"});
  ASSERT_TRUE(r.ok() && r->success());
  if (!HaveTool("curl")) GTEST_SKIP() << "needs curl";

  WriteDockerfile("FROM scratch\nCOPY busybox /bin/busybox\n");
  auto env = ActionsEnv();
  env.erase("OCIBUILD_BINARY");
  env["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin";  // no ocibuild here
  env["INPUT_RELEASE_URL"] = "file://" + Path("ocibuild-linux-amd64.tar.gz");
  env["INPUT_OUTPUTS"] = "type=oci,dest=" + Path("layout");
  SpawnOptions probe;
  probe.env = std::vector<std::string>{"PATH=" + env["PATH"]};
  r = RunProcess({"sh", "-c", "command -v ocibuild"}, probe);
  if (r.ok() && r->success()) GTEST_SKIP() << "an ocibuild is installed in " << env["PATH"];
  auto run = RunAction(env);
  ASSERT_EQ(run.exit_code, 0) << run.out;
  EXPECT_NE(run.out.find("runner-temp/ocibuild-install/"), std::string::npos) << run.out;
  auto outputs = ParseGithubOutput(*ReadFile(Path("github-output")));
  auto index = nlohmann::json::parse(*ReadFile(Path("layout/index.json")));
  EXPECT_EQ(index["manifests"][0]["digest"], outputs["digest"]);
}

}  // namespace
}  // namespace ocibuild
