#include "dockerfile-parser/shell_lex.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ocibuild::dockerfile {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const Env& TestEnv() {
  static const Env env{{"PWD", "/home"}, {"EMPTY", ""},
                       {"A", "x"},       {"SPACED", " a  b "},
                       {"FOO", "xxyy"},  {"PATHV", "/usr/local/bin/tool.tar.gz"}};
  return env;
}

std::string Expand(std::string_view word, char escape = '\\') {
  auto r = ShellLex(escape).ProcessWord(word, TestEnv());
  EXPECT_TRUE(r.ok()) << word << ": " << r.error().message;
  return r.ok() ? *r : "<error>";
}

std::string ErrorOf(std::string_view word, const Env& env = TestEnv()) {
  auto r = ShellLex('\\').ProcessWord(word, env);
  EXPECT_FALSE(r.ok()) << word << " unexpectedly gave " << *r;
  return r.ok() ? "" : r.error().message;
}

std::vector<std::string> Words(std::string_view word, const Env& env = TestEnv()) {
  auto r = ShellLex('\\').ProcessWords(word, env);
  EXPECT_TRUE(r.ok()) << word << ": " << r.error().message;
  return r.ok() ? *r : std::vector<std::string>{"<error>"};
}

TEST(Env, LaterSetReplacesAndUnsetRemoves) {
  Env env{{"A", "1"}, {"B", "2"}};
  env.Set("A", "3");
  EXPECT_EQ(env.Get("A"), "3");
  ASSERT_EQ(env.items().size(), 2u);
  EXPECT_EQ(env.items()[0].first, "A");
  env.Unset("A");
  EXPECT_EQ(env.Get("A"), std::nullopt);
  EXPECT_EQ(env.Find("a"), nullptr);  // case-sensitive
  EXPECT_EQ(*env.Find("B"), "2");
}

TEST(ShellLex, PlainWordsAreUnchanged) {
  EXPECT_EQ(Expand("hello"), "hello");
  EXPECT_EQ(Expand(""), "");
  EXPECT_EQ(Expand("a b  c"), "a b  c");
  EXPECT_EQ(Expand("한국어"), "한국어");
}

TEST(ShellLex, SimpleVariables) {
  EXPECT_EQ(Expand("$PWD"), "/home");
  EXPECT_EQ(Expand("${PWD}"), "/home");
  EXPECT_EQ(Expand("a$PWD/b"), "a/home/b");
  EXPECT_EQ(Expand("$PWD$A$PWD"), "/homex/home");
  EXPECT_EQ(Expand("$UNSET"), "");
  EXPECT_EQ(Expand("${UNSET}x"), "x");
  EXPECT_EQ(Expand("$pwd"), "");  // case-sensitive
  EXPECT_EQ(Expand("$A_"), "");   // the name is A_, not A
  EXPECT_EQ(Expand("${A}_"), "x_");
  EXPECT_EQ(Expand("$A-"), "x-");
}

TEST(ShellLex, DollarWithoutNameIsLiteral) {
  EXPECT_EQ(Expand("$"), "$");
  EXPECT_EQ(Expand("a$"), "a$");
  EXPECT_EQ(Expand("$."), "$.");
  EXPECT_EQ(Expand("$/x"), "$/x");
  EXPECT_EQ(Expand("\"$\""), "$");
  EXPECT_EQ(Expand("$ $"), "$ $");
}

TEST(ShellLex, PositionalAndSpecialParametersAreUnsetVariables) {
  EXPECT_EQ(Expand("a$1b"), "ab");
  EXPECT_EQ(Expand("$999aaa"), "aaa");  // a run of digits is one name
  EXPECT_EQ(Expand("$0x"), "x");
  EXPECT_EQ(Expand("$@@@"), "@@");  // a special parameter is a single character
  EXPECT_EQ(Expand("${#}"), "");
  EXPECT_EQ(Expand("${$:-pid}"), "pid");
  EXPECT_EQ(Expand("${10:+set}"), "");
  Env env{{"1", "one"}, {"@", "all"}};
  EXPECT_EQ(*ShellLex().ProcessWord("$1 $@ ${1}", env), "one all one");
}

