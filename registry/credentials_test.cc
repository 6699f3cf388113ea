#include "registry/credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "registry/base64.h"
#include "util/fs.h"

namespace ocibuild::registry {
namespace {

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::move(*TempDir::Create("ocibuild-creds-"));
    env_.vars["HOME"] = JoinPath(dir_.path(), "home");
    env_.vars["PATH"] = JoinPath(dir_.path(), "bin") + ":/usr/bin:/bin";
    ASSERT_TRUE(MakeDirs(JoinPath(dir_.path(), "bin")).ok());
  }
  void DockerConfig(const std::string& json) {
    std::string d = JoinPath(dir_.path(), "home/.docker");
    ASSERT_TRUE(MakeDirs(d).ok());
    ASSERT_TRUE(WriteFile(JoinPath(d, "config.json"), json).ok());
  }
  // A credential helper that logs its argv and stdin and answers from a case on the server URL.
  void Helper(const std::string& name, const std::string& script_body) {
    std::string p = JoinPath(dir_.path(), "bin/docker-credential-" + name);
    ASSERT_TRUE(WriteFile(p,
                          "#!/bin/sh\nread url\necho \"$1 $url\" >> " +
                              JoinPath(dir_.path(), "helper.log") + "\n" + script_body,
                          0755)
                    .ok());
  }
  Credential Find(const std::string& registry) {
    auto r = LookupCredential(registry, env_);
    EXPECT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r.ok() && r->has_value()) << registry;
    return r.ok() && r->has_value() ? **r : Credential{};
  }
  TempDir dir_ = std::move(*TempDir::Create("ocibuild-creds-"));
  CredentialEnv env_;
};

TEST_F(CredentialsTest, ConvertToHostnameStripsSchemeAndPath) {
  EXPECT_EQ(ConvertToHostname("https://index.docker.io/v1/"), "index.docker.io");
  EXPECT_EQ(ConvertToHostname("http://localhost:5000/v2"), "localhost:5000");
  EXPECT_EQ(ConvertToHostname("ghcr.io"), "ghcr.io");
  EXPECT_EQ(ConvertToHostname("ghcr.io/org"), "ghcr.io");
}

TEST_F(CredentialsTest, DockerHubEntryUnderItsLegacyUrl) {
  DockerConfig(R"({"auths":{"https://index.docker.io/v1/":{"auth":")" +
               Base64Encode("hubuser:hubpass") + R"("}}})");
  Credential c = Find("docker.io");
  EXPECT_EQ(c.username, "hubuser");
  EXPECT_EQ(c.password, "hubpass");
  EXPECT_EQ(c.source, JoinPath(dir_.path(), "home/.docker/config.json"));
}

TEST_F(CredentialsTest, AuthsMatchedAfterNormalisationAndExactKeyWins) {
  DockerConfig(R"({"auths":{"https://ghcr.io/v2/":{"username":"u1","password":"p1"},
                            "ghcr.io":{"auth":")" +
               Base64Encode("u2:p:2") + R"("},
                            "localhost:5000":{"identitytoken":"idtok","auth":")" +
               Base64Encode("x:") + R"("}}})");
  Credential c = Find("ghcr.io");
  EXPECT_EQ(c.username, "u2");
  EXPECT_EQ(c.password, "p:2");  // only the first ':' separates
  Credential l = Find("localhost:5000");
  EXPECT_EQ(l.identity_token, "idtok");
  EXPECT_EQ(l.username, "x");
  auto none = LookupCredential("quay.io", env_);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(CredentialsTest, DockerConfigEnvironmentVariableNamesTheDirectory) {
  std::string d = JoinPath(dir_.path(), "elsewhere");
  ASSERT_TRUE(MakeDirs(d).ok());
  ASSERT_TRUE(WriteFile(JoinPath(d, "config.json"),
                        R"({"auths":{"quay.io":{"username":"q","password":"w"}}})")
                  .ok());
  env_.vars["DOCKER_CONFIG"] = d;
  EXPECT_EQ(Find("quay.io").username, "q");
}

TEST_F(CredentialsTest, MalformedAuthIsAnErrorThatHidesTheValue) {
  DockerConfig(R"({"auths":{"ghcr.io":{"auth":"c2VjcmV0LXZhbHVl"}}})");  // "secret-value"
  auto r = LookupCredential("ghcr.io", env_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, JoinPath(dir_.path(), "home/.docker/config.json") +
                                   ": auths[\"ghcr.io\"].auth is not base64 of \"user:password\"");
}

