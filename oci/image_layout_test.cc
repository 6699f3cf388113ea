#include "oci/image_layout.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <thread>

#include "oci/blob_tar.h"
#include "oci/image_testing.h"
#include "util/fs.h"

namespace ocibuild::oci {
namespace {

class ImageLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto t = TempDir::Create("ocimodel-layout-");
    ASSERT_TRUE(t.ok()) << t.error().message;
    tmp_.emplace(std::move(*t));
    dir_ = tmp_->path() + "/layout";
  }
  std::optional<TempDir> tmp_;
  std::string dir_;
};

TEST_F(ImageLayoutTest, CreateWritesMarkerAndEmptyIndex) {
  auto layout = ImageLayout::Create(dir_);
  ASSERT_TRUE(layout.ok()) << layout.error().message;
  EXPECT_EQ(ReadFile(dir_ + "/oci-layout").value(), R"({"imageLayoutVersion":"1.0.0"})");
  EXPECT_EQ(ReadFile(dir_ + "/index.json").value(),
            R"({"manifests":[],"mediaType":"application/vnd.oci.image.index.v1+json",)"
            R"("schemaVersion":2})");
  EXPECT_TRUE(PathExists(dir_ + "/blobs/sha256"));
  // Creating again keeps what is there.
  ASSERT_TRUE(PutBlob(layout->blobs(), "text/plain", "x").ok());
  ASSERT_TRUE(ImageLayout::Create(dir_).ok());
  EXPECT_TRUE(layout->blobs().Has(Digest::OfBytes("x")).value());
}

TEST_F(ImageLayoutTest, OpenRejectsNonLayouts) {
  ASSERT_TRUE(MakeDirs(dir_).ok());
  auto r = ImageLayout::Open(dir_);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, dir_ + " is not an OCI image layout: no oci-layout file");
  ASSERT_TRUE(WriteFile(dir_ + "/oci-layout", R"({"imageLayoutVersion":"2.0.0"})").ok());
  EXPECT_EQ(ImageLayout::Open(dir_).error().message,
            dir_ + "/oci-layout: unsupported imageLayoutVersion \"2.0.0\" (want \"1.0.0\")");
}

TEST_F(ImageLayoutTest, TagResolveLoadUntag) {
  auto layout = ImageLayout::Create(dir_);
  ASSERT_TRUE(layout.ok());
  testing::TestImageSpec spec;
  spec.layers = {{{"hello.txt", "hello\n"}}};
  spec.config.cmd = std::vector<std::string>{"/hello"};
  ImageConfig config;
  auto desc = testing::WriteTestImage(layout->blobs(), spec, &config);
  ASSERT_TRUE(desc.ok()) << desc.error().message;
  ASSERT_TRUE(layout->Tag("v1", *desc).ok());
  ASSERT_TRUE(layout->Tag("latest", *desc).ok());

  auto resolved = layout->Resolve("v1");
  ASSERT_TRUE(resolved.ok()) << resolved.error().message;
  EXPECT_EQ(resolved->digest, desc->digest);
  EXPECT_EQ(resolved->annotations.at(std::string(kAnnotationRefName)), "v1");
  EXPECT_EQ(layout->Resolve("v2").error().message, "no image named v2 in " + dir_);
  EXPECT_EQ(layout->Resolve("").error().message, dir_ + " holds 2 images; name one");

  auto img = layout->LoadImage("latest", Platform::Host());
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->config, config);
  EXPECT_EQ(img->manifest.layers.size(), 1u);
  EXPECT_EQ(img->descriptor.digest, desc->digest);

  // Retagging replaces in place; the other tag stays.
  auto other = PutBlob(layout->blobs(), media_type::kOciManifest,
                       img->manifest.Serialize() + " ");  // a distinct, still valid manifest
  ASSERT_TRUE(other.ok());
  ASSERT_TRUE(layout->Tag("v1", *other).ok());
  auto index = layout->ReadIndex();
  ASSERT_TRUE(index.ok());
  ASSERT_EQ(index->manifests.size(), 2u);
  EXPECT_EQ(index->manifests[0].digest, other->digest);
  EXPECT_EQ(index->manifests[1].digest, desc->digest);

  ASSERT_TRUE(layout->Untag("v1").ok());
  EXPECT_EQ(layout->Untag("v1").error().message, "no image named v1 in " + dir_);
  EXPECT_EQ(layout->Resolve("")->digest, desc->digest);

  Descriptor missing = DescribeBytes(media_type::kOciManifest, "nope");
  EXPECT_EQ(
      layout->Tag("x", missing).error().message,
      "tagging x in " + dir_ + ": manifest " + missing.digest.str() + " is not in the layout");
}

