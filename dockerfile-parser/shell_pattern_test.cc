#include "dockerfile-parser/shell_pattern.h"

#include <gtest/gtest.h>

namespace ocibuild::dockerfile {
namespace {

std::string Prefix(std::string_view p, std::string_view v, bool longest) {
  auto r = TrimPatternPrefix(p, v, longest);
  return r.ok() ? *r : "<error: " + r.error().message + ">";
}
std::string Suffix(std::string_view p, std::string_view v, bool longest) {
  auto r = TrimPatternSuffix(p, v, longest);
  return r.ok() ? *r : "<error: " + r.error().message + ">";
}
std::string Replace(std::string_view p, std::string_view v, std::string_view r, bool all) {
  auto x = ReplacePattern(p, v, r, all);
  return x.ok() ? *x : "<error: " + x.error().message + ">";
}

TEST(ShellPattern, ShortestAndLongestPrefix) {
  EXPECT_EQ(Prefix("*.", "a.b.c", false), "b.c");
  EXPECT_EQ(Prefix("*.", "a.b.c", true), "c");
  EXPECT_EQ(Prefix("?", "abc", false), "bc");
  EXPECT_EQ(Prefix("x", "abc", false), "abc");
  EXPECT_EQ(Prefix("", "abc", true), "abc");
  EXPECT_EQ(Prefix("*", "abc", true), "");
}

TEST(ShellPattern, ShortestAndLongestSuffix) {
  EXPECT_EQ(Suffix(".*", "a.b.c", false), "a.b");
  EXPECT_EQ(Suffix(".*", "a.b.c", true), "a");
  EXPECT_EQ(Suffix("\\*", "a**", false), "a*");
  EXPECT_EQ(Suffix("*\\*", "x*y*", false), "x*y");
  EXPECT_EQ(Suffix("a\\*c", "za*c", false), "z");  // escapes survive the mirroring
}

TEST(ShellPattern, EscapesAndDelimiters) {
  EXPECT_EQ(Prefix("\\}", "}x", false), "x");
  EXPECT_EQ(Prefix("\\/", "/x", false), "x");
  EXPECT_EQ(Prefix("\\\\", "\\x", false), "x");
  EXPECT_EQ(Prefix("\\?", "?x", false), "x");
  EXPECT_EQ(Prefix("()[]{^$.|+", "()[]{^$.|+x", false), "x");  // no other specials
  EXPECT_EQ(Prefix("a\\b", "ab", false),
            "<error: invalid escape '\\b' (only \\*, \\?, \\\\, \\} and \\/ can be escaped)>");
  EXPECT_EQ(Prefix("a\\", "a", false),
            "<error: the pattern ends with an unescaped '\\' (write '\\\\' for a backslash)>");
}

TEST(ShellPattern, Replace) {
  EXPECT_EQ(Replace("o", "foo boo", "0", false), "f0o boo");
  EXPECT_EQ(Replace("o", "foo boo", "0", true), "f00 b00");
  EXPECT_EQ(Replace("o*", "foo boo", "X", false), "fX");  // greedy
  EXPECT_EQ(Replace("b?", "abcbd", "_", true), "a__");
  EXPECT_EQ(Replace("", "ab", "-", true), "-a-b-");
  EXPECT_EQ(Replace("*", "ab", "-", true), "-");  // no second empty match right after
  EXPECT_EQ(Replace("x", "", "-", true), "");
  EXPECT_EQ(Replace("b", "abc", "[$0|${0}|$$|$1|$x|$]", true), "a[b|b|$|||$]c");
}

}  // namespace
}  // namespace ocibuild::dockerfile
