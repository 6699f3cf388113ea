#include "registry/resume.h"

#include <gtest/gtest.h>

namespace ocibuild::registry {
namespace {

TEST(ResumeHeaders, ContentRange) {
  auto r = ParseContentRange("bytes 100-199/1000");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 100u);
  EXPECT_EQ(r->last, 199u);
  EXPECT_EQ(r->total, 1000u);
  auto open = ParseContentRange(" bytes 0-9/* ");
  ASSERT_TRUE(open);
  EXPECT_FALSE(open->total);
  for (const char* bad : {"", "bytes 5-4/10", "bytes 0-9/9", "items 0-9/10", "bytes 0-9",
                          "bytes -9/10", "bytes 0-x/10", "bytes */10"})
    EXPECT_FALSE(ParseContentRange(bad)) << bad;
}

TEST(ResumeHeaders, UploadRange) {
  EXPECT_EQ(UploadedBytesFromRange("0-1233"), 1234u);
  EXPECT_EQ(UploadedBytesFromRange("bytes=0-1233"), 1234u);
  EXPECT_EQ(UploadedBytesFromRange("0-0"), 0u);
  EXPECT_EQ(UploadedBytesFromRange(""), std::nullopt);
  EXPECT_EQ(UploadedBytesFromRange("5-10"), std::nullopt);
  EXPECT_EQ(UploadedBytesFromRange("0-"), std::nullopt);
  EXPECT_EQ(UploadedBytesFromRange("junk"), std::nullopt);
}

}  // namespace
}  // namespace ocibuild::registry
