#include "util/strings.h"

#include <gtest/gtest.h>

namespace ocibuild {

TEST(Strings, Split) {
  EXPECT_EQ(Split("a,b,,c", ','), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(Split("", ','), (std::vector<std::string>{""}));
  bool found = false;
  auto [k, v] = SplitOnce("key=va=lue", '=', &found);
  EXPECT_TRUE(found);
  EXPECT_EQ(k, "key");
  EXPECT_EQ(v, "va=lue");
  SplitOnce("novalue", '=', &found);
  EXPECT_FALSE(found);
}

TEST(Strings, SplitCsvAsGoEncodingCsv) {
  using V = std::vector<std::string>;
  EXPECT_EQ(SplitCsv("type=oci,dest=x"), (V{"type=oci", "dest=x"}));
  EXPECT_EQ(SplitCsv("type=oci,\"name=a:1,a:2\""), (V{"type=oci", "name=a:1,a:2"}));
  EXPECT_EQ(SplitCsv("\"say \"\"hi\"\"\",b"), (V{"say \"hi\"", "b"}));
  EXPECT_EQ(SplitCsv("a,,b,"), (V{"a", "", "b", ""}));
  EXPECT_EQ(SplitCsv(""), (V{""}));
  EXPECT_FALSE(SplitCsv("name=\"a,b\"").has_value());  // a quote inside an unquoted field
  EXPECT_FALSE(SplitCsv("\"a,b").has_value());         // never closed
  EXPECT_FALSE(SplitCsv("\"a\"b,c").has_value());      // text after the closing quote
}

TEST(Strings, NearestMatch) {
  std::vector<std::string> flags = {"mount", "network", "security"};
  EXPECT_EQ(NearestMatch("moutn", flags), "mount");
  EXPECT_EQ(NearestMatch("NETWORK", flags), "network");
  EXPECT_EQ(NearestMatch("zzzzzz", flags), "");
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
}

TEST(Strings, HumanBytes) {
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1500000), "1.5 MB");
}

TEST(Strings, HexEncode) {
  EXPECT_EQ(HexEncode(std::string("\x00\x0f\xa5\xff", 4)), "000fa5ff");
  EXPECT_EQ(HexEncode(""), "");
}

TEST(Strings, RandomHexIsHexAndNeverTheSame) {
  std::string a = RandomHex(16), b = RandomHex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
  EXPECT_EQ(RandomHex(0), "");
}

}  // namespace ocibuild
