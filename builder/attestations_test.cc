#include "builder/attestations.h"

#include <gtest/gtest.h>

#include "oci/content_store.h"
#include "oci/manifest.h"
#include "util/fs.h"

namespace ocibuild::builder {
namespace {

TEST(Attestations, ImagePurlFollowsBuildKitNames) {
  EXPECT_EQ(ImagePurl("debian:12", "linux/amd64"), "pkg:docker/debian@12?platform=linux%2Famd64");
  EXPECT_EQ(ImagePurl("localhost:5000/org/app:1.0", "linux/arm64"),
            "pkg:docker/localhost:5000/org/app@1.0?platform=linux%2Farm64");
  EXPECT_EQ(ImagePurl("ghcr.io/o/a", ""), "pkg:docker/ghcr.io/o/a@latest");
  EXPECT_EQ(ImagePurl("/tmp/layout:v1", "linux/amd64", "oci"),
            "pkg:oci//tmp/layout@v1?platform=linux%2Famd64");
}

TEST(Attestations, ProvenanceModesAndNoSecretValues) {
  ProvenanceInput in;
  in.dockerfile_path = "Dockerfile";
  in.dockerfile_text = "FROM scratch\n";
  in.build_args = {{"VERSION", "1.2"}};
  in.secret_ids = {"token"};
  in.vcs_source = "https://github.com/o/r";
  in.vcs_revision = "0123456789abcdef0123456789abcdef01234567";
  in.builder_id = "https://github.com/o/r/actions/runs/1/attempts/1";
  in.builder_version = "1.0.0";
  in.sources = {{ResolvedSource::Kind::kImage, "debian:12", "linux/amd64",
                 "sha256:" + std::string(64, 'a'), false}};
  in.mode = "min";
  auto min = MakeProvenancePredicate(in);
  const auto& req = min["buildDefinition"]["externalParameters"]["request"];
  EXPECT_FALSE(req["args"].contains("build-arg:VERSION"));
  EXPECT_FALSE(req.contains("secrets"));
  EXPECT_EQ(min["buildDefinition"]["externalParameters"]["configSource"]["digest"]["sha1"],
            in.vcs_revision);
  EXPECT_EQ(min["buildDefinition"]["resolvedDependencies"][0]["uri"],
            "pkg:docker/debian@12?platform=linux%2Famd64");
  EXPECT_EQ(min["runDetails"]["builder"]["version"]["ocibuild"], "1.0.0");
  in.mode = "max";
  auto max = MakeProvenancePredicate(in);
  const auto& mreq = max["buildDefinition"]["externalParameters"]["request"];
  EXPECT_EQ(mreq["args"]["build-arg:VERSION"], "1.2");
  EXPECT_EQ(mreq["secrets"][0]["id"], "token");
  EXPECT_TRUE(max["buildDefinition"]["internalParameters"].contains("buildConfig"));
}

TEST(Attestations, ManifestHasBuildKitShape) {
  auto dir = TempDir::Create("attest-");
  ASSERT_TRUE(dir.ok());
  auto store = oci::DirContentStore::Open(dir->path());
  ASSERT_TRUE(store.ok()) << store.error().message;
  oci::Digest subject = oci::Digest::OfBytes("image");
  auto st = InTotoStatement(kSlsaProvenanceV1, {{"x", 1}}, {"pkg:docker/a@1"}, subject);
  auto d = WriteAttestationManifest(*store, {st}, subject);
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->annotations.at("vnd.docker.reference.type"), "attestation-manifest");
  EXPECT_EQ(d->annotations.at("vnd.docker.reference.digest"), subject.str());
  EXPECT_EQ(d->platform->architecture, "unknown");
  auto m = oci::Manifest::Parse(*oci::ReadBlob(*store, d->digest));
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].media_type, "application/vnd.in-toto+json");
  EXPECT_EQ(m->layers[0].annotations.at("in-toto.io/predicate-type"), kSlsaProvenanceV1);
  auto cfg = nlohmann::json::parse(*oci::ReadBlob(*store, m->config.digest));
  EXPECT_EQ(cfg["os"], "unknown");
  EXPECT_EQ(cfg["rootfs"]["diff_ids"][0], m->layers[0].digest.str());
}

}  // namespace
}  // namespace ocibuild::builder
