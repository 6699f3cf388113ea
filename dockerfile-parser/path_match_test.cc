#include "dockerfile-parser/path_match.h"

#include <gtest/gtest.h>

namespace ocibuild::dockerfile {
namespace {

struct MatchCase {
  const char* pattern;
  const char* name;
  bool match;
  bool bad;  // malformed pattern
};

// Go's own filepath.Match table (path/filepath/match_test.go), Unix flavour.
const MatchCase kGoCases[] = {
    {"abc", "abc", true, false},
    {"*", "abc", true, false},
    {"*c", "abc", true, false},
    {"a*", "a", true, false},
    {"a*", "abc", true, false},
    {"a*", "ab/c", false, false},
    {"a*/b", "abc/b", true, false},
    {"a*/b", "a/c/b", false, false},
    {"a*b*c*d*e*/f", "axbxcxdxe/f", true, false},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/f", true, false},
    {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false, false},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", false, false},
    {"a*b?c*x", "abxbbxdbxebxczzx", true, false},
    {"a*b?c*x", "abxbbxdbxebxczzy", false, false},
    {"ab[c]", "abc", true, false},
    {"ab[b-d]", "abc", true, false},
    {"ab[e-g]", "abc", false, false},
    {"ab[^c]", "abc", false, false},
    {"ab[^b-d]", "abc", false, false},
    {"ab[^e-g]", "abc", true, false},
    {"a\\*b", "a*b", true, false},
    {"a\\*b", "ab", false, false},
    {"a?b", "a☺b", true, false},
    {"a[^a]b", "a☺b", true, false},
    {"a???b", "a☺b", false, false},
    {"a[^a][^a][^a]b", "a☺b", false, false},
    {"[a-ζ]*", "α", true, false},
    {"*[a-ζ]", "A", false, false},
    {"a?b", "a/b", false, false},
    {"a*b", "a/b", false, false},
    {"[\\]a]", "]", true, false},
    {"[\\-]", "-", true, false},
    {"[x\\-]", "x", true, false},
    {"[x\\-]", "-", true, false},
    {"[x\\-]", "z", false, false},
    {"[\\-x]", "x", true, false},
    {"[\\-x]", "-", true, false},
    {"[\\-x]", "a", false, false},
    {"[]a]", "]", false, true},
    {"[-]", "-", false, true},
    {"[x-]", "x", false, true},
    {"[x-]", "-", false, true},
    {"[x-]", "z", false, true},
    {"[-x]", "x", false, true},
    {"[-x]", "-", false, true},
    {"[-x]", "a", false, true},
    {"\\", "a", false, true},
    {"[a-b-c]", "a", false, true},
    {"[", "a", false, true},
    {"[^", "a", false, true},
    {"[^bc", "a", false, true},
    {"a[", "a", false, true},
    {"a[", "ab", false, true},
    {"a[", "x", false, true},
    {"a/b[", "x", false, true},
    {"*x", "xxx", true, false},
    {"a/*/c", "a/b/c", true, false},
    {"a/*", "a/b/c", false, false},
    {"[a/]x", "/x", true, false},  // classes may match '/'
    {"*.txt", ".hidden.txt", true, false},
    {"", "", true, false},
    {"", "a", false, false},
};

TEST(PathMatch, GoFilepathMatchTable) {
  for (const auto& c : kGoCases) {
    auto r = PathMatch(c.pattern, c.name);
    if (c.bad) {
      EXPECT_FALSE(r.ok()) << c.pattern << " vs " << c.name;
    } else {
      ASSERT_TRUE(r.ok()) << c.pattern << ": " << r.error().message;
      EXPECT_EQ(*r, c.match) << c.pattern << " vs " << c.name;
    }
  }
}

TEST(PathMatch, ExactErrorTexts) {
  EXPECT_EQ(PathMatch("a[", "x").error().message,
            "syntax error in pattern \"a[\": unterminated character class");
  EXPECT_EQ(PathMatch("[^bc", "a").error().message,
            "syntax error in pattern \"[^bc\": unterminated character class");
  EXPECT_EQ(PathMatch("[]a]", "]").error().message,
            "syntax error in pattern \"[]a]\": empty character class (write \\] for a literal "
            "']')");
  EXPECT_EQ(PathMatch("[-x]", "x").error().message,
            "syntax error in pattern \"[-x]\": unescaped '-' in character class (write \\- for "
            "a literal '-')");
  EXPECT_EQ(PathMatch("[x-]", "x").error().message,
            "syntax error in pattern \"[x-]\": incomplete range in character class");
  EXPECT_EQ(PathMatch("ab\\", "ab").error().message,
            "syntax error in pattern \"ab\\\": the pattern ends with an unescaped '\\'");
  // The error is found even though "x" fails on the first character.
  EXPECT_EQ(PathMatch("y*[", "x").error().message,
            "syntax error in pattern \"y*[\": unterminated character class");
}

TEST(PathMatch, ValidateGivesTheBareReason) {
  EXPECT_TRUE(ValidatePathPattern("src/**/*.go").ok());
  EXPECT_TRUE(ValidatePathPattern("[a-z]?\\*").ok());
  EXPECT_EQ(ValidatePathPattern("x/[a").error().message, "unterminated character class");
}

TEST(PathMatch, HasMeta) {
  EXPECT_FALSE(HasPathMeta("src/main.go"));
  EXPECT_TRUE(HasPathMeta("*.go"));
  EXPECT_TRUE(HasPathMeta("a?"));
  EXPECT_TRUE(HasPathMeta("[ab]"));
  EXPECT_TRUE(HasPathMeta("a\\b"));
}

TEST(PathMatch, CharClassParsing) {
  size_t pos = 1;
  auto cls = ParseCharClass("x[^a-c\\]]y", &pos);
  ASSERT_TRUE(cls.ok()) << cls.error().message;
  EXPECT_EQ(pos, 9u);
  EXPECT_TRUE(cls->negated);
  EXPECT_FALSE(cls->Matches('b'));
  EXPECT_FALSE(cls->Matches(']'));
  EXPECT_TRUE(cls->Matches('d'));
}

TEST(PathMatch, CopyWildcards) {
  EXPECT_TRUE(ContainsWildcards("*.go"));
  EXPECT_TRUE(ContainsWildcards("a[bc]"));
  EXPECT_FALSE(ContainsWildcards("a\\*b"));  // escaped
  EXPECT_FALSE(ContainsWildcards("a\\b"));
  EXPECT_FALSE(ContainsWildcards("plain.txt"));

  auto s = SplitWildcards("src/*/x.go");
  EXPECT_EQ(s.fixed, "src");
  EXPECT_EQ(s.pattern, "*/x.go");
  s = SplitWildcards("./a/b/../c/file?.txt");
  EXPECT_EQ(s.fixed, "a/c");
  EXPECT_EQ(s.pattern, "file?.txt");
  s = SplitWildcards("/abs/dir/*.conf");
  EXPECT_EQ(s.fixed, "/abs/dir");
  EXPECT_EQ(s.pattern, "*.conf");
  s = SplitWildcards("*");
  EXPECT_EQ(s.fixed, "");
  EXPECT_EQ(s.pattern, "*");
  s = SplitWildcards("no/wild/card/");
  EXPECT_EQ(s.fixed, "no/wild/card");
  EXPECT_EQ(s.pattern, "");
  s = SplitWildcards("a/[b]/c");
  EXPECT_EQ(s.fixed, "a");
  EXPECT_EQ(s.pattern, "[b]/c");
}

TEST(CleanPath, GoCleanTable) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "."},
      {"abc", "abc"},
      {"abc/def", "abc/def"},
      {"a/b/c", "a/b/c"},
      {".", "."},
      {"..", ".."},
      {"../..", "../.."},
      {"../../abc", "../../abc"},
      {"/abc", "/abc"},
      {"/", "/"},
      {"abc/", "abc"},
      {"abc/def/", "abc/def"},
      {"/abc/", "/abc"},
      {"abc//def//ghi", "abc/def/ghi"},
      {"//abc", "/abc"},
      {"///abc", "/abc"},
      {"abc//", "abc"},
      {"abc/./def", "abc/def"},
      {"/./abc/def", "/abc/def"},
      {"abc/.", "abc"},
      {"abc/def/ghi/../jkl", "abc/def/jkl"},
      {"abc/def/../ghi/../jkl", "abc/jkl"},
      {"abc/def/..", "abc"},
      {"abc/def/../..", "."},
      {"/abc/def/../..", "/"},
      {"abc/def/../../..", ".."},
      {"/abc/def/../../..", "/"},
      {"abc/def/../../../ghi/jkl/../../../mno", "../../mno"},
      {"/../abc", "/abc"},
      {"abc/./../def", "def"},
      {"abc//./../def", "def"},
      {"abc/../../././../def", "../../def"},
      {"./foo", "foo"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(CleanPath(in), want) << in;
}

}  // namespace
}  // namespace ocibuild::dockerfile
