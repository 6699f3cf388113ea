// Interoperability: images ocibuild writes must be accepted by other tools — skopeo and umoci
// read the OCI layout, docker load reads the docker archive. Tests skip (loudly) when a tool is
// not installed, as inside the unprivileged test container.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "oci/docker_archive.h"
#include "oci/image.h"
#include "oci/image_layout.h"
#include "oci/image_testing.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild::oci {
namespace {

std::string FindOnPath(const std::string& tool) {
  const char* path = std::getenv("PATH");
  for (const std::string& dir : Split(path ? path : "/usr/bin:/bin", ':')) {
    std::string p = JoinPath(dir.empty() ? "." : dir, tool);
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

#define REQUIRE_TOOL(var, name)                                                      \
  std::string var = FindOnPath(name);                                                \
  if (var.empty()) {                                                                 \
    GTEST_SKIP() << name " is not on PATH; cannot check that it accepts our images"; \
  }

ProcessResult MustRun(const std::vector<std::string>& argv, const SpawnOptions& opts = {}) {
  auto r = RunProcess(argv, opts);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  if (!r.ok()) return {};
  EXPECT_EQ(r->exit_code, 0) << ShellQuote(argv) << "\nstdout: " << r->out
                             << "\nstderr: " << r->err;
  return *r;
}

class ImageToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("ocimodel-tools-");
    ASSERT_TRUE(t.ok());
    tmp_.emplace(std::move(*t));
    layout_dir_ = tmp_->path() + "/layout";
    auto layout = ImageLayout::Create(layout_dir_);
    ASSERT_TRUE(layout.ok()) << layout.error().message;
    layout_.emplace(std::move(*layout));
  }

  Descriptor WriteImage(MediaFormat format, ImageConfig* config) {
    testing::TestImageSpec spec;
    spec.format = format;
    spec.layers = {
        {{"etc/", ""}, {"etc/greeting", "hello from ocibuild\n"}},
        {{"usr/", ""}, {"usr/bin/", ""}, {"usr/bin/tool", "#!/bin/sh\necho tool\n", 0755}},
    };
    spec.config.env = {"PATH=/usr/bin:/bin", "GREETING=hello"};
    spec.config.cmd = std::vector<std::string>{"/usr/bin/tool", "--flag"};
    spec.config.working_dir = "/etc";
    spec.config.labels = {{"org.example.test", "ocimodel"}};
    spec.config.exposed_ports = {"8080/tcp"};
    auto desc = testing::WriteTestImage(layout_->blobs(), spec, config);
    EXPECT_TRUE(desc.ok()) << desc.error().message;
    return desc.ok() ? *desc : Descriptor{};
  }

  std::optional<TempDir> tmp_;
  std::string layout_dir_;
  std::optional<ImageLayout> layout_;
};

TEST_F(ImageToolsTest, SkopeoInspectsLayoutAndLayoutTar) {
  REQUIRE_TOOL(skopeo, "skopeo");
  // Only OCI-typed manifests: skopeo's oci: transport ignores index.json entries of Docker
  // media types, which is why layouts should be written in the OCI format.
  for (MediaFormat f : {MediaFormat::kOci}) {
    ImageConfig config;
    Descriptor desc = WriteImage(f, &config);
    std::string tag = f == MediaFormat::kOci ? "oci" : "docker";
    ASSERT_TRUE(layout_->Tag(tag, desc).ok());
    auto image = LoadImage(layout_->blobs(), desc, Platform::Host());
    ASSERT_TRUE(image.ok());

    ProcessResult r = MustRun({skopeo, "inspect", "oci:" + layout_dir_ + ":" + tag});
    auto j = Json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j["Digest"], desc.digest.str()) << r.out;
    EXPECT_EQ(j["Architecture"], config.architecture);
    EXPECT_EQ(j["Os"], "linux");
    EXPECT_EQ(j["Labels"]["org.example.test"], "ocimodel");
    EXPECT_EQ(j["Env"], Json(config.config.env));
    ASSERT_EQ(j["Layers"].size(), 2u);
    EXPECT_EQ(j["Layers"][0], image->manifest.layers[0].digest.str());
    EXPECT_EQ(j["Layers"][1], image->manifest.layers[1].digest.str());

    // skopeo hands back exactly the bytes we stored.
    ProcessResult raw = MustRun({skopeo, "inspect", "--raw", "oci:" + layout_dir_ + ":" + tag});
    EXPECT_EQ(raw.out, ReadBlob(layout_->blobs(), desc.digest).value());
    ProcessResult cfg =
        MustRun({skopeo, "inspect", "--config", "--raw", "oci:" + layout_dir_ + ":" + tag});
    EXPECT_EQ(cfg.out, config.Serialize());
  }
  std::string tar = tmp_->path() + "/layout.tar";
  ASSERT_TRUE(WriteLayoutTar(*layout_, tar).ok());
  ProcessResult r = MustRun({skopeo, "inspect", "oci-archive:" + tar + ":oci"});
  auto j = Json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["Digest"], layout_->Resolve("oci")->digest.str());
}

