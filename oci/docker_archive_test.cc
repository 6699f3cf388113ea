#include "oci/docker_archive.h"

#include <gtest/gtest.h>

#include "oci/image.h"
#include "oci/image_testing.h"
#include "oci/index.h"
#include "util/fs.h"

namespace ocibuild::oci {
namespace {

TEST(DockerArchive, FullyQualifiedTag) {
  EXPECT_EQ(FullyQualifiedTag("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(FullyQualifiedTag("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(FullyQualifiedTag("me/app:v2"), "docker.io/me/app:v2");
  EXPECT_EQ(FullyQualifiedTag("ghcr.io/me/app:v2"), "ghcr.io/me/app:v2");
  EXPECT_EQ(FullyQualifiedTag("localhost:5000/app"), "localhost:5000/app:latest");
  EXPECT_EQ(FullyQualifiedTag("localhost/app:1"), "localhost/app:1");
}

class DockerArchiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("ocimodel-docker-");
    ASSERT_TRUE(t.ok());
    tmp_.emplace(std::move(*t));
    auto s = DirContentStore::Open(tmp_->path() + "/store");
    ASSERT_TRUE(s.ok());
    store_.emplace(std::move(*s));
  }
  std::optional<TempDir> tmp_;
  std::optional<DirContentStore> store_;
};

TEST_F(DockerArchiveTest, WritesManifestJsonAndLayout) {
  testing::TestImageSpec spec;
  spec.layers = {{{"etc/", ""}, {"etc/motd", "hi\n"}}, {{"bin/", ""}, {"bin/tool", "#!", 0755}}};
  spec.format = MediaFormat::kDocker;
  auto desc = testing::WriteTestImage(*store_, spec);
  ASSERT_TRUE(desc.ok()) << desc.error().message;
  auto img = LoadImage(*store_, *desc, Platform::Host());
  ASSERT_TRUE(img.ok());
  std::string tar = tmp_->path() + "/image.tar";
  ASSERT_TRUE(WriteDockerArchive(*store_, {{*desc, {"example.com/app:1.0", "app"}}}, tar).ok());

  auto entries = testing::ReadTar(tar);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  std::map<std::string, std::string> files;
  std::vector<std::string> names;
  for (const auto& e : *entries) {
    names.push_back(e.name);
    files[e.name] = e.content;
  }
  auto blob = [](const Digest& d) { return "blobs/sha256/" + d.hex(); };
  const Manifest& m = img->manifest;
  EXPECT_EQ(names, (std::vector<std::string>{"blobs/", "blobs/sha256/", blob(m.config.digest),
                                             blob(m.layers[0].digest), blob(m.layers[1].digest),
                                             blob(desc->digest), "oci-layout", "index.json",
                                             "manifest.json"}));
  EXPECT_EQ(files["manifest.json"], R"([{"Config":")" + blob(m.config.digest) + R"(","Layers":[")" +
                                        blob(m.layers[0].digest) + R"(",")" +
                                        blob(m.layers[1].digest) +
                                        R"("],"RepoTags":["example.com/app:1.0","app"]}])");
  EXPECT_EQ(Digest::OfBytes(files[blob(m.config.digest)]), m.config.digest);
  EXPECT_EQ(Digest::OfBytes(files[blob(desc->digest)]), desc->digest);
  auto index = Index::Parse(files["index.json"]);
  ASSERT_TRUE(index.ok()) << index.error().message;
  ASSERT_EQ(index->manifests.size(), 2u);
  EXPECT_EQ(index->manifests[0].media_type, media_type::kDockerManifest);
  EXPECT_EQ(index->manifests[0].annotations,
            (Annotations{{"io.containerd.image.name", "example.com/app:1.0"},
                         {"org.opencontainers.image.ref.name", "1.0"}}));
  EXPECT_EQ(index->manifests[1].annotations,
            (Annotations{{"io.containerd.image.name", "docker.io/library/app:latest"},
                         {"org.opencontainers.image.ref.name", "latest"}}));
  EXPECT_EQ(files["oci-layout"], R"({"imageLayoutVersion":"1.0.0"})");
}

TEST_F(DockerArchiveTest, RefusesInconsistentImages) {
  testing::TestImageSpec spec;
  spec.layers = {{{"a", "a"}}};
  ImageConfig config;
  auto desc = testing::WriteTestImage(*store_, spec, &config);
  ASSERT_TRUE(desc.ok());
  auto img = LoadImage(*store_, *desc, Platform::Host());
  ASSERT_TRUE(img.ok());
  // A manifest whose layer count disagrees with the config's diff_ids.
  Manifest bad = img->manifest;
  bad.layers.push_back(bad.layers[0]);
  auto bad_desc = PutBlob(*store_, media_type::kOciManifest, bad.Serialize());
  ASSERT_TRUE(bad_desc.ok());
  std::string tar = tmp_->path() + "/bad.tar";
  EXPECT_EQ(WriteDockerArchive(*store_, {{*bad_desc, {"x:1"}}}, tar).error().message,
            "writing " + tar + ": image " + bad_desc->digest.str() +
                ": manifest has 2 layers but config has 1 diff_ids");
  EXPECT_FALSE(PathExists(tar));
  EXPECT_EQ(WriteDockerArchive(*store_, {}, tar).error().message, "writing " + tar + ": no images");
  // WriteImage refuses the mismatch up front.
  EXPECT_EQ(WriteImage(*store_, config, {}).error().message,
            "writing image: 0 layers but 1 diff_ids in the config");
}

}  // namespace
}  // namespace ocibuild::oci