TEST(ShellLex, UnicodeVariableNames) {
  Env env{{"변수", "v"}, {"x٣", "arabic-digit"}};
  EXPECT_EQ(*ShellLex().ProcessWord("$변수!", env), "v!");
  EXPECT_EQ(*ShellLex().ProcessWord("${x٣}", env), "arabic-digit");
}

TEST(ShellLex, SingleQuotesAreLiteral) {
  EXPECT_EQ(Expand("'$PWD'"), "$PWD");
  EXPECT_EQ(Expand("'a\\'"), "a\\");
  EXPECT_EQ(Expand("'\"x\"'"), "\"x\"");
  EXPECT_EQ(Expand("a'b c'd"), "ab cd");
  EXPECT_EQ(Expand("''"), "");
}

TEST(ShellLex, DoubleQuotesExpandAndEscapeOnlySomeCharacters) {
  EXPECT_EQ(Expand("\"$PWD\""), "/home");
  EXPECT_EQ(Expand("\"a'$A'b\""), "a'x'b");
  EXPECT_EQ(Expand("\"\\$A\""), "$A");
  EXPECT_EQ(Expand("\"\\\"\""), "\"");
  EXPECT_EQ(Expand("\"\\\\\""), "\\");
  EXPECT_EQ(Expand("\"\\t\""), "\\t");  // not escapable: the backslash stays
  EXPECT_EQ(Expand("\"${A:-\"q\"}\""), "x");
}

TEST(ShellLex, BackslashEscapes) {
  EXPECT_EQ(Expand("\\$PWD"), "$PWD");
  EXPECT_EQ(Expand("\\\\$PWD"), "\\/home");
  EXPECT_EQ(Expand("a\\tb"), "atb");
  EXPECT_EQ(Expand("a\\ b"), "a b");
  EXPECT_EQ(Expand("\\'"), "'");
  EXPECT_EQ(Expand("\\\""), "\"");
  EXPECT_EQ(Expand("end\\"), "end");  // a trailing escape vanishes
  EXPECT_EQ(Expand("\\${A}"), "${A}");
}

TEST(ShellLex, BacktickEscapeCharacter) {
  EXPECT_EQ(Expand("`$PWD", '`'), "$PWD");
  EXPECT_EQ(Expand("C:\\Windows\\$A", '`'), "C:\\Windows\\x");
  EXPECT_EQ(Expand("\"C:\\dir\\\"", '`'), "C:\\dir\\");
  EXPECT_EQ(Expand("\"a`\"b\"", '`'), "a\"b");
  EXPECT_EQ(Expand("\"``\"", '`'), "`");
  EXPECT_EQ(Expand("a``b", '`'), "a`b");
  EXPECT_EQ(Expand("end`", '`'), "end");
  EXPECT_EQ(ShellLex('`').escape(), '`');
}

TEST(ShellLex, DefaultAndAlternativeValues) {
  EXPECT_EQ(Expand("${UNSET:-def}"), "def");
  EXPECT_EQ(Expand("${EMPTY:-def}"), "def");
  EXPECT_EQ(Expand("${A:-def}"), "x");
  EXPECT_EQ(Expand("${UNSET-def}"), "def");
  EXPECT_EQ(Expand("${EMPTY-def}"), "");
  EXPECT_EQ(Expand("${A-def}"), "x");
  EXPECT_EQ(Expand("${UNSET:+alt}"), "");
  EXPECT_EQ(Expand("${EMPTY:+alt}"), "");
  EXPECT_EQ(Expand("${A:+alt}"), "alt");
  EXPECT_EQ(Expand("${UNSET+alt}"), "");
  EXPECT_EQ(Expand("${EMPTY+alt}"), "alt");
  EXPECT_EQ(Expand("${A+alt}"), "alt");
  EXPECT_EQ(Expand("${UNSET:-${A:+[$PWD]}}"), "[/home]");
  EXPECT_EQ(Expand("${UNSET:-a b}"), "a b");
  EXPECT_EQ(Expand("${UNSET:-'}'}"), "}");
  EXPECT_EQ(Expand("${UNSET:-\\}}"), "}");
  EXPECT_EQ(Expand("${UNSET:-}"), "");
}

