#include <gtest/gtest.h>

#include "dockerfile-parser/ast_dump.h"
#include "dockerfile-parser/instructions.h"
#include "dockerfile-parser/parser.h"

namespace ocibuild::dockerfile {
namespace {

ParsedDockerfile MustParse(std::string_view text) {
  auto r = ParseDockerfile(text);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? std::move(r).value() : ParsedDockerfile{};
}

TEST(HeredocWord, Recognition) {
  EXPECT_TRUE(IsHeredocWord("<<EOF"));
  EXPECT_TRUE(IsHeredocWord("<<-EOF"));
  EXPECT_TRUE(IsHeredocWord("3<<EOF"));
  EXPECT_TRUE(IsHeredocWord("<<\"EOF\""));
  EXPECT_FALSE(IsHeredocWord("<<"));
  EXPECT_FALSE(IsHeredocWord("a<<EOF"));
  EXPECT_FALSE(IsHeredocWord("<<<EOF"));
}

TEST(HeredocWord, QuotingControlsExpansion) {
  auto plain = ParseHeredocWord("<<EOF");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->name, "EOF");
  EXPECT_TRUE(plain->expand);
  EXPECT_FALSE(plain->chomp);
  auto dq = ParseHeredocWord("<<\"EOF\"");
  ASSERT_TRUE(dq.ok());
  EXPECT_EQ(dq->name, "EOF");
  EXPECT_FALSE(dq->expand);
  auto sq = ParseHeredocWord("<<-'E O'");
  ASSERT_TRUE(sq.ok());
  EXPECT_EQ(sq->name, "E O");
  EXPECT_FALSE(sq->expand);
  EXPECT_TRUE(sq->chomp);
  auto partial = ParseHeredocWord("<<E\"O\"F");
  ASSERT_TRUE(partial.ok());
  EXPECT_EQ(partial->name, "EOF");
  EXPECT_FALSE(partial->expand);
  auto fd = ParseHeredocWord("3<<EOF");
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(fd->fd, 3u);
  auto bad = ParseHeredocWord("<<\"EOF");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "unterminated quote in heredoc delimiter: \"EOF");
}

TEST(Heredoc, RunBody) {
  auto f = MustParse("FROM a\nRUN <<EOF\necho hi\necho $HOME\nEOF\nRUN after\n");
  ASSERT_EQ(f.nodes.size(), 3u);
  const Node& run = f.nodes[1];
  ASSERT_EQ(run.heredocs.size(), 1u);
  EXPECT_EQ(run.heredocs[0].name, "EOF");
  EXPECT_EQ(run.heredocs[0].content, "echo hi\necho $HOME\n");
  EXPECT_TRUE(run.heredocs[0].expand);
  EXPECT_EQ(run.start_line, 2);
  EXPECT_EQ(run.end_line, 5);
  EXPECT_EQ(f.nodes[2].start_line, 6);
  // The dump shows the instruction line only, as BuildKit's does.
  EXPECT_EQ(DumpAst(f), "(from \"a\")\n(run \"<<EOF\")\n(run \"after\")\n");
}

TEST(Heredoc, ChompStripsLeadingTabsFromTerminatorAndBody) {
  auto f = MustParse("FROM a\nCOPY <<-EOT /f\n\tx\n\t\ty\n\tEOT\n");
  const Node& copy = f.nodes[1];
  ASSERT_EQ(copy.heredocs.size(), 1u);
  EXPECT_EQ(copy.heredocs[0].content, "\tx\n\t\ty\n");
  auto step = ParseInstruction(f, copy);
  ASSERT_TRUE(step.ok()) << step.error().message;
  const auto& c = std::get<CopyInstr>(step->instr);
  ASSERT_EQ(c.contents.size(), 1u);
  EXPECT_EQ(c.contents[0].path, "EOT");
  EXPECT_EQ(c.contents[0].data, "x\ny\n");
  EXPECT_EQ(c.dest, "/f");
  EXPECT_TRUE(c.sources.empty());
}