TEST_F(ImageLayoutTest, LoadFollowsIndexToPlatform) {
  auto layout = ImageLayout::Create(dir_);
  ASSERT_TRUE(layout.ok());
  testing::TestImageSpec spec;
  spec.layers = {{{"a", "a"}}};
  auto desc = testing::WriteTestImage(layout->blobs(), spec);
  ASSERT_TRUE(desc.ok()) << desc.error().message;
  Index multi;
  Descriptor other = *desc;
  other.platform = Platform::Parse("linux/s390x").value();
  Descriptor host = *desc;
  multi.manifests = {other, host};
  auto index_desc = PutBlob(layout->blobs(), media_type::kOciIndex, multi.Serialize());
  ASSERT_TRUE(index_desc.ok());
  ASSERT_TRUE(layout->Tag("multi", *index_desc).ok());
  auto img = layout->LoadImage("multi", Platform::Host());
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_EQ(img->descriptor.digest, desc->digest);
  auto none = layout->LoadImage("multi", Platform::Parse("linux/riscv64").value());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().message, index_desc->digest.str() +
                                      ": no manifest for platform linux/riscv64 (index has: "
                                      "linux/s390x, " +
                                      Platform::Host().str() + ")");
}

TEST_F(ImageLayoutTest, ConcurrentTagsAreNotLost) {
  auto layout = ImageLayout::Create(dir_);
  ASSERT_TRUE(layout.ok());
  auto m = PutBlob(layout->blobs(), media_type::kOciManifest, "{}");
  ASSERT_TRUE(m.ok());
  auto tagger = [&](int base) {
    auto l = ImageLayout::Open(dir_);
    for (int i = 0; i < 15; i++) EXPECT_TRUE(l->Tag("t" + std::to_string(base + i), *m).ok());
  };
  std::thread a(tagger, 0), b(tagger, 100), c(tagger, 200);
  a.join();
  b.join();
  c.join();
  EXPECT_EQ(layout->ReadIndex()->manifests.size(), 45u);
}

TEST_F(ImageLayoutTest, LayoutTarHoldsOnlyCompleteContent) {
  auto layout = ImageLayout::Create(dir_);
  ASSERT_TRUE(layout.ok());
  auto blob = PutBlob(layout->blobs(), media_type::kOciManifest, "{}");
  ASSERT_TRUE(blob.ok());
  ASSERT_TRUE(layout->Tag("t", *blob).ok());
  auto in_flight = layout->blobs().NewWriter();  // its temp file must not be packed
  ASSERT_TRUE(in_flight.ok());
  ASSERT_TRUE((*in_flight)->Write("partial").ok());
  std::string tar = tmp_->path() + "/layout.tar";
  ASSERT_TRUE(WriteLayoutTar(*layout, tar).ok());
  auto entries = testing::ReadTar(tar);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  std::vector<std::string> names;
  for (const auto& e : *entries) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"oci-layout", "index.json", "blobs/", "blobs/sha256/",
                                             "blobs/sha256/" + blob->digest.hex()}));
  EXPECT_EQ((*entries)[1].content, ReadFile(dir_ + "/index.json").value());
  EXPECT_EQ((*entries)[4].content, "{}");
  // Only the finished tar next to the layout: the temporary file was renamed.
  std::vector<std::string> siblings;
  DIR* d = opendir(tmp_->path().c_str());
  ASSERT_NE(d, nullptr);
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') siblings.push_back(e->d_name);
  }
  closedir(d);
  std::sort(siblings.begin(), siblings.end());
  EXPECT_EQ(siblings, (std::vector<std::string>{"layout", "layout.tar"}));
}

}  // namespace
}  // namespace ocibuild::oci

