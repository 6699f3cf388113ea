#include "oci/image_config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "util/fs.h"

namespace ocibuild::oci {
namespace {

std::string Fixture(const std::string& name) {
  const char* dir = std::getenv("OCIBUILD_TESTDATA");
  EXPECT_NE(dir, nullptr) << "OCIBUILD_TESTDATA is not set";
  auto r = ReadFile(std::string(dir ? dir : "") + "/oci/" + name);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? *r : "";
}

TEST(ImageConfig, ReadsDockerConfigWithEverything) {
  std::string bytes = Fixture("docker-config-healthcheck.json");
  auto c = ImageConfig::Parse(bytes);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->architecture, "amd64");
  EXPECT_EQ(c->os, "linux");
  EXPECT_EQ(c->created, "2024-03-18T09:41:27.512345678Z");
  const ContainerConfig& cc = c->config;
  EXPECT_EQ(cc.user, "app:app");
  EXPECT_EQ(cc.exposed_ports, (std::set<std::string>{"443/tcp", "8080/tcp"}));
  EXPECT_EQ(cc.env.size(), 3u);
  EXPECT_EQ(cc.GetEnv("APP_HOME"), "/srv/app");
  EXPECT_EQ(cc.GetEnv("APP"), std::nullopt);
  EXPECT_EQ(cc.entrypoint, (std::vector<std::string>{"/usr/local/bin/app"}));
  EXPECT_EQ(cc.cmd, (std::vector<std::string>{"--port", "8080"}));
  EXPECT_EQ(cc.volumes, (std::set<std::string>{"/srv/app/data"}));
  EXPECT_EQ(cc.working_dir, "/srv/app");
  EXPECT_EQ(cc.labels.at("maintainer"), "ops@example.com");
  EXPECT_EQ(cc.stop_signal, "SIGQUIT");
  EXPECT_EQ(cc.args_escaped, true);
  ASSERT_TRUE(cc.healthcheck.has_value());
  EXPECT_EQ(
      cc.healthcheck->test,
      (std::vector<std::string>{"CMD-SHELL", "curl -fsS http://localhost:8080/healthz || exit 1"}));
  EXPECT_EQ(cc.healthcheck->interval, 30000000000);
  EXPECT_EQ(cc.healthcheck->timeout, 5000000000);
  EXPECT_EQ(cc.healthcheck->start_period, 10000000000);
  EXPECT_EQ(cc.healthcheck->start_interval, 2000000000);
  EXPECT_EQ(cc.healthcheck->retries, 3);
  EXPECT_EQ(cc.on_build,
            (std::vector<std::string>{"COPY . /srv/app/src", "RUN make -C /srv/app/src"}));
  EXPECT_EQ(cc.shell, (std::vector<std::string>{"/bin/bash", "-o", "pipefail", "-c"}));
  EXPECT_EQ(cc.extra.at("Hostname"), "");
  EXPECT_EQ(cc.extra.at("Image"),
            "sha256:6f1b8e6bf54a1c2d1c6b1e0a45d8d8ce2b6f0b2f4e5c33c0d3a2ab4f3e0b2c11");
  ASSERT_EQ(c->diff_ids.size(), 2u);
  ASSERT_EQ(c->history.size(), 4u);
  EXPECT_TRUE(c->history[1].empty_layer);
  EXPECT_EQ(c->history[2].author, "ops@example.com");
  EXPECT_EQ(c->history[2].comment, "buildkit.dockerfile.v0");
  EXPECT_EQ(c->NonEmptyHistoryCount(), c->diff_ids.size());
  EXPECT_TRUE(c->extra.contains("container_config"));
  EXPECT_EQ(c->extra.at("docker_version"), "24.0.7");

  // Nothing is lost on the way back out.
  EXPECT_EQ(Json::parse(c->Serialize()), Json::parse(bytes));
  auto again = ImageConfig::Parse(c->Serialize());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *c);
}

TEST(ImageConfig, WritesExactBytes) {
  ImageConfig c;
  c.SetPlatform(Platform::Parse("linux/arm64").value());
  c.created = "2024-01-02T03:04:05Z";
  c.config.env = {"PATH=/usr/bin:/bin"};
  c.config.cmd = std::vector<std::string>{"sh"};
  c.config.exposed_ports = {"80/tcp"};
  c.config.healthcheck = HealthConfig{{"NONE"}};
  c.diff_ids.push_back(Digest::OfBytes(""));
  c.history.push_back({"2024-01-02T03:04:05Z", "COPY a /a # buildkit", "", "", false});
  c.history.push_back({"2024-01-02T03:04:05Z", "CMD [\"sh\"]", "", "", true});
  EXPECT_EQ(c.Serialize(),
            R"({"architecture":"arm64","config":{"Cmd":["sh"],"Env":["PATH=/usr/bin:/bin"],)"
            R"("ExposedPorts":{"80/tcp":{}},"Healthcheck":{"Test":["NONE"]}},)"
            R"("created":"2024-01-02T03:04:05Z","history":[{"created":"2024-01-02T03:04:05Z",)"
            R"("created_by":"COPY a /a # buildkit"},{"created":"2024-01-02T03:04:05Z",)"
            R"("created_by":"CMD [\"sh\"]","empty_layer":true}],"os":"linux",)"
            R"("rootfs":{"diff_ids":["sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca)"
            R"(495991b7852b855"],"type":"layers"},"variant":"v8"})");
  auto back = ImageConfig::Parse(c.Serialize());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, c);
  EXPECT_EQ(back->platform().str(), "linux/arm64/v8");
}

