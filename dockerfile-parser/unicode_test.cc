#include "dockerfile-parser/unicode.h"

#include <gtest/gtest.h>

namespace ocibuild::dockerfile {
namespace {

TEST(Unicode, DecodeValidSequences) {
  size_t w;
  EXPECT_EQ(DecodeRune("a", 0, &w), U'a');
  EXPECT_EQ(w, 1u);
  EXPECT_EQ(DecodeRune("é", 0, &w), U'é');
  EXPECT_EQ(w, 2u);
  EXPECT_EQ(DecodeRune("한", 0, &w), U'한');
  EXPECT_EQ(w, 3u);
  EXPECT_EQ(DecodeRune("x🚀", 1, &w), U'🚀');
  EXPECT_EQ(w, 4u);
}

TEST(Unicode, DecodeInvalidSequencesLikeGo) {
  size_t w;
  for (const char* bad : {"\xff", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xe4\xb8", "\x80", "\xc3("}) {
    EXPECT_EQ(DecodeRune(bad, 0, &w), kRuneError) << bad;
    EXPECT_EQ(w, 1u);
  }
}

TEST(Unicode, AppendRoundTrips) {
  std::string s;
  for (char32_t r : {U'a', U'é', U'한', U'🚀'}) AppendRune(&s, r);
  EXPECT_EQ(s, "aé한🚀");
  std::string bad;
  AppendRune(&bad, 0xD800);
  AppendRune(&bad, 0x110000);
  EXPECT_EQ(bad, "\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST(Unicode, Classes) {
  EXPECT_TRUE(IsLetterRune(U'a'));
  EXPECT_TRUE(IsLetterRune(U'Z'));
  EXPECT_TRUE(IsLetterRune(U'한'));
  EXPECT_TRUE(IsLetterRune(U'ζ'));
  EXPECT_FALSE(IsLetterRune(U'_'));
  EXPECT_FALSE(IsLetterRune(U'1'));
  EXPECT_FALSE(IsLetterRune(U'☺'));
  EXPECT_TRUE(IsDigitRune(U'7'));
  EXPECT_TRUE(IsDigitRune(U'٣'));   // ARABIC-INDIC DIGIT THREE
  EXPECT_FALSE(IsDigitRune(U'²'));  // superscript: No, not Nd
  EXPECT_TRUE(IsSpaceRune(U' '));
  EXPECT_TRUE(IsSpaceRune(U'\v'));
  EXPECT_TRUE(IsSpaceRune(0x85));
  EXPECT_TRUE(IsSpaceRune(0x3000));
  EXPECT_FALSE(IsSpaceRune(0x200B));  // zero width space is not White_Space
  EXPECT_FALSE(IsSpaceRune(U'x'));
}

}  // namespace
}  // namespace ocibuild::dockerfile