TEST(ShellLex, RequiredValues) {
  EXPECT_EQ(Expand("${A:?}"), "x");
  EXPECT_EQ(Expand("${A?}"), "x");
  EXPECT_EQ(Expand("${EMPTY?}"), "");
  EXPECT_EQ(ErrorOf("${UNSET:?}"),
            "failed to process \"${UNSET:?}\": UNSET: is not allowed to be unset");
  EXPECT_EQ(ErrorOf("${UNSET?}"),
            "failed to process \"${UNSET?}\": UNSET: is not allowed to be unset");
  EXPECT_EQ(ErrorOf("${EMPTY:?}"),
            "failed to process \"${EMPTY:?}\": EMPTY: is not allowed to be empty");
  EXPECT_EQ(ErrorOf("${UNSET:?set it with --build-arg $A}"),
            "failed to process \"${UNSET:?set it with --build-arg $A}\": "
            "UNSET: set it with --build-arg x");
  EXPECT_EQ(ErrorOf("${EMPTY:?must not be empty}"),
            "failed to process \"${EMPTY:?must not be empty}\": EMPTY: must not be empty");
}

TEST(ShellLex, PrefixAndSuffixRemoval) {
  EXPECT_EQ(Expand("${PATHV#*/}"), "usr/local/bin/tool.tar.gz");
  EXPECT_EQ(Expand("${PATHV##*/}"), "tool.tar.gz");
  EXPECT_EQ(Expand("${PATHV%.*}"), "/usr/local/bin/tool.tar");
  EXPECT_EQ(Expand("${PATHV%%.*}"), "/usr/local/bin/tool");
  EXPECT_EQ(Expand("${PATHV%/*}"), "/usr/local/bin");
  EXPECT_EQ(Expand("${PATHV#/usr}"), "/local/bin/tool.tar.gz");
  EXPECT_EQ(Expand("${PATHV#nomatch}"), "/usr/local/bin/tool.tar.gz");
  EXPECT_EQ(Expand("${FOO#?}"), "xyy");
  EXPECT_EQ(Expand("${FOO#*x*y}"), "y");
  EXPECT_EQ(Expand("${FOO#*}"), "xxyy");
  EXPECT_EQ(Expand("${FOO##*}"), "");
  EXPECT_EQ(Expand("${FOO%y}"), "xxy");
  EXPECT_EQ(Expand("${FOO%}"), "xxyy");
  EXPECT_EQ(Expand("${FOO#$A}"), "xyy");
  EXPECT_EQ(Expand("${UNSET#x}"), "");
  Env env{{"S", "a***yy*"}, {"Q", "???y"}, {"R", "()[]{}^$.*?|\\x"}};
  EXPECT_EQ(*ShellLex().ProcessWord("${S%%\\**\\*}", env), "a");
  EXPECT_EQ(*ShellLex().ProcessWord("${Q#?\\?}", env), "?y");
  EXPECT_EQ(*ShellLex().ProcessWord("${R#()[]{\\}^$.\\*\\?|\\\\}", env), "x");
}

TEST(ShellLex, PatternWildcardsDoNotMatchNewlines) {
  Env env{{"M", "a\nb/c"}};
  EXPECT_EQ(*ShellLex().ProcessWord("${M#*/}", env), "a\nb/c");
  EXPECT_EQ(*ShellLex().ProcessWord("${M#a?b}", env), "a\nb/c");
  EXPECT_EQ(*ShellLex().ProcessWord("${M%/*}", env), "a\nb");
}

