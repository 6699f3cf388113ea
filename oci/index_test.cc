#include "oci/index.h"

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

Platform Want(const std::string& s) {
  return Platform::Parse(s).value();
}

TEST(Index, ReadsDockerHubManifestList) {
  std::string bytes = Fixture("dockerhub-manifest-list.json");
  auto x = Index::Parse(bytes);
  ASSERT_TRUE(x.ok()) << x.error().message;
  EXPECT_EQ(x->format(), MediaFormat::kDocker);
  ASSERT_EQ(x->manifests.size(), 7u);
  EXPECT_EQ(Json::parse(x->Serialize()), Json::parse(bytes));

  struct Case {
    std::string want;
    size_t entry;
  };
  const Case cases[] = {{"linux/amd64", 0},    {"linux/arm/v6", 1},   {"linux/arm/v7", 2},
                        {"linux/arm", 2},      {"linux/arm64", 3},    {"linux/aarch64", 3},
                        {"linux/arm64/v8", 3}, {"linux/386", 4},      {"linux/ppc64le", 5},
                        {"linux/s390x", 6},    {"linux/amd64/v3", 0}, {"linux/arm/v8", 2}};
  for (const Case& c : cases) {
    auto d = x->ForPlatform(Want(c.want));
    ASSERT_TRUE(d.ok()) << c.want << ": " << d.error().message;
    EXPECT_EQ(d->digest, x->manifests[c.entry].digest) << c.want;
  }
  EXPECT_EQ(x->ForPlatform(Want("linux/riscv64")).error().message,
            "no manifest for platform linux/riscv64 (index has: linux/amd64, linux/arm/v6, "
            "linux/arm/v7, linux/arm64/v8, linux/386, linux/ppc64le, linux/s390x)");
  EXPECT_TRUE(x->ForPlatform(Want("windows/amd64"))
                  .error()
                  .message.starts_with("no manifest for platform windows/amd64 (index has: "));

  auto oci = x->Convert(MediaFormat::kOci);
  ASSERT_TRUE(oci.ok());
  EXPECT_EQ(oci->media_type, media_type::kOciIndex);
  EXPECT_EQ(oci->manifests[0].media_type, media_type::kOciManifest);
}

TEST(Index, ReadsGhcrOciIndexSkippingAttestations) {
  std::string bytes = Fixture("ghcr-oci-index.json");
  auto x = Index::Parse(bytes);
  ASSERT_TRUE(x.ok()) << x.error().message;
  EXPECT_EQ(x->format(), MediaFormat::kOci);
  ASSERT_EQ(x->manifests.size(), 4u);
  EXPECT_EQ(x->annotations.at("org.opencontainers.image.source"), "https://github.com/example/app");
  EXPECT_EQ(x->ForPlatform(Want("linux/arm64"))->digest, x->manifests[1].digest);
  EXPECT_EQ(x->ForPlatform(Want("linux/amd64"))->digest, x->manifests[0].digest);
  EXPECT_EQ(x->ForPlatform(Want("linux/arm/v7")).error().message,
            "no manifest for platform linux/arm/v7 (index has: linux/amd64, linux/arm64/v8)");
  EXPECT_EQ(Json::parse(x->Serialize()), Json::parse(bytes));
  EXPECT_EQ(SniffMediaType(bytes).value(), media_type::kOciIndex);
  // Attestation manifests cannot go into a Docker list only if their type has no counterpart;
  // these are image manifests, so conversion succeeds.
  EXPECT_TRUE(x->Convert(MediaFormat::kDocker).ok());
}

TEST(Index, WritesExactBytesAndFindsRefs) {
  Index x;
  Descriptor d = DescribeBytes(media_type::kOciManifest, "{}");
  d.annotations[std::string(kAnnotationRefName)] = "v1";
  x.manifests.push_back(d);
  const std::string want =
      R"({"manifests":[{"annotations":{"org.opencontainers.image.ref.name":"v1"},"digest":")" +
      d.digest.str() +
      R"(","mediaType":"application/vnd.oci.image.manifest.v1+json","size":2}],)"
      R"("mediaType":"application/vnd.oci.image.index.v1+json","schemaVersion":2})";
  EXPECT_EQ(x.Serialize(), want);
  auto back = Index::Parse(want);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, x);
  EXPECT_EQ(back->WithRefName("v1").size(), 1u);
  EXPECT_EQ(back->WithRefName("v2").size(), 0u);
}

TEST(Index, RejectsWhatItCannotRead) {
  auto err = [](const std::string& text) {
    auto x = Index::Parse(text);
    return x.ok() ? std::string("ok") : x.error().message;
  };
  EXPECT_EQ(
      err(R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json"})"),
      "image index: got an image manifest (mediaType "
      "\"application/vnd.docker.distribution.manifest.v2+json\")");
  EXPECT_EQ(err(R"({"schemaVersion":2,"config":{}})"),
            "image index: got an image manifest (it has \"config\")");
  EXPECT_EQ(err(R"({"schemaVersion":2})"), "image index: \"manifests\" must be an array");
  EXPECT_EQ(err(R"({"manifests":[]})"), "image index: schemaVersion must be 2, got 0");
  EXPECT_EQ(err(R"({"schemaVersion":2,"manifests":[{"mediaType":"a/b","size":1}]})"),
            "image index: manifest 0: missing \"digest\"");
  EXPECT_EQ(err(R"({"schemaVersion":2,"manifests":[{"mediaType":"a/b","size":1,"digest":"sha256:)" +
                std::string(64, 'a') + R"(","platform":{"os":"linux"}}]})"),
            "image index: manifest 0: platform: \"os\" and \"architecture\" are required");
}

TEST(Index, DockerListsCannotNest) {
  Index x;
  x.manifests.push_back(DescribeBytes(media_type::kOciIndex, "{}"));
  EXPECT_EQ(x.Convert(MediaFormat::kDocker).error().message,
            "image index: entry " + x.manifests[0].digest.str() +
                " of type \"application/vnd.docker.distribution.manifest.list.v2+json\" cannot "
                "be listed in a Docker manifest list");
}

}  // namespace
}  // namespace ocibuild::oci
