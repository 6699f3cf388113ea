// Everything ocibuild writes (manifests, indexes, configs, layout files) must validate against
// the image-spec JSON schemas in ../shared/conformance/image-spec, checked with Debian's
// python3-jsonschema through oci/validate_schema.py.
#include <gtest/gtest.h>
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

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(Env("OCIBUILD_CONFORMANCE").empty()) << "OCIBUILD_CONFORMANCE is not set";
    ASSERT_FALSE(Env("OCIBUILD_SOURCE_DIR").empty()) << "OCIBUILD_SOURCE_DIR is not set";
    schema_dir_ = Env("OCIBUILD_CONFORMANCE") + "/image-spec";
    ASSERT_TRUE(PathExists(schema_dir_ + "/image-manifest-schema.json"))
        << "image-spec schemas not found in " << schema_dir_;
    auto t = TempDir::Create("ocimodel-schema-");
    ASSERT_TRUE(t.ok());
    tmp_.emplace(std::move(*t));
  }

  // Writes `doc` to a file and queues it for validation as `kind`.
  void Add(const std::string& kind, const std::string& doc) {
    std::string path = tmp_->path() + "/" + kind + "-" + std::to_string(n_++) + ".json";
    ASSERT_TRUE(WriteFile(path, doc).ok());
    args_.push_back(kind + "=" + path);
  }

  // Runs the validator over the queued documents; returns its output, failing the test if it
  // could not run at all.
  ProcessResult Validate() {
    // Debian's interpreter is the one with python3-jsonschema; a PATH python3 may be another.
    std::string python = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
    std::vector<std::string> argv = {python, Env("OCIBUILD_SOURCE_DIR") + "/oci/validate_schema.py",
                                     schema_dir_};
    argv.insert(argv.end(), args_.begin(), args_.end());
    args_.clear();
    auto r = RunProcess(argv);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok()) return {};
    EXPECT_NE(r->exit_code, 2) << "schema validator cannot run: " << r->err;
    return *r;
  }

  std::string schema_dir_;
  std::optional<TempDir> tmp_;
  std::vector<std::string> args_;
  int n_ = 0;
};

TEST_F(SchemaTest, EverythingWeWriteValidates) {
  auto layout = ImageLayout::Create(tmp_->path() + "/layout");
  ASSERT_TRUE(layout.ok());
  DirContentStore& store = layout->blobs();

  // Images in both formats, with a full config.
  for (MediaFormat f : {MediaFormat::kOci, MediaFormat::kDocker}) {
    testing::TestImageSpec spec;
    spec.format = f;
    spec.layers = {{{"etc/", ""}, {"etc/motd", "hi"}}, {{"x", "y"}}};
    spec.config.env = {"PATH=/bin"};
    spec.config.entrypoint = std::vector<std::string>{"/bin/sh", "-c"};
    spec.config.cmd = std::vector<std::string>{"echo hi"};
    spec.config.exposed_ports = {"8080/tcp"};
    spec.config.volumes = {"/data"};
    spec.config.labels = {{"a", "b"}};
    spec.config.working_dir = "/";
    spec.config.user = "1000:1000";
    spec.config.stop_signal = "SIGTERM";
    spec.config.args_escaped = false;
    spec.config.healthcheck = HealthConfig{{"CMD", "true"}, 1000000000, 2000000000};
    spec.config.on_build = {"RUN true"};
    spec.config.shell = std::vector<std::string>{"/bin/bash", "-c"};
    auto desc = testing::WriteTestImage(store, spec);
    ASSERT_TRUE(desc.ok()) << desc.error().message;
    auto img = LoadImage(store, *desc, Platform::Host());
    ASSERT_TRUE(img.ok());
    Add("manifest", ReadBlob(store, desc->digest).value());
    Add("config", ReadBlob(store, img->manifest.config.digest).value());
    Add("descriptor", CanonicalJson(desc->ToJson()));
    ASSERT_TRUE(layout->Tag(f == MediaFormat::kOci ? "oci" : "docker", *desc).ok());
  }

  // A multi-platform index in both formats and a manifest with annotations and a subject.
  Index index;
  for (const char* p : {"linux/amd64", "linux/arm64", "linux/arm/v7", "windows/amd64"}) {
    Descriptor d = DescribeBytes(media_type::kOciManifest, p);
    d.platform = Platform::Parse(p).value();
    if (d.platform->os == "windows") {
      d.platform->os_version = "10.0.20348.2340";
      d.platform->os_features = {"win32k"};
    }
    index.manifests.push_back(d);
  }
  index.annotations = {{"org.opencontainers.image.created", "2024-05-06T07:08:09Z"}};
  Add("index", index.Serialize());
  Add("index", index.Convert(MediaFormat::kDocker).value().Serialize());
  Manifest m;
  m.config = DescribeBytes(media_type::kOciEmpty, "{}");
  m.config.data = "e30=";
  m.artifact_type = "application/vnd.example.sbom.v1+json";
  m.layers.push_back(DescribeBytes("application/spdx+json", "{}"));
  m.layers[0].urls = {"https://example.com/sbom.json"};
  m.subject = DescribeBytes(media_type::kOciManifest, "subject");
  m.annotations = {{"org.opencontainers.image.title", "sbom"}};
  Add("manifest", m.Serialize());

  // Configs read from the real-world fixtures and written back.
  std::string fixture =
      ReadFile(Env("OCIBUILD_TESTDATA") + "/oci/docker-config-healthcheck.json").value();
  Add("config", ImageConfig::Parse(fixture).value().Serialize());
  std::string list =
      ReadFile(Env("OCIBUILD_TESTDATA") + "/oci/dockerhub-manifest-list.json").value();
  Add("index", Index::Parse(list).value().Convert(MediaFormat::kOci).value().Serialize());

  // The layout's own files, and the docker archive's index.json.
  Add("layout", ReadFile(layout->path() + "/oci-layout").value());
  Add("index", ReadFile(layout->path() + "/index.json").value());
  std::string tar = tmp_->path() + "/docker.tar";
  ASSERT_TRUE(WriteDockerArchive(store, {{layout->Resolve("docker").value(), {"a:b"}}}, tar).ok());
  auto entries = testing::ReadTar(tar);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  for (const auto& e : *entries) {
    if (e.name == "index.json") Add("index", e.content);
    if (e.name == "oci-layout") Add("layout", e.content);
  }

  size_t count = args_.size();
  ProcessResult r = Validate();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Split(TrimSpace(r.out), '\n').size(), count) << r.out;
  EXPECT_EQ(r.out.find("INVALID"), std::string::npos) << r.out;
}

// The validator must be able to say no, or the test above proves nothing.
TEST_F(SchemaTest, ValidatorRejectsBadDocuments) {
  Manifest no_layers;
  no_layers.config = DescribeBytes(media_type::kOciConfig, "{}");
  Add("manifest", no_layers.Serialize());
  ImageConfig bad_date;
  bad_date.os = "linux";
  bad_date.architecture = "amd64";
  bad_date.created = "yesterday";
  Add("config", bad_date.Serialize());
  Add("index", R"({"schemaVersion":2,"manifests":[{"mediaType":"a/b","size":1,)"
               R"("digest":"sha256:aa","platform":{"os":"linux"}}]})");
  ProcessResult r = Validate();
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("manifest-0.json: layers: [] is too short"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("config-1.json: created: 'yesterday' is not a 'date-time'"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("index-2.json: manifests/0/platform: 'architecture' is a required property"),
            std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace ocibuild::oci