TEST(ShellLex, PatternsWorkOnCharactersNotBytes) {
  Env env{{"K", "한국어"}};
  EXPECT_EQ(*ShellLex().ProcessWord("${K#?}", env), "국어");
  EXPECT_EQ(*ShellLex().ProcessWord("${K%?}", env), "한국");
  EXPECT_EQ(*ShellLex().ProcessWord("${K/?/x}", env), "x국어");
}

TEST(ShellLex, Replacement) {
  Env env{{"P", "/tmp/tmp/bar.txt"}, {"N", "/tmp"}, {"W", "/foo*/*/*.txt"}, {"STAR", "\\*/"}};
  const ShellLex lex;
  EXPECT_EQ(*lex.ProcessWord("${P/$N/} - ${P//$N/}", env), "/tmp/bar.txt - /bar.txt");
  EXPECT_EQ(*lex.ProcessWord("${W/$STAR/.} - ${W//$STAR/.}", env), "/foo.*/*.txt - /foo..*.txt");
  EXPECT_EQ(*lex.ProcessWord("${P//\\//\\/}", env), "\\/tmp\\/tmp\\/bar.txt");
  EXPECT_EQ(*lex.ProcessWord("${P/t*p/X}", env), "/X/bar.txt");  // greedy, leftmost
  EXPECT_EQ(*lex.ProcessWord("${P/nomatch/X}", env), "/tmp/tmp/bar.txt");
  EXPECT_EQ(*lex.ProcessWord("${UNSET/a/b}", env), "");
  EXPECT_EQ(*lex.ProcessWord("${P///}", env), "/tmp/tmp/bar.txt");
}

TEST(ShellLex, ReplaceWithEmptyPatternInsertsAtEveryPosition) {
  Env env{{"F", "xy"}, {"E", ""}};
  EXPECT_EQ(*ShellLex().ProcessWord("${F/$E/-}", env), "-xy");
  EXPECT_EQ(*ShellLex().ProcessWord("${F//$E/-}", env), "-x-y-");
}

TEST(ShellLex, ReplaceAllExpandsMatchReferencesLikeGo) {
  Env env{{"F", "a.b.c"}, {"R", "[$0]"}, {"D", "$$"}, {"N", "${x}$1"}};
  EXPECT_EQ(*ShellLex().ProcessWord("${F//./$R}", env), "a[.]b[.]c");
  EXPECT_EQ(*ShellLex().ProcessWord("${F//./$D}", env), "a$b$c");
  EXPECT_EQ(*ShellLex().ProcessWord("${F//./$N}", env), "abc");
  EXPECT_EQ(*ShellLex().ProcessWord("${F/./$R}", env), "a[$0]b.c");  // first-only is literal
}

