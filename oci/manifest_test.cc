#include "oci/manifest.h"

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

std::string D(char c) {
  return "sha256:" + std::string(64, c);
}

TEST(Manifest, ReadsDockerSchema2) {
  std::string bytes = Fixture("docker-schema2-manifest.json");
  auto m = Manifest::Parse(bytes);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->format(), MediaFormat::kDocker);
  EXPECT_EQ(m->config.media_type, media_type::kDockerConfig);
  EXPECT_EQ(m->config.size, 7023);
  ASSERT_EQ(m->layers.size(), 3u);
  EXPECT_EQ(m->layers[0].size, 29124848);
  EXPECT_EQ(m->layers[2].media_type, media_type::kDockerForeignLayerGzip);
  ASSERT_EQ(m->layers[2].urls.size(), 1u);
  EXPECT_EQ(SniffMediaType(bytes).value(), media_type::kDockerManifest);

  // Same document, re-serialised canonically: equal as JSON, not as bytes (the fixture is
  // indented the way the registry served it).
  EXPECT_EQ(Json::parse(m->Serialize()), Json::parse(bytes));
  EXPECT_NE(m->Serialize(), bytes);

  auto oci = m->Convert(MediaFormat::kOci);
  ASSERT_TRUE(oci.ok());
  EXPECT_EQ(oci->media_type, media_type::kOciManifest);
  EXPECT_EQ(oci->config.media_type, media_type::kOciConfig);
  EXPECT_EQ(oci->layers[0].media_type, media_type::kOciLayerGzip);
  EXPECT_EQ(oci->layers[2].media_type, media_type::kOciLayerNondistributableGzip);
  auto again = oci->Convert(MediaFormat::kDocker);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *m);
}

TEST(Manifest, WritesExactBytes) {
  Manifest m;
  m.config.media_type = media_type::kOciConfig;
  m.config.digest = Digest::Parse(D('c')).value();
  m.config.size = 100;
  Descriptor layer;
  layer.media_type = media_type::kOciLayerGzip;
  layer.digest = Digest::Parse(D('1')).value();
  layer.size = 12345;
  m.layers.push_back(layer);
  m.annotations["org.opencontainers.image.created"] = "2024-01-02T03:04:05Z";
  const std::string want =
      R"({"annotations":{"org.opencontainers.image.created":"2024-01-02T03:04:05Z"},)"
      R"("config":{"digest":")" +
      D('c') +
      R"(","mediaType":"application/vnd.oci.image.config.v1+json","size":100},)"
      R"("layers":[{"digest":")" +
      D('1') +
      R"(","mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","size":12345}],)"
      R"("mediaType":"application/vnd.oci.image.manifest.v1+json","schemaVersion":2})";
  EXPECT_EQ(m.Serialize(), want);
  auto back = Manifest::Parse(want);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, m);
  EXPECT_EQ(back->Serialize(), want);

  auto docker = m.Convert(MediaFormat::kDocker);
  ASSERT_TRUE(docker.ok());
  EXPECT_EQ(docker->Serialize(),
            R"({"annotations":{"org.opencontainers.image.created":"2024-01-02T03:04:05Z"},)"
            R"("config":{"digest":")" +
                D('c') +
                R"(","mediaType":"application/vnd.docker.container.image.v1+json","size":100},)"
                R"("layers":[{"digest":")" +
                D('1') +
                R"(","mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip",)"
                R"("size":12345}],)"
                R"("mediaType":"application/vnd.docker.distribution.manifest.v2+json",)"
                R"("schemaVersion":2})");
}

TEST(Manifest, KeepsUnknownFieldsAndOmittedMediaType) {
  const std::string in =
      R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
      D('c') + R"(","size":2},"layers":[],"io.example.x":true})";
  auto m = Manifest::Parse(in);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->media_type, "");
  EXPECT_EQ(m->format(), MediaFormat::kOci);
  EXPECT_EQ(m->extra, Json::parse(R"({"io.example.x":true})"));
  EXPECT_EQ(Json::parse(m->Serialize()), Json::parse(in));
  EXPECT_EQ(SniffMediaType(in).value(), media_type::kOciManifest);
}

TEST(Manifest, RejectsWhatItCannotRead) {
  auto err = [](const std::string& text) {
    auto m = Manifest::Parse(text);
    return m.ok() ? std::string("ok") : m.error().message;
  };
  EXPECT_EQ(err(R"({"schemaVersion":1,"name":"x","fsLayers":[]})"),
            "image manifest: Docker schema 1 manifests are not supported");
  EXPECT_EQ(SniffMediaType(R"({"schemaVersion":1,"signatures":[]})").value(),
            media_type::kDockerManifestSchema1Signed);
  EXPECT_EQ(
      err(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})"),
      "image manifest: got an index (mediaType \"application/vnd.oci.image.index.v1+json\")");
  EXPECT_EQ(err(R"({"schemaVersion":2,"manifests":[]})"),
            "image manifest: got an index (it has \"manifests\")");
  EXPECT_EQ(err(R"({"schemaVersion":2,"mediaType":"text/plain"})"),
            "image manifest: unsupported mediaType \"text/plain\"");
  EXPECT_EQ(err(R"({"schemaVersion":3,"layers":[]})"),
            "image manifest: schemaVersion must be 2, got 3");
  EXPECT_EQ(err(R"({"schemaVersion":2,"layers":[]})"), "image manifest: missing \"config\"");
  EXPECT_EQ(err(R"({"schemaVersion":2,"config":{"mediaType":"a/b","size":1,"digest":")" + D('a') +
                R"("}})"),
            "image manifest: \"layers\" must be an array");
  EXPECT_EQ(err(R"({"schemaVersion":2,"config":{"mediaType":"a/b","size":1,"digest":")" + D('a') +
                R"("},"layers":[{"mediaType":"a/b","size":1,"digest":"md5:x"}]})"),
            "image manifest: layer 0: invalid digest \"md5:x\": unsupported algorithm \"md5\"");
  EXPECT_EQ(err("[1]"), "parsing image manifest: not a JSON object");
  EXPECT_EQ(err("{"),
            "parsing image manifest: [json.exception.parse_error.101] parse error at "
            "line 1, column 2: syntax error while parsing object key - unexpected "
            "end of input; expected string literal");
}

TEST(Manifest, DockerCannotExpressEverything) {
  Manifest m;
  m.config = DescribeBytes(media_type::kOciConfig, "{}");
  m.layers.push_back(DescribeBytes(media_type::kOciLayerZstd, "x"));
  EXPECT_EQ(m.Convert(MediaFormat::kDocker).error().message,
            "image manifest: layer " + m.layers[0].digest.str() +
                " is zstd-compressed, which needs OCI media types");
  m.layers.clear();
  m.subject = m.config;
  EXPECT_EQ(m.Convert(MediaFormat::kDocker).error().message,
            "image manifest: Docker manifests cannot have a subject");
  m.subject.reset();
  m.config.media_type = "application/vnd.example.config+json";
  EXPECT_EQ(m.Convert(MediaFormat::kDocker).error().message,
            "image manifest: config type \"application/vnd.example.config+json\" has no Docker "
            "equivalent");
}

}  // namespace
}  // namespace ocibuild::oci