TEST_F(ImageToolsTest, UmociUnpacksRootless) {
  REQUIRE_TOOL(umoci, "umoci");
  ImageConfig config;
  Descriptor desc = WriteImage(MediaFormat::kOci, &config);
  ASSERT_TRUE(layout_->Tag("v1", desc).ok());
  std::string bundle = tmp_->path() + "/bundle";
  MustRun({umoci, "unpack", "--rootless", "--image", layout_dir_ + ":v1", bundle});

  auto greeting = ReadFile(bundle + "/rootfs/etc/greeting");
  ASSERT_TRUE(greeting.ok()) << greeting.error().message;
  EXPECT_EQ(*greeting, "hello from ocibuild\n");
  struct stat st;
  ASSERT_EQ(stat((bundle + "/rootfs/usr/bin/tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);

  // umoci turns the image config into an OCI runtime config.
  auto runtime = ReadFile(bundle + "/config.json");
  ASSERT_TRUE(runtime.ok()) << runtime.error().message;
  auto j = Json::parse(*runtime, nullptr, false);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["process"]["args"], Json({"/usr/bin/tool", "--flag"})) << *runtime;
  EXPECT_EQ(j["process"]["cwd"], "/etc");
  bool has_greeting = false;
  for (const auto& e : j["process"]["env"]) has_greeting |= e == "GREETING=hello";
  EXPECT_TRUE(has_greeting) << j["process"]["env"].dump();
  EXPECT_EQ(j["annotations"]["org.example.test"], "ocimodel") << *runtime;
  EXPECT_EQ(j["annotations"]["org.opencontainers.image.author"], "ocibuild tests");
}

TEST_F(ImageToolsTest, SkopeoReadsDockerArchive) {
  REQUIRE_TOOL(skopeo, "skopeo");
  ImageConfig config;
  Descriptor desc = WriteImage(MediaFormat::kDocker, &config);
  std::string tar = tmp_->path() + "/docker.tar";
  ASSERT_TRUE(WriteDockerArchive(layout_->blobs(), {{desc, {"example.com/app:1.0"}}}, tar).ok());
  ProcessResult r = MustRun({skopeo, "inspect", "docker-archive:" + tar});
  auto j = Json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out;
  EXPECT_EQ(j["Labels"]["org.example.test"], "ocimodel");
  EXPECT_EQ(j["Layers"].size(), 2u);
  ProcessResult cfg = MustRun({skopeo, "inspect", "--config", "--raw", "docker-archive:" + tar});
  EXPECT_EQ(cfg.out, config.Serialize());
}

// Returns DOCKER_HOST from scripts/dockerd.sh, or "" with *why set when no daemon can run.
std::string StartDockerd(std::string* why) {
  const char* src = std::getenv("OCIBUILD_SOURCE_DIR");
  std::string script = std::string(src ? src : "") + "/scripts/dockerd.sh";
  if (!src || access(script.c_str(), X_OK) != 0) {
    *why = script + " is missing";
    return "";
  }
  auto r = RunProcess({script, "start"});
  if (!r.ok()) {
    *why = r.error().message;
    return "";
  }
  if (r->exit_code == 77) {
    *why = "scripts/dockerd.sh start exited 77: " + r->err;
    return "";
  }
  if (r->exit_code != 0) {
    ADD_FAILURE() << "scripts/dockerd.sh start failed (" << r->exit_code << "): " << r->err;
    *why = "dockerd.sh failed";
    return "";
  }
  return std::string(TrimSpace(r->out));
}

TEST_F(ImageToolsTest, DockerLoadAcceptsArchive) {
  REQUIRE_TOOL(docker, "docker");
  std::string why;
  std::string host = StartDockerd(&why);
  if (host.empty()) GTEST_SKIP() << "no Docker daemon available: " << why;
  SpawnOptions opts;
  opts.extra_env["DOCKER_HOST"] = host;

  ImageConfig config;
  Descriptor desc = WriteImage(MediaFormat::kDocker, &config);
  // A tag unique to this run, so parallel runs and leftovers do not interfere.
  std::string tag =
      "ocibuild-test/ocimodel:" + std::to_string(getpid()) + "-" + std::to_string(time(nullptr));
  std::string tar = tmp_->path() + "/docker.tar";
  ASSERT_TRUE(WriteDockerArchive(layout_->blobs(), {{desc, {tag}}}, tar).ok());

  ProcessResult load = MustRun({docker, "load", "-i", tar}, opts);
  EXPECT_NE(load.out.find("Loaded image: " + tag), std::string::npos) << load.out << load.err;
  ProcessResult inspect = MustRun({docker, "image", "inspect", tag}, opts);
  MustRun({docker, "rmi", tag}, opts);

  auto j = Json::parse(inspect.out, nullptr, false);
  ASSERT_TRUE(j.is_array() && j.size() == 1) << inspect.out;
  const Json& img = j[0];
  // Docker's image ID is the digest of the config bytes we wrote.
  auto image = LoadImage(layout_->blobs(), desc, Platform::Host());
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(img["Id"], image->manifest.config.digest.str());
  EXPECT_EQ(img["Architecture"], config.architecture);
  EXPECT_EQ(img["Os"], "linux");
  EXPECT_EQ(img["Config"]["Cmd"], Json({"/usr/bin/tool", "--flag"}));
  EXPECT_EQ(img["Config"]["Env"], Json(config.config.env));
  EXPECT_EQ(img["Config"]["WorkingDir"], "/etc");
  EXPECT_EQ(img["Config"]["Labels"]["org.example.test"], "ocimodel");
  EXPECT_TRUE(img["Config"]["ExposedPorts"].contains("8080/tcp")) << inspect.out;
  Json diff_ids = Json::array();
  for (const Digest& d : config.diff_ids) diff_ids.push_back(d.str());
  EXPECT_EQ(img["RootFS"]["Layers"], diff_ids);
  EXPECT_EQ(img["Author"], "ocibuild tests");
}

}  // namespace
}  // namespace ocibuild::oci