TEST(ShellLex, ExactSyntaxErrors) {
  EXPECT_EQ(ErrorOf("he'llo"),
            "failed to process \"he'llo\": unexpected end of statement while looking for "
            "matching single-quote");
  EXPECT_EQ(ErrorOf("\"hello"),
            "failed to process \"\\\"hello\": unexpected end of statement while looking for "
            "matching double-quote");
  EXPECT_EQ(ErrorOf("he${PWD"),
            "failed to process \"he${PWD\": syntax error: missing '}' in \"${PWD\"");
  EXPECT_EQ(ErrorOf("${"), "failed to process \"${\": syntax error: missing '}' in \"${\"");
  EXPECT_EQ(ErrorOf("${A:-x"),
            "failed to process \"${A:-x\": syntax error: missing '}' in \"${A:-x\"");
  EXPECT_EQ(ErrorOf("${A:-\"x}"),
            "failed to process \"${A:-\\\"x}\": syntax error: missing '}' in \"${A:-\"x}\"");
  EXPECT_EQ(ErrorOf("a${}b"),
            "failed to process \"a${}b\": syntax error: bad substitution \"${}\": expected a "
            "variable name after \"${\"");
  EXPECT_EQ(ErrorOf("${{a}"),
            "failed to process \"${{a}\": syntax error: bad substitution \"${{\": expected a "
            "variable name after \"${\"");
  EXPECT_EQ(ErrorOf("${:-x}"),
            "failed to process \"${:-x}\": syntax error: bad substitution \"${:\": expected a "
            "variable name after \"${\"");
  EXPECT_EQ(ErrorOf("${.}"),
            "failed to process \"${.}\": syntax error: bad substitution \"${.\": expected a "
            "variable name after \"${\"");
  EXPECT_EQ(ErrorOf("${PWD:=000}"),
            "failed to process \"${PWD:=000}\": syntax error: unsupported modifier \":=\" in "
            "\"${PWD:=000}\" (supported: :- - :+ + :? ? # ## % %% / //)");
  EXPECT_EQ(ErrorOf("${PWD=x}"),
            "failed to process \"${PWD=x}\": syntax error: unsupported modifier \"=\" in "
            "\"${PWD=\" (supported: :- - :+ + :? ? # ## % %% / //)");
  EXPECT_EQ(ErrorOf("${A:#x}"),
            "failed to process \"${A:#x}\": syntax error: unsupported modifier \":#\" in "
            "\"${A:#\" (supported: :- - :+ + :? ? # ## % %% / //)");
  EXPECT_EQ(ErrorOf("${A:%%x}"),
            "failed to process \"${A:%%x}\": syntax error: unsupported modifier \":%\" in "
            "\"${A:%\" (supported: :- - :+ + :? ? # ## % %% / //)");
  EXPECT_EQ(ErrorOf("${A/x"),
            "failed to process \"${A/x\": syntax error: missing '/' in \"${A/x\" (expected "
            "${A/pattern/replacement})");
  EXPECT_EQ(ErrorOf("${A//x/y"),
            "failed to process \"${A//x/y\": syntax error: missing '}' in \"${A//x/y\"");
}

TEST(ShellLex, ExactPatternErrors) {
  EXPECT_EQ(ErrorOf("${A#a\\x}"),
            "failed to process \"${A#a\\\\x}\": invalid pattern \"a\\x\" in \"${A#a\\x}\": "
            "invalid escape '\\x' (only \\*, \\?, \\\\, \\} and \\/ can be escaped)");
  Env env{{"A", "abc"}, {"P", "ab\\"}};
  EXPECT_EQ(ErrorOf("${A%$P}", env),
            "failed to process \"${A%$P}\": invalid pattern \"ab\\\" in \"${A%$P}\": the "
            "pattern ends with an unescaped '\\' (write '\\\\' for a backslash)");
  EXPECT_EQ(ErrorOf("${A/$P/}", env),
            "failed to process \"${A/$P/}\": invalid pattern \"ab\\\" in \"${A/$P/}\": the "
            "pattern ends with an unescaped '\\' (write '\\\\' for a backslash)");
}

TEST(ShellLex, ErrorInsideNestedSubstitutionIsReportedAsIs) {
  EXPECT_EQ(ErrorOf("${UNSET:-${B:?need B}}"),
            "failed to process \"${UNSET:-${B:?need B}}\": B: need B");
}

TEST(ShellLex, MatchesReportUsedAndUnsetVariables) {
  Env env{{"FOO", "xxx"}, {"BAR", ""}};
  auto r = ShellLex().ProcessWordWithMatches("${FOO-a} ${BAR-b} ${BAZ-c} $FOO", env);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->word, "xxx  c xxx");
  EXPECT_THAT(r->used, ElementsAre("BAR", "FOO"));
  EXPECT_THAT(r->unmatched, ElementsAre("BAZ"));
  auto plain = ShellLex().ProcessWordWithMatches("x", env);
  EXPECT_THAT(plain->used, IsEmpty());
  EXPECT_THAT(plain->unmatched, IsEmpty());
}