TEST_F(CredentialsTest, CredHelperForTheHostIsRun) {
  Helper("gh", R"(echo '{"ServerURL":"ghcr.io","Username":"octo","Secret":"tok"}')");
  DockerConfig(R"({"credHelpers":{"ghcr.io":"gh"},"auths":{"ghcr.io":{"auth":")" +
               Base64Encode("a:b") + R"("}}})");
  Credential c = Find("ghcr.io");
  EXPECT_EQ(c.username, "octo");
  EXPECT_EQ(c.password, "tok");
  EXPECT_EQ(c.source, "docker-credential-gh");
  EXPECT_EQ(*ReadFile(JoinPath(dir_.path(), "helper.log")), "get ghcr.io\n");
}

TEST_F(CredentialsTest, CredsStoreGetsDockerHubLegacyUrlAndTokenUsernameMeansIdentityToken) {
  Helper("store", R"(echo '{"Username":"<token>","Secret":"refresh-abc"}')");
  DockerConfig(R"({"credsStore":"store"})");
  Credential c = Find("docker.io");
  EXPECT_EQ(c.identity_token, "refresh-abc");
  EXPECT_EQ(c.username, "");
  EXPECT_EQ(*ReadFile(JoinPath(dir_.path(), "helper.log")), "get https://index.docker.io/v1/\n");
}

TEST_F(CredentialsTest, CredsStoreWithoutEntryFallsBackToAuths) {
  Helper("store", "echo 'credentials not found in native keychain'; exit 1\n");
  DockerConfig(R"({"credsStore":"store","auths":{"quay.io":{"auth":")" + Base64Encode("a:b") +
               R"("}}})");
  EXPECT_EQ(Find("quay.io").username, "a");
}

TEST_F(CredentialsTest, HelperFailuresAreErrors) {
  DockerConfig(R"({"credHelpers":{"ghcr.io":"missing"}})");
  auto r = LookupCredential("ghcr.io", env_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "credential helper docker-credential-missing not found in PATH (configured for "
            "ghcr.io)");
  Helper("broken", "echo 'keychain locked' >&2; exit 3\n");
  DockerConfig(R"({"credHelpers":{"ghcr.io":"broken"}})");
  r = LookupCredential("ghcr.io", env_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "docker-credential-broken get ghcr.io: exit status 3: keychain locked");
}

TEST_F(CredentialsTest, DockerAuthConfigAndRegistryAuthFileComeFirst) {
  DockerConfig(R"({"auths":{"quay.io":{"auth":")" + Base64Encode("file:f") + R"("}}})");
  std::string podman = JoinPath(dir_.path(), "auth.json");
  ASSERT_TRUE(
      WriteFile(podman, R"({"auths":{"quay.io":{"auth":")" + Base64Encode("podman:p") + R"("}}})")
          .ok());
  env_.vars["REGISTRY_AUTH_FILE"] = podman;
  EXPECT_EQ(Find("quay.io").username, "podman");
  EXPECT_EQ(Find("quay.io").source, podman);
  env_.vars["DOCKER_AUTH_CONFIG"] =
      R"({"auths":{"quay.io":{"auth":")" + Base64Encode("inline:i") + R"("}}})";
  EXPECT_EQ(Find("quay.io").username, "inline");
  EXPECT_EQ(Find("quay.io").source, "DOCKER_AUTH_CONFIG");
}

TEST_F(CredentialsTest, PodmanRuntimeAuthFile) {
  std::string run = JoinPath(dir_.path(), "run");
  ASSERT_TRUE(MakeDirs(JoinPath(run, "containers")).ok());
  ASSERT_TRUE(WriteFile(JoinPath(run, "containers/auth.json"),
                        R"({"auths":{"quay.io":{"auth":")" + Base64Encode("rt:x") + R"("}}})")
                  .ok());
  env_.vars["XDG_RUNTIME_DIR"] = run;
  EXPECT_EQ(Find("quay.io").username, "rt");
}

TEST_F(CredentialsTest, GithubTokenOnlyForGhcr) {
  env_.vars["GITHUB_TOKEN"] = "ghs_abc";
  env_.vars["GITHUB_ACTOR"] = "octocat";
  Credential c = Find("ghcr.io");
  EXPECT_EQ(c.username, "octocat");
  EXPECT_EQ(c.password, "ghs_abc");
  EXPECT_EQ(c.source, "GITHUB_TOKEN");
  auto other = LookupCredential("docker.io", env_);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
  // A login wins over the ambient token.
  DockerConfig(R"({"auths":{"ghcr.io":{"auth":")" + Base64Encode("me:pat") + R"("}}})");
  EXPECT_EQ(Find("ghcr.io").username, "me");
}

}  // namespace
}  // namespace ocibuild::registry
