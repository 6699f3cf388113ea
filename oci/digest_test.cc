#include "oci/digest.h"

#include <gtest/gtest.h>

namespace ocibuild::oci {

TEST(Digest, ParsesAndRejects) {
  auto d = Digest::Parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->algorithm(), "sha256");
  EXPECT_EQ(*d, Digest::OfBytes(""));
  EXPECT_EQ(Digest::Parse("sha256:abc").error().message,
            "invalid digest \"sha256:abc\": want 64 hex characters, got 3");
  EXPECT_FALSE(Digest::Parse("md5:00").ok());
  EXPECT_FALSE(Digest::Parse("nocolon").ok());
  EXPECT_FALSE(
      Digest::Parse("sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855").ok());
}

}  // namespace ocibuild::oci