TEST(ImageConfig, MinimalConfigHasEmptyObjects) {
  ImageConfig c;
  c.os = "linux";
  c.architecture = "amd64";
  EXPECT_EQ(c.Serialize(), R"({"architecture":"amd64","config":{},"os":"linux",)"
                           R"("rootfs":{"diff_ids":[],"type":"layers"}})");
}

TEST(ImageConfig, KeepsNullsUntilSet) {
  const std::string in =
      R"({"architecture":"amd64","config":{"Cmd":null,"Entrypoint":null,"OnBuild":null},)"
      R"("os":"linux","rootfs":{"diff_ids":[],"type":"layers"}})";
  auto c = ImageConfig::Parse(in);
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_FALSE(c->config.cmd.has_value());
  EXPECT_EQ(c->Serialize(), in);
  c->config.cmd = std::vector<std::string>{"bash"};
  c->config.on_build = {"RUN true"};
  EXPECT_EQ(c->Serialize(),
            R"({"architecture":"amd64","config":{"Cmd":["bash"],"Entrypoint":null,)"
            R"("OnBuild":["RUN true"]},"os":"linux","rootfs":{"diff_ids":[],"type":"layers"}})");
}

TEST(ImageConfig, EnvEditing) {
  ContainerConfig c;
  c.env = {"A=1", "PATH=/bin", "B"};
  c.SetEnv("PATH", "/usr/bin:/bin");
  c.SetEnv("C", "x=y");
  c.SetEnv("B", "2");
  EXPECT_EQ(c.env, (std::vector<std::string>{"A=1", "PATH=/usr/bin:/bin", "B=2", "C=x=y"}));
  EXPECT_EQ(c.GetEnv("C"), "x=y");
  EXPECT_EQ(c.GetEnv("PAT"), std::nullopt);
}

TEST(ImageConfig, FormatCreated) {
  EXPECT_EQ(FormatCreated(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatCreated(1700000000), "2023-11-14T22:13:20Z");
  EXPECT_EQ(FormatCreated(4102444800), "2100-01-01T00:00:00Z");
}

TEST(ImageConfig, RejectsInvalid) {
  auto err = [](const std::string& text) {
    auto c = ImageConfig::Parse(text);
    return c.ok() ? std::string("ok") : c.error().message;
  };
  const std::string rootfs = R"("rootfs":{"type":"layers","diff_ids":[]})";
  EXPECT_EQ(err(R"({"os":"linux",)" + rootfs + "}"), "image config: missing \"architecture\"");
  EXPECT_EQ(err(R"({"architecture":"amd64",)" + rootfs + "}"), "image config: missing \"os\"");
  EXPECT_EQ(err(R"({"architecture":"amd64","os":"linux"})"), "image config: missing \"rootfs\"");
  EXPECT_EQ(err(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"x","diff_ids":[]}})"),
            "image config: rootfs.type must be \"layers\", got \"x\"");
  EXPECT_EQ(
      err(R"({"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:1"]}})"),
      "image config: diff_ids[0]: invalid digest \"sha256:1\": want 64 hex characters, got 1");
  EXPECT_EQ(err(R"({"architecture":"amd64","os":"linux",)" + rootfs +
                R"(,"config":{"Healthcheck":{"Interval":"30s"}}})"),
            "image config: config: Healthcheck: field \"Interval\" must be an integer");
  EXPECT_EQ(
      err(R"({"architecture":"amd64","os":"linux",)" + rootfs + R"(,"config":{"Env":"A=1"}})"),
      "image config: config: field \"Env\" must be an array of strings");
  EXPECT_EQ(err(R"({"architecture":"amd64","os":"linux",)" + rootfs + R"(,"config":[]})"),
            "image config: field \"config\" must be an object");
  EXPECT_EQ(err(R"({"architecture":"amd64","os":"linux",)" + rootfs + R"(,"history":{}})"),
            "image config: field \"history\" must be an array");
  EXPECT_EQ(err(R"({"architecture":"amd64","os":"linux",)" + rootfs +
                R"(,"history":[{"empty_layer":"yes"}]})"),
            "image config: history[0]: field \"empty_layer\" must be a boolean");
}

}  // namespace
}  // namespace ocibuild::oci
