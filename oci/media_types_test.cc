#include "oci/media_types.h"

#include <gtest/gtest.h>

namespace ocibuild::oci {
namespace {

namespace mt = media_type;

TEST(MediaTypes, ConvertsBetweenFamilies) {
  struct Case {
    std::string_view in;
    MediaFormat to;
    std::string_view want;
  };
  const Case cases[] = {
      {mt::kDockerManifest, MediaFormat::kOci, mt::kOciManifest},
      {mt::kOciManifest, MediaFormat::kDocker, mt::kDockerManifest},
      {mt::kDockerManifestList, MediaFormat::kOci, mt::kOciIndex},
      {mt::kOciIndex, MediaFormat::kDocker, mt::kDockerManifestList},
      {mt::kOciConfig, MediaFormat::kDocker, mt::kDockerConfig},
      {mt::kDockerConfig, MediaFormat::kOci, mt::kOciConfig},
      {mt::kDockerLayerGzip, MediaFormat::kOci, mt::kOciLayerGzip},
      {mt::kOciLayerGzip, MediaFormat::kDocker, mt::kDockerLayerGzip},
      {mt::kOciLayer, MediaFormat::kDocker, mt::kDockerLayer},
      {mt::kDockerForeignLayerGzip, MediaFormat::kOci, mt::kOciLayerNondistributableGzip},
      {mt::kOciLayerNondistributableGzip, MediaFormat::kDocker, mt::kDockerForeignLayerGzip},
      // No Docker counterparts: unchanged.
      {mt::kOciLayerZstd, MediaFormat::kDocker, mt::kOciLayerZstd},
      {mt::kOciLayerNondistributable, MediaFormat::kDocker, mt::kOciLayerNondistributable},
      {"application/vnd.example.sbom+json", MediaFormat::kDocker,
       "application/vnd.example.sbom+json"},
      {mt::kOciManifest, MediaFormat::kOci, mt::kOciManifest},
  };
  for (const Case& c : cases) EXPECT_EQ(ConvertMediaType(c.in, c.to), c.want) << c.in;
}

TEST(MediaTypes, Classifies) {
  EXPECT_TRUE(IsManifestType(mt::kDockerManifest));
  EXPECT_FALSE(IsManifestType(mt::kDockerManifestList));
  EXPECT_FALSE(IsManifestType(mt::kDockerManifestSchema1));
  EXPECT_TRUE(IsIndexType(mt::kOciIndex));
  EXPECT_TRUE(IsConfigType(mt::kDockerConfig));
  EXPECT_FALSE(IsLayerType(mt::kOciConfig));
  EXPECT_EQ(LayerCompression(mt::kOciLayerZstd), Compression::kZstd);
  EXPECT_EQ(LayerCompression(mt::kDockerLayerGzip), Compression::kGzip);
  EXPECT_EQ(LayerCompression(mt::kOciLayer), Compression::kNone);
  EXPECT_EQ(LayerCompression(mt::kOciManifest), Compression::kUnknown);
  EXPECT_EQ(LayerMediaType(MediaFormat::kDocker, Compression::kZstd), mt::kOciLayerZstd);
  EXPECT_EQ(LayerMediaType(MediaFormat::kDocker, Compression::kGzip), mt::kDockerLayerGzip);
  EXPECT_EQ(LayerMediaType(MediaFormat::kOci, Compression::kNone), mt::kOciLayer);
}

}  // namespace
}  // namespace ocibuild::oci
