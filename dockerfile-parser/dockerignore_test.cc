#include "dockerfile-parser/dockerignore.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::dockerfile {
namespace {

Dockerignore Make(const std::vector<std::string>& patterns) {
  auto di = Dockerignore::FromPatterns(patterns);
  EXPECT_TRUE(di.ok()) << di.error().message;
  return di.ok() ? std::move(di).value() : Dockerignore();
}

bool Excluded(const std::vector<std::string>& patterns, std::string_view path) {
  return Make(patterns).Matches(path);
}

struct Case {
  const char* pattern;
  const char* path;
  bool excluded;
};

// patternmatcher's TestMatches table (single pattern, a path or one of its parents matching),
// minus its two "/" rows: here "/" is the context root, which is never excluded.
const Case kDockerCases[] = {
    {"**", "file", true},
    {"**", "file/", true},
    {"**/", "file", true},
    {"**/", "file/", true},
    {"**", "dir/file", true},
    {"**/", "dir/file", true},
    {"**", "dir/file/", true},
    {"**/", "dir/file/", true},
    {"**/**", "dir/file", true},
    {"**/**", "dir/file/", true},
    {"dir/**", "dir/file", true},
    {"dir/**", "dir/file/", true},
    {"dir/**", "dir/dir2/file", true},
    {"dir/**", "dir/dir2/file/", true},
    {"**/dir", "dir", true},
    {"**/dir", "dir/file", true},
    {"**/dir2/*", "dir/dir2/file", true},
    {"**/dir2/*", "dir/dir2/file/", true},
    {"**/dir2/**", "dir/dir2/dir3/file", true},
    {"**/dir2/**", "dir/dir2/dir3/file/", true},
    {"**file", "file", true},
    {"**file", "dir/file", true},
    {"**/file", "dir/file", true},
    {"**file", "dir/dir/file", true},
    {"**/file", "dir/dir/file", true},
    {"**/file*", "dir/dir/file", true},
    {"**/file*", "dir/dir/file.txt", true},
    {"**/file*txt", "dir/dir/file.txt", true},
    {"**/file*.txt", "dir/dir/file.txt", true},
    {"**/file*.txt*", "dir/dir/file.txt", true},
    {"**/**/*.txt", "dir/dir/file.txt", true},
    {"**/**/*.txt2", "dir/dir/file.txt", false},
    {"**/*.txt", "file.txt", true},
    {"**/**/*.txt", "file.txt", true},
    {"a**/*.txt", "a/file.txt", true},
    {"a**/*.txt", "a/dir/file.txt", true},
    {"a**/*.txt", "a/dir/dir/file.txt", true},
    {"a/*.txt", "a/dir/file.txt", false},
    {"a/*.txt", "a/file.txt", true},
    {"a/*.txt**", "a/file.txt", true},
    {"a[b-d]e", "ae", false},
    {"a[b-d]e", "ace", true},
    {"a[b-d]e", "aae", false},
    {"a[^b-d]e", "aze", true},
    {".*", ".foo", true},
    {".*", "foo", false},
    {"abc.def", "abcdef", false},
    {"abc.def", "abc.def", true},
    {"abc.def", "abcZdef", false},
    {"abc?def", "abcZdef", true},
    {"abc?def", "abcdef", false},
    {"a\\\\", "a\\", true},
    {"**/foo/bar", "foo/bar", true},
    {"**/foo/bar", "dir/foo/bar", true},
    {"**/foo/bar", "dir/dir2/foo/bar", true},
    {"abc/**", "abc", false},
    {"abc/**", "abc/def", true},
    {"abc/**", "abc/def/ghi", true},
    {"**/.foo", ".foo", true},
    {"**/.foo", "bar.foo", false},
    {"a(b)c/def", "a(b)c/def", true},
    {"a(b)c/def", "a(b)c/xyz", false},
    {"a.|)$(}+{bc", "a.|)$(}+{bc", true},
    {"dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
    {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true},
    {"a\\*b", "a*b", true},
    {"a\\*b", "axb", false},
};

TEST(Dockerignore, DockerPatternTable) {
  for (const auto& c : kDockerCases) {
    EXPECT_EQ(Excluded({c.pattern}, c.path), c.excluded) << c.pattern << " vs " << c.path;
  }
}

TEST(Dockerignore, DockerMultiPatternCases) {
  EXPECT_FALSE(Excluded({"**", "!util/docker/web"}, "util/docker/web/foo"));
  EXPECT_TRUE(Excluded({"**", "!util/docker/web", "util/docker/web/foo"}, "util/docker/web/foo"));
  EXPECT_FALSE(Excluded({"**", "!dist/*.whl"}, "dist/proxy.py-2.4.0rc3-py3-none-any.whl"));
  EXPECT_TRUE(Excluded({"!fileutils.go", "*.go"}, "fileutils.go"));
  EXPECT_FALSE(Excluded({"*.go", "!fileutils.go"}, "fileutils.go"));
  EXPECT_FALSE(Excluded({"docs", "!docs/README.md"}, "docs/README.md"));
  EXPECT_FALSE(Excluded({"docs/", "!docs/README.md"}, "docs/README.md"));
  EXPECT_FALSE(Excluded({"docs/*", "!docs/README.md"}, "docs/README.md"));
  EXPECT_TRUE(Excluded({"docs/*", "!docs/README.md"}, "docs/other.md"));
}

TEST(Dockerignore, ClassicRecipes) {
  const Dockerignore go = Make({"**/*.go"});
  EXPECT_TRUE(go.Matches("main.go"));
  EXPECT_TRUE(go.Matches("cmd/tool/main.go"));
  EXPECT_FALSE(go.Matches("cmd/tool/main.gox"));
  EXPECT_FALSE(go.Matches("go.mod"));

  const Dockerignore md = Make({"*.md", "!README.md"});
  EXPECT_TRUE(md.Matches("CHANGELOG.md"));
  EXPECT_FALSE(md.Matches("README.md"));
  EXPECT_FALSE(md.Matches("docs/guide.md"));  // '*' stays in the top directory

  for (const char* p : {"build", "build/", "/build", "./build", "build/."}) {
    const Dockerignore d = Make({p});
    EXPECT_TRUE(d.Matches("build")) << p;
    EXPECT_TRUE(d.Matches("build/out/app.o")) << p;
    EXPECT_FALSE(d.Matches("builder")) << p;
    EXPECT_FALSE(d.Matches("src/build")) << p;
  }

  const Dockerignore git = Make({".git", "node_modules", "**/__pycache__"});
  EXPECT_TRUE(git.Matches(".git"));
  EXPECT_TRUE(git.Matches(".git/objects/ab/cdef"));
  EXPECT_FALSE(git.Matches(".gitignore"));
  EXPECT_TRUE(git.Matches("node_modules/x/index.js"));
  EXPECT_FALSE(git.Matches("web/node_modules/x.js"));  // only at the top
  EXPECT_TRUE(git.Matches("app/pkg/__pycache__/m.pyc"));
}

TEST(Dockerignore, ContextRootIsNeverExcluded) {
  const Dockerignore all = Make({"*", "**"});
  EXPECT_FALSE(all.Matches("."));
  EXPECT_FALSE(all.Matches(""));
  EXPECT_FALSE(all.Matches("./"));
  EXPECT_FALSE(all.Matches("/"));
  EXPECT_TRUE(all.Matches("./a"));
  EXPECT_TRUE(all.Matches("/a/b"));
}

TEST(Dockerignore, DockerQuirksAreKept) {
  EXPECT_TRUE(Excluded({"**foo"}, "barfoo"));  // suffix match, not "(dirs/)foo"
  EXPECT_TRUE(Excluded({"a**b"}, "ab"));
  EXPECT_TRUE(Excluded({"a**b"}, "a/x/b"));
  EXPECT_FALSE(Excluded({"a**b"}, "axb"));
  EXPECT_TRUE(Excluded({"abc**"}, "abcdef/x"));
}

TEST(Dockerignore, DockerfileAndDockerignoreAreStillSent) {
  Dockerignore d = Make({"*", "!src"});
  EXPECT_TRUE(d.Matches("Dockerfile"));
  EXPECT_TRUE(d.Matches(".dockerignore"));
  d.KeepBuildFiles("Dockerfile");
  EXPECT_FALSE(d.Matches("Dockerfile"));
  EXPECT_FALSE(d.Matches(".dockerignore"));
  EXPECT_TRUE(d.Matches("other"));
  EXPECT_FALSE(d.Matches("src/main.c"));
  ASSERT_EQ(d.patterns().size(), 4u);
  EXPECT_EQ(d.patterns()[2].text, ".dockerignore");
  EXPECT_TRUE(d.patterns()[2].exception);

  Dockerignore custom = Make({"build", "**/*.dockerignore"});
  custom.KeepBuildFiles("./build/Dockerfile.prod");
  EXPECT_FALSE(custom.Matches("build/Dockerfile.prod"));
  EXPECT_TRUE(custom.Matches("build/other"));
  EXPECT_FALSE(custom.Matches(".dockerignore"));
  EXPECT_EQ(custom.patterns().size(), 4u);

  Dockerignore none = Make({"*.tmp"});
  none.KeepBuildFiles("Dockerfile");
  EXPECT_EQ(none.patterns().size(), 1u);
}

TEST(Dockerignore, ExceptionsBelowExcludedDirectories) {
  const Dockerignore d = Make({"node_modules", "!node_modules/keep/**", "*/tmp", "!*/tmp/keep"});
  EXPECT_TRUE(d.Matches("node_modules"));
  EXPECT_TRUE(d.MayHaveExceptionsUnder("node_modules"));
  EXPECT_TRUE(d.MayHaveExceptionsUnder("node_modules/keep"));
  EXPECT_FALSE(d.MayHaveExceptionsUnder("node_modules/other"));
  EXPECT_FALSE(d.Matches("node_modules/keep/a.js"));
  EXPECT_TRUE(d.Matches("node_modules/other/a.js"));
  EXPECT_TRUE(d.Matches("a/tmp"));
  EXPECT_TRUE(d.MayHaveExceptionsUnder("a/tmp"));
  EXPECT_FALSE(d.MayHaveExceptionsUnder("a/src"));
  EXPECT_FALSE(d.Matches("a/tmp/keep"));
  EXPECT_FALSE(d.MayHaveExceptionsUnder("a/b/tmp"));  // '*' is one level only
  EXPECT_TRUE(d.MayHaveExceptionsUnder("."));

  EXPECT_FALSE(Make({"build"}).MayHaveExceptionsUnder("build"));
  EXPECT_TRUE(Make({"**", "!**/*.go"}).MayHaveExceptionsUnder("deep/er/dir"));
  EXPECT_TRUE(Make({"docs", "!docs/README.md"}).MayHaveExceptionsUnder("docs"));
  EXPECT_FALSE(Make({"docs", "!docs/README.md"}).MayHaveExceptionsUnder("docsx"));
  EXPECT_TRUE(Make({"a", "!a/b**"}).MayHaveExceptionsUnder("a"));
  EXPECT_TRUE(Make({"a", "!a/b**"}).MayHaveExceptionsUnder("a/bc"));
  EXPECT_FALSE(Make({"a", "!a/b**"}).MayHaveExceptionsUnder("a/c"));
  EXPECT_TRUE(Make({"a", "!a/*/[xy]*.txt"}).MayHaveExceptionsUnder("a/q"));
  EXPECT_FALSE(Make({"a", "!a/*/[xy]*.txt"}).MayHaveExceptionsUnder("b"));
  EXPECT_TRUE(Make({"a", "!**/keep"}).MayHaveExceptionsUnder("a"));
  // "!a/b" re-includes a/b itself; nothing strictly below "a/b/c" can flip.
  EXPECT_FALSE(Make({"a", "!a/b"}).MayHaveExceptionsUnder("a/b/c"));
}

TEST(Dockerignore, ParseFileSyntax) {
  const std::string content =
      "\xEF\xBB\xBF"
      "# comment\n"
      "test1\r\n"
      "/test2\n"
      "/a/file/here\n"
      "\n"
      "   \n"
      "lastfile\n"
      "  # not a comment: the '#' is not first\n"
      "! /inverted/abs/path\n"
      "./dot/../cleaned//x/\n";
  auto di = Dockerignore::Parse(content);
  ASSERT_TRUE(di.ok()) << di.error().message;
  std::vector<std::string> texts;
  std::vector<int> lines;
  for (const auto& p : di->patterns()) {
    texts.push_back((p.exception ? "!" : "") + p.text);
    lines.push_back(p.line);
  }
  EXPECT_THAT(texts, ::testing::ElementsAre("test1", "test2", "a/file/here", "lastfile",
                                            "# not a comment: the '#' is not first",
                                            "!inverted/abs/path", "cleaned/x"));
  EXPECT_THAT(lines, ::testing::ElementsAre(2, 3, 4, 7, 8, 9, 10));
  EXPECT_TRUE(di->has_exceptions());
  EXPECT_TRUE(di->Matches("cleaned/x/y"));
}

TEST(Dockerignore, ExactErrorTexts) {
  auto bang = Dockerignore::Parse("ok\n\n! \n");
  ASSERT_FALSE(bang.ok());
  EXPECT_EQ(bang.error().message,
            ".dockerignore:3: illegal exclusion pattern \"!\" (an exception needs a pattern "
            "after '!')");
  auto bracket = Dockerignore::Parse("a\nsrc/[abc\n", "ctx/.dockerignore");
  ASSERT_FALSE(bracket.ok());
  EXPECT_EQ(bracket.error().message,
            "ctx/.dockerignore:2: bad pattern \"src/[abc\": unterminated character class");
  auto reversed = Dockerignore::Parse("[Local-Only]/\n");
  ASSERT_FALSE(reversed.ok());
  EXPECT_EQ(reversed.error().message,
            ".dockerignore:1: bad pattern \"[Local-Only]\": invalid character class range l-O");
  auto escape = Dockerignore::FromPatterns({"ok", "x\\"});
  ASSERT_FALSE(escape.ok());
  EXPECT_EQ(escape.error().message, "bad pattern \"x\\\": the pattern ends with an unescaped '\\'");
  auto negated = Dockerignore::Parse("!x[\n");
  ASSERT_FALSE(negated.ok());
  EXPECT_EQ(negated.error().message,
            ".dockerignore:1: bad pattern \"x[\": unterminated character class");
}

TEST(Dockerignore, LoadReadsTheFileAndToleratesItsAbsence) {
  auto dir = TempDir::Create("dockerignore-test-");
  ASSERT_TRUE(dir.ok()) << dir.error().message;
  auto missing = Dockerignore::Load(dir->path() + "/.dockerignore");
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_TRUE(missing->empty());
  EXPECT_FALSE(missing->Matches("anything"));

  const std::string path = dir->path() + "/.dockerignore";
  ASSERT_TRUE(WriteFile(path, "*.log\n!keep.log\n[\n").ok());
  auto bad = Dockerignore::Load(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, path + ":3: bad pattern \"[\": unterminated character class");

  ASSERT_TRUE(WriteFile(path, "*.log\n!keep.log\n").ok());
  auto good = Dockerignore::Load(path);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_TRUE(good->Matches("x.log"));
  EXPECT_FALSE(good->Matches("keep.log"));
  EXPECT_EQ(good->patterns()[1].line, 2);
}

TEST(Dockerignore, ManyStarsStayFast) {
  // Without the memo this is exponential in the number of stars.
  const Dockerignore d = Make({"**/a*a*a*a*a*a*a*a*a*a*b"});
  const std::string path = "x/" + std::string(200, 'a');
  EXPECT_FALSE(d.Matches(path));
  EXPECT_TRUE(d.Matches(path + "b"));
}

}  // namespace
}  // namespace ocibuild::dockerfile