TEST(Heredoc, SeveralOnOneLine) {
  auto f = MustParse("FROM a\nRUN <<A cat /dev/stdin <<'B' > /out\n1\nA\n2\nB\nCMD x\n");
  const Node& run = f.nodes[1];
  ASSERT_EQ(run.heredocs.size(), 2u);
  EXPECT_EQ(run.heredocs[0].name, "A");
  EXPECT_EQ(run.heredocs[0].content, "1\n");
  EXPECT_TRUE(run.heredocs[0].expand);
  EXPECT_EQ(run.heredocs[1].name, "B");
  EXPECT_EQ(run.heredocs[1].content, "2\n");
  EXPECT_FALSE(run.heredocs[1].expand);
  EXPECT_EQ(f.nodes[2].start_line, 7);
}

TEST(Heredoc, CopyWithSourceFilesAndHeredocs) {
  auto f = MustParse("FROM a\nCOPY x <<one y <<two /dst/\nfirst\none\nsecond\ntwo\n");
  auto step = ParseInstruction(f, f.nodes[1]);
  ASSERT_TRUE(step.ok()) << step.error().message;
  const auto& c = std::get<CopyInstr>(step->instr);
  EXPECT_EQ(c.sources, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(c.contents.size(), 2u);
  EXPECT_EQ(c.contents[0].data, "first\n");
  EXPECT_EQ(c.contents[1].data, "second\n");
}

TEST(Heredoc, RepeatedNameTakesTheLastBody) {
  auto f = MustParse("FROM a\nCOPY <<X <<X /d/\none\nX\ntwo\nX\n");
  ASSERT_EQ(f.nodes[1].heredocs.size(), 2u);
  auto step = ParseInstruction(f, f.nodes[1]);
  ASSERT_TRUE(step.ok());
  const auto& c = std::get<CopyInstr>(step->instr);
  ASSERT_EQ(c.contents.size(), 2u);
  EXPECT_EQ(c.contents[0].data, "two\n");
  EXPECT_EQ(c.contents[1].data, "two\n");
}

TEST(Heredoc, QuotedMarkersAndExecFormAreNotHeredocs) {
  auto f = MustParse("FROM a\nRUN echo \"<<EOF\"\nRUN [\"cat\", \"<<EOF\"]\nCMD <<EOF\n");
  EXPECT_TRUE(f.nodes[1].heredocs.empty());
  EXPECT_TRUE(f.nodes[2].heredocs.empty());
  EXPECT_TRUE(f.nodes[3].heredocs.empty());  // only RUN, COPY and ADD take heredocs
  EXPECT_EQ(f.nodes.size(), 4u);
}

TEST(Heredoc, OnbuildTrigger) {
  auto f = MustParse("FROM a\nONBUILD RUN <<EOF\nx\nEOF\n");
  ASSERT_EQ(f.nodes[1].heredocs.size(), 1u);
  auto step = ParseInstruction(f, f.nodes[1]);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(std::get<OnbuildInstr>(step->instr).expression, "RUN <<EOF\nx\nEOF");
}

TEST(Heredoc, UnterminatedIsAnError) {
  auto r = ParseDockerfile("FROM a\nRUN <<EOF\necho\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "Dockerfile:2:1: unterminated heredoc\n   2 | RUN <<EOF\n     | ^");
}

TEST(Heredoc, DestinationCannotBeAHeredoc) {
  auto f = MustParse("FROM a\nCOPY a <<EOF\nx\nEOF\n");
  auto step = ParseInstruction(f, f.nodes[1]);
  ASSERT_FALSE(step.ok());
  EXPECT_EQ(step.error().message,
            "Dockerfile:2:8: COPY cannot accept a heredoc as a destination\n"
            "   2 | COPY a <<EOF\n"
            "     |        ^");
}

TEST(Heredoc, RunCommandKeepsFiles) {
  auto f = MustParse("FROM a\nRUN 3<<EOF python3\nprint(1)\nEOF\n");
  auto step = ParseInstruction(f, f.nodes[1]);
  ASSERT_TRUE(step.ok());
  const auto& r = std::get<RunInstr>(step->instr);
  EXPECT_EQ(r.command.args, std::vector<std::string>{"3<<EOF python3"});
  EXPECT_TRUE(r.command.shell_form);
  ASSERT_EQ(r.command.files.size(), 1u);
  EXPECT_EQ(r.command.files[0].fd, 3u);
  EXPECT_EQ(r.command.files[0].content, "print(1)\n");
}

}  // namespace
}  // namespace ocibuild::dockerfile
