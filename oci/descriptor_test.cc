#include "oci/descriptor.h"

#include <gtest/gtest.h>

namespace ocibuild::oci {
namespace {

constexpr char kEmptyDigest[] =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(Descriptor, WritesCanonicalBytes) {
  Descriptor d = DescribeBytes("application/vnd.oci.image.layer.v1.tar", "");
  EXPECT_EQ(CanonicalJson(d.ToJson()),
            std::string(R"({"digest":")") + kEmptyDigest +
                R"(","mediaType":"application/vnd.oci.image.layer.v1.tar","size":0})");
  d.annotations["org.opencontainers.image.title"] = "über.txt";
  d.urls = {"https://example.com/blob"};
  d.artifact_type = "application/vnd.example+type";
  Platform p;
  p.os = "linux";
  p.architecture = "arm64";
  p.variant = "v8";
  d.platform = p;
  EXPECT_EQ(CanonicalJson(d.ToJson()),
            std::string(R"({"annotations":{"org.opencontainers.image.title":"über.txt"},)") +
                R"("artifactType":"application/vnd.example+type","digest":")" + kEmptyDigest +
                R"(","mediaType":"application/vnd.oci.image.layer.v1.tar",)" +
                R"("platform":{"architecture":"arm64","os":"linux","variant":"v8"},"size":0,)" +
                R"("urls":["https://example.com/blob"]})");
  auto back = Descriptor::FromJson(d.ToJson(), "d");
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, d);
}

TEST(Descriptor, KeepsUnknownFields) {
  Json j = Json::parse(std::string(R"({"mediaType":"a/b","size":3,"digest":")") + kEmptyDigest +
                       R"(","io.example/extra":{"x":[1,2]}})");
  auto d = Descriptor::FromJson(j, "d");
  ASSERT_TRUE(d.ok()) << d.error().message;
  EXPECT_EQ(d->extra, Json::parse(R"({"io.example/extra":{"x":[1,2]}})"));
  EXPECT_EQ(d->ToJson(), j);
}

TEST(Descriptor, RejectsInvalid) {
  auto err = [](const std::string& text) {
    auto d = Descriptor::FromJson(Json::parse(text), "image manifest: layer 0");
    return d.ok() ? std::string("ok") : d.error().message;
  };
  EXPECT_EQ(err(R"({"mediaType":"a/b","digest":"sha256:00"})"),
            "image manifest: layer 0: missing \"size\"");
  EXPECT_EQ(err(R"({"mediaType":"a/b","size":1})"), "image manifest: layer 0: missing \"digest\"");
  EXPECT_EQ(err(std::string(R"({"size":1,"digest":")") + kEmptyDigest + "\"}"),
            "image manifest: layer 0: missing \"mediaType\"");
  EXPECT_EQ(err(R"({"mediaType":"a/b","size":1,"digest":"sha256:00"})"),
            "image manifest: layer 0: invalid digest \"sha256:00\": want 64 hex characters, got 2");
  EXPECT_EQ(err(std::string(R"({"mediaType":"a/b","size":-1,"digest":")") + kEmptyDigest + "\"}"),
            "image manifest: layer 0: negative size -1");
  EXPECT_EQ(err(std::string(R"({"mediaType":"a/b","size":"1","digest":")") + kEmptyDigest + "\"}"),
            "image manifest: layer 0: field \"size\" must be an integer");
  EXPECT_EQ(err(R"([])"), "image manifest: layer 0: descriptor must be an object");
  EXPECT_EQ(err(std::string(R"({"mediaType":"a/b","size":1,"digest":")") + kEmptyDigest +
                R"(","annotations":{"k":1}})"),
            "image manifest: layer 0: field \"annotations\" must be an object of strings");
}

}  // namespace
}  // namespace ocibuild::oci