TEST(ShellLex, ProcessWordsSplitsOnUnquotedWhitespace) {
  EXPECT_THAT(Words("a b\tc\n d"), ElementsAre("a", "b", "c", "d"));
  EXPECT_THAT(Words("  lead trail  "), ElementsAre("lead", "trail"));
  EXPECT_THAT(Words("a' 'b \"c  d\""), ElementsAre("a b", "c  d"));
  EXPECT_THAT(Words("a\\ b c"), ElementsAre("a b", "c"));
  EXPECT_THAT(Words("x${SPACED}y"), ElementsAre("x", "a", "b", "y"));
  EXPECT_THAT(Words("x\"${SPACED}\"y"), ElementsAre("x a  b y"));
  EXPECT_THAT(Words("80/tcp ${UNSET:-443}/udp"), ElementsAre("80/tcp", "443/udp"));
  EXPECT_THAT(Words("pre${UNSET:-fix}"), ElementsAre("prefix"));
  EXPECT_THAT(Words(""), IsEmpty());
  EXPECT_THAT(Words("a \"\" b"), ElementsAre("a", "b"));  // as BuildKit: no empty words
  EXPECT_THAT(Words("a\u00a0b"), ElementsAre("a", "b"));  // Unicode spaces split too
}

TEST(ShellLex, ProcessWordsKeepsHeredocMarkersTogether) {
  EXPECT_THAT(Words("cat <<  EOF > file"), ElementsAre("cat", "<<  EOF", ">", "file"));
  EXPECT_THAT(Words("a <b"), ElementsAre("a", "<b"));
  EXPECT_EQ(Expand("cat << EOF"), "cat << EOF");
}

TEST(ShellLex, ProcessWordsErrors) {
  auto r = ShellLex().ProcessWords("a 'b", TestEnv());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "failed to process \"a 'b\": unexpected end of statement while looking for matching "
            "single-quote");
}

TEST(ShellLex, RawQuotesAndEscapesForHeredocDetection) {
  ShellLex::Options raw;
  raw.raw_quotes = true;
  raw.raw_escapes = true;
  raw.skip_unset_env = true;
  const ShellLex lex('\\', raw);
  const Env env;
  EXPECT_THAT(*lex.ProcessWords("<<\"EOF\" '$x' \\a", env),
              ElementsAre("<<\"EOF\"", "'$x'", "\\a"));
  EXPECT_EQ(*lex.ProcessWord("$U ${U} ${U:-d} ${U/a/b}", env), "$U ${U} ${U:-d} ${U/a/b}");
  EXPECT_EQ(*lex.ProcessWord("${U//a/b}", env), "${U//a/b}");
}

TEST(ShellLex, SkipProcessQuotesTreatsQuotesAsText) {
  ShellLex::Options opts;
  opts.skip_process_quotes = true;
  Env env{{"A", "x"}};
  EXPECT_EQ(*ShellLex('\\', opts).ProcessWord("'$A' \"$A\"", env), "'x' \"x\"");
}

TEST(ShellLex, InvalidUtf8ReadsAsReplacementCharacter) {
  EXPECT_EQ(Expand("a\xff$A"), "a\xEF\xBF\xBDx");
  EXPECT_EQ(Expand("\xEF\xBB\xBF$A"), "x");  // a leading byte order mark is dropped
}

TEST(ShellLex, ErrorMessagesQuoteControlCharacters) {
  EXPECT_EQ(ErrorOf("'a\tb\x01"),
            "failed to process \"'a\\tb\\x01\": unexpected end of statement while looking for "
            "matching single-quote");
}

}  // namespace
}  // namespace ocibuild::dockerfile
