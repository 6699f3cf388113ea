#include "dockerfile-parser/parser.h"

#include <gtest/gtest.h>

#include "dockerfile-parser/ast_dump.h"

namespace ocibuild::dockerfile {
namespace {

std::string Dump(std::string_view text) {
  auto r = ParseDockerfile(text);
  if (!r.ok()) return "ERROR: " + r.error().message;
  return DumpAst(*r);
}

TEST(GoQuote, EscapesLikeStrconvQuote) {
  EXPECT_EQ(GoQuote("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(GoQuote("\n\t\r\a\b\f\v"), R"("\n\t\r\a\b\f\v")");
  EXPECT_EQ(GoQuote(std::string("\0\x1f\x7f", 3)), R"("\x00\x1f\x7f")");
  EXPECT_EQ(GoQuote("\xE2\x99\xA5"), "\"\xE2\x99\xA5\"");  // ♥ stays literal
  EXPECT_EQ(GoQuote("\xff"), R"("\xff")");                 // invalid UTF-8
  EXPECT_EQ(GoQuote("\xC2\xA0"), R"("\u00a0")");           // NBSP is not printable in Go
  EXPECT_EQ(GoQuote("\xEF\xBB\xBF"), R"("\ufeff")");
}

TEST(Parser, InstructionsAreCaseInsensitiveAndKeepTheirSpelling) {
  auto r = ParseDockerfile("from alpine\nRuN echo hi\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->nodes.size(), 2u);
  EXPECT_EQ(r->nodes[1].value, "RuN");
  EXPECT_EQ(r->nodes[1].Keyword(), "run");
  EXPECT_EQ(DumpAst(*r), "(from \"alpine\")\n(run \"echo hi\")\n");
}

TEST(Parser, LineNumbersCoverContinuations) {
  auto r = ParseDockerfile("FROM a\n\nRUN a \\\n  b \\\n  c\nCMD x\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->nodes[1].start_line, 3);
  EXPECT_EQ(r->nodes[1].end_line, 5);
  EXPECT_EQ(r->nodes[1].args[0], "a   b   c");
  EXPECT_EQ(r->nodes[2].start_line, 6);
}

TEST(Parser, CommentsInsideContinuationsAreDropped) {
  EXPECT_EQ(Dump("RUN a \\\n# comment\n  b\n"), "(run \"a   b\")\n");
}

TEST(Parser, EmptyContinuationLinesWarn) {
  auto r = ParseDockerfile("RUN a \\\n\n b\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(DumpAst(*r), "(run \"a  b\")\n");
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0].line, 3);
}

TEST(Parser, EscapedEscapeIsNotAContinuation) {
  EXPECT_EQ(Dump("ENV A b\\\\\nENV C d\n"),
            "(env \"A\" \"b\\\\\\\\\" \"\")\n(env \"C\" \"d\" \"\")\n");
}

TEST(Parser, ContinuationAtEndOfFile) {
  EXPECT_EQ(Dump("RUN a \\"), "(run \"a\")\n");
}

TEST(Parser, CrLfLineEndings) {
  EXPECT_EQ(Dump("FROM a\r\nRUN b \\\r\n c\r\n"), "(from \"a\")\n(run \"b  c\")\n");
}

TEST(Parser, ByteOrderMarkIsIgnored) {
  EXPECT_EQ(Dump("\xEF\xBB\xBF"
                 "FROM a\n"),
            "(from \"a\")\n");
}

TEST(Directives, EscapeBacktick) {
  auto r = ParseDockerfile("# escape=`\nFROM a\nRUN dir c:\\ `\n  && echo\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->escape, '`');
  EXPECT_EQ(DumpAst(*r), "(from \"a\")\n(run \"dir c:\\\\   && echo\")\n");
}

TEST(Directives, SyntaxCheckAndEscapeAreRecorded) {
  auto r =
      ParseDockerfile("# syntax=docker/dockerfile:1\n# CHECK = skip=all\n#escape=\\\nFROM a\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->directives.size(), 3u);
  EXPECT_EQ(r->directives[0].name, "syntax");
  EXPECT_EQ(r->directives[0].value, "docker/dockerfile:1");
  EXPECT_EQ(r->directives[1].name, "check");
  EXPECT_EQ(r->directives[1].value, "skip=all");
  EXPECT_EQ(r->directives[1].line, 2);
  EXPECT_EQ(r->directives[2].value, "\\");
}

TEST(Directives, OnlyBeforeTheFirstOtherLine) {
  auto r = ParseDockerfile("# hello\n# escape=`\nFROM a\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->directives.empty());
  EXPECT_EQ(r->escape, '\\');
  auto blank = ParseDockerfile("\n# escape=`\nFROM a\n");
  ASSERT_TRUE(blank.ok());
  EXPECT_EQ(blank->escape, '\\');
}

TEST(Directives, BlankValueIsTheLastBlankLikeBuildKitsRegexp) {
  auto r = ParseDockerfile("# escape= \nFROM a\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.substr(0, r.error().message.find('\n')),
            "Dockerfile:1:1: invalid escape token ' ' does not match ` or \\");
  auto none = ParseDockerfile("# syntax=\nFROM a\n");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->directives.empty());
}

TEST(Directives, UnknownDirectiveEndsTheDirectiveBlock) {
  auto r = ParseDockerfile("# foo=bar\n# escape=`\nFROM a\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->escape, '\\');
}

TEST(Directives, Errors) {
  auto dup = ParseDockerfile("# escape=`\n# escape=`\nFROM a\n");
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message,
            "Dockerfile:2:1: only one escape parser directive can be used\n"
            "   2 | # escape=`\n"
            "     | ^");
  auto bad = ParseDockerfile("# escape=x\nFROM a\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "Dockerfile:1:1: invalid escape token 'x' does not match ` or \\\n"
            "   1 | # escape=x\n"
            "     | ^");
}

TEST(Parser, ExecFormAndFallback) {
  EXPECT_EQ(Dump("CMD [\"a\", \"b c\"]\n"), "(cmd \"a\" \"b c\")\n");
  EXPECT_EQ(Dump("CMD [\"a\" \"b\"]\n"), "(cmd \"[\\\"a\\\" \\\"b\\\"]\")\n");
  EXPECT_EQ(Dump("ENTRYPOINT []\n"), "(entrypoint)\n");
  EXPECT_EQ(Dump("SHELL [\"/bin/bash\", \"-c\"]\n"), "(shell \"/bin/bash\" \"-c\")\n");
  EXPECT_EQ(Dump("COPY [\"a b\", \"/c\"]\n"), "(copy \"a b\" \"/c\")\n");
  EXPECT_EQ(Dump("VOLUME [\"/a\"] x\n"), "(volume \"[\\\"/a\\\"]\" \"x\")\n");
  EXPECT_EQ(Dump("RUN [\"\\u00e9\"]\n"), "(run \"\xC3\xA9\")\n");
}

TEST(Parser, JsonArrayOfNonStringsIsAnError) {
  for (const char* df : {"CMD [1]\n", "RUN [\"a\", null]\n", "COPY [{}, \"b\"]\n"}) {
    auto r = ParseDockerfile(df);
    ASSERT_FALSE(r.ok()) << df;
    EXPECT_NE(r.error().message.find(
                  "when using JSON array syntax, arrays must be comprised of strings only"),
              std::string::npos);
  }
}

TEST(Parser, FlagsComeFirstAndStopAtDoubleDash) {
  EXPECT_EQ(Dump("COPY --from=a --chown=\"1:2\" -- --x /y\n"),
            "(copy [\"--from=a\" \"--chown=1:2\"] \"--x\" \"/y\")\n");
  EXPECT_EQ(Dump("RUN --mount=type=cache,target=/c make\n"),
            "(run [\"--mount=type=cache,target=/c\"] \"make\")\n");
  EXPECT_EQ(Dump("RUN -x\n"), "(run \"-x\")\n");
}

TEST(Parser, EnvForms) {
  EXPECT_EQ(Dump("ENV a=b c=\"d e\"\n"), "(env \"a\" \"b\" \"=\" \"c\" \"\\\"d e\\\"\" \"=\")\n");
  EXPECT_EQ(Dump("ENV a b c\n"), "(env \"a\" \"b c\" \"\")\n");
  EXPECT_EQ(Dump("LABEL \"k y\"=v\n"), "(label \"\\\"k y\\\"\" \"v\" \"=\")\n");
  auto r = ParseDockerfile("ENV a=b c\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "Dockerfile:1:1: Syntax error - can't find = in \"c\". Must be of the form: "
            "name=value\n   1 | ENV a=b c\n     | ^");
  auto l = ParseDockerfile("LABEL x\n");
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().message,
            "Dockerfile:1:1: LABEL must have two arguments\n   1 | LABEL x\n     | ^");
}

TEST(Parser, ArgWords) {
  EXPECT_EQ(Dump("ARG a b=\"c d\" e\n"), "(arg \"a\" \"b=\\\"c d\\\"\" \"e\")\n");
}

TEST(Parser, HealthcheckShapes) {
  EXPECT_EQ(Dump("HEALTHCHECK NONE\n"), "(healthcheck \"NONE\")\n");
  EXPECT_EQ(Dump("HEALTHCHECK --retries=2 CMD [\"a\",\"b\"]\n"),
            "(healthcheck [\"--retries=2\"] \"CMD\" \"a\" \"b\")\n");
}

TEST(Parser, OnbuildNestsTheTrigger) {
  auto r = ParseDockerfile("ONBUILD ADD --chown=1 a b\n");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->nodes[0].children.size(), 1u);
  EXPECT_EQ(r->nodes[0].children[0].flags, std::vector<std::string>{"--chown=1"});
  EXPECT_EQ(DumpAst(*r), "(onbuild (add [\"--chown=1\"] \"a\" \"b\"))\n");
}

TEST(Parser, DeepOnbuildNestingIsRejectedNotACrash) {
  std::string df;
  for (int i = 0; i < 5000; ++i) df += "ONBUILD ";
  df += "RUN x\n";
  auto r = ParseDockerfile(df);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("ONBUILD instructions nested too deeply"), std::string::npos);
}

TEST(Parser, UnknownInstructionParsesWithAnEmptyArgument) {
  EXPECT_EQ(Dump("FOO bar\n"), "(foo \"\")\n");
}

TEST(Parser, OverlongLineIsAnError) {
  std::string df = "RUN " + std::string(70000, 'a') + "\n";
  auto r = ParseDockerfile(df);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.substr(0, r.error().message.find('\n')),
            "Dockerfile:1:1: dockerfile line greater than max allowed size of 65535");
}

TEST(Parser, NoInstructions) {
  auto r = ParseDockerfile("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "Dockerfile: file with no instructions");
  auto named = ParseDockerfile("# just a comment\n", "build/Containerfile");
  ASSERT_FALSE(named.ok());
  EXPECT_EQ(
      named.error().message,
      "build/Containerfile:1:1: file with no instructions\n   1 | # just a comment\n     | ^");
}

TEST(Parser, UnicodeWhitespaceSeparatesWords) {
  // U+00A0 between words: Go's unicode.IsSpace treats it as a separator in parseWords.
  EXPECT_EQ(Dump("ARG a\xC2\xA0"
                 "b\n"),
            "(arg \"a\" \"b\")\n");
}

}  // namespace
}  // namespace ocibuild::dockerfile