namespace ocibuild::oci {
namespace {

TEST_F(ImageLayoutTest, ImportsLayoutTarVerifyingBlobs) {
  auto layout = ImageLayout::Create(dir_);
  ASSERT_TRUE(layout.ok());
  testing::TestImageSpec spec;
  spec.layers = {{{"a", "a"}}};
  auto desc = testing::WriteTestImage(layout->blobs(), spec);
  ASSERT_TRUE(desc.ok());
  ASSERT_TRUE(layout->Tag("v1", *desc).ok());
  std::string tar = tmp_->path() + "/layout.tar";
  ASSERT_TRUE(WriteLayoutTar(*layout, tar).ok());

  auto other = DirContentStore::Open(tmp_->path() + "/other");
  ASSERT_TRUE(other.ok());
  auto index = ImportLayoutTar(tar, *other);
  ASSERT_TRUE(index.ok()) << index.error().message;
  EXPECT_EQ(*index, layout->ReadIndex().value());
  auto img = LoadImage(*other, index->WithRefName("v1").at(0), Platform::Host());
  ASSERT_TRUE(img.ok()) << img.error().message;
  EXPECT_TRUE(other->Has(img->manifest.layers[0].digest).value());

  // A blob whose content does not match its name is refused, and nothing of it is kept.
  std::string bad = tmp_->path() + "/bad.tar";
  Digest claimed = Digest::OfBytes("real");
  {
    auto w = TarWriter::Create(bad);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->AddFile("oci-layout", R"({"imageLayoutVersion":"1.0.0"})").ok());
    ASSERT_TRUE(w->AddFile("blobs/sha256/" + claimed.hex(), "fake").ok());
    ASSERT_TRUE(w->AddFile("index.json", R"({"schemaVersion":2,"manifests":[]})").ok());
    ASSERT_TRUE(w->Finish().ok());
  }
  auto third = DirContentStore::Open(tmp_->path() + "/third");
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(ImportLayoutTar(bad, *third).error().message,
            "importing " + bad + ": blob digest mismatch: expected " + claimed.str() + ", got " +
                Digest::OfBytes("fake").str() + " (4 bytes)");
  EXPECT_FALSE(third->Has(claimed).value());

  auto write_tar = [&](const std::string& path, bool marker, const std::string& index) {
    auto w = TarWriter::Create(path);
    ASSERT_TRUE(w.ok());
    if (marker) {
      ASSERT_TRUE(w->AddFile("oci-layout", R"({"imageLayoutVersion":"1.0.0"})").ok());
    }
    ASSERT_TRUE(w->AddFile("../../escape", "harmless").ok());
    ASSERT_TRUE(w->AddFile("index.json", index).ok());
    ASSERT_TRUE(w->Finish().ok());
  };
  Descriptor absent = DescribeBytes(media_type::kOciManifest, "absent");
  std::string dangling = tmp_->path() + "/dangling.tar";
  write_tar(dangling, true,
            R"({"schemaVersion":2,"manifests":[)" + CanonicalJson(absent.ToJson()) + "]}");
  EXPECT_EQ(ImportLayoutTar(dangling, *third).error().message,
            "importing " + dangling + ": index.json names " + absent.digest.str() +
                ", which the archive does not contain");
  std::string unmarked = tmp_->path() + "/unmarked.tar";
  write_tar(unmarked, false, R"({"schemaVersion":2,"manifests":[]})");
  EXPECT_EQ(ImportLayoutTar(unmarked, *third).error().message,
            "importing " + unmarked + ": not an OCI image layout: no oci-layout");
  EXPECT_FALSE(PathExists(tmp_->path() + "/escape"));
}

}  // namespace
}  // namespace ocibuild::oci
