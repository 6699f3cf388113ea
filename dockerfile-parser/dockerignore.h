// .dockerignore: which files of the build context are left out, with Docker's semantics
// (moby/patternmatcher + its ignorefile reader):
//   - one pattern per line; a line whose first character is '#' is a comment; surrounding
//     whitespace is trimmed; blank lines are skipped; a UTF-8 BOM is ignored;
//   - patterns are cleaned like filepath.Clean and a leading '/' is dropped, so "/a/./b/" is
//     "a/b"; `!pattern` is an exception that re-includes what earlier patterns excluded;
//   - `*` and `?` do not cross '/', `[...]` is a character class, `\` escapes, `**` matches any
//     number of directories ("**/*.go", "a/**", "a/**/b");
//   - a path is excluded when the last pattern matching it, or matching one of its parent
//     directories, is not an exception ("dir" excludes "dir/x/y", "dir/" is the same as "dir").
// Docker quirks kept: a pattern starting with "**" followed by plain text only matches by
// suffix ("**foo" excludes "barfoo"); "a**b" is "a", any directories, "b" (not "axb"). Not
// kept: '*', '?' inside [...] are class members (Docker's regexp translation garbles them), and
// '^' outside brackets is a plain character (Docker's turns it into an anchor).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dockerfile-parser/path_match.h"
#include "util/result.h"

namespace ocibuild::dockerfile {

class Dockerignore {
 public:
  struct Pattern {
    std::string text;  // cleaned, without the leading '!'
    bool exception = false;
    int line = 0;  // 1-based line in the file, 0 when not from a file
  };

  Dockerignore() = default;

  // Parses the content of an ignore file; errors name `filename`, the line and the pattern:
  //   .dockerignore:3: bad pattern "[a": unterminated character class
  //   .dockerignore:4: illegal exclusion pattern "!"
  static Result<Dockerignore> Parse(std::string_view content,
                                    std::string_view filename = ".dockerignore");
  // Reads `path`; a missing file means nothing is ignored.
  static Result<Dockerignore> Load(const std::string& path);
  // From patterns already split into lines (trimmed and cleaned here as well).
  static Result<Dockerignore> FromPatterns(const std::vector<std::string>& patterns);

  // Whether `path` (relative to the context, '/'-separated) is excluded. "." (the context
  // itself) never is.
  bool Matches(std::string_view path) const;
  // Whether an exception could re-include something below directory `dir` even though `dir`
  // itself is excluded; when false a walker may skip the whole directory. Conservative: true
  // means "maybe".
  bool MayHaveExceptionsUnder(std::string_view dir) const;
  // Docker's client still sends the Dockerfile and .dockerignore when the patterns exclude
  // them (the builder needs them): adds exceptions for both if they are matched.
  void KeepBuildFiles(std::string_view dockerfile_path);

  const std::vector<Pattern>& patterns() const { return patterns_; }
  bool has_exceptions() const { return has_exceptions_; }
  bool empty() const { return patterns_.empty(); }

 private:
  // Docker compiles each pattern to one of: exact text, literal prefix ("a/**"), literal
  // suffix ("**/a") or a regular expression; kGlob is that expression as tokens.
  struct Token {
    enum Kind : uint8_t {
      kLiteral,  // rune
      kOne,      // ? : one character but '/'
      kRun,      // * : any run without '/'
      kDirs,     // ** followed by more: "" or anything ending in '/'
      kAll,      // ** at the end: anything
      kClass,    // [...] : classes[cls]
    } kind;
    char32_t rune = 0;
    uint32_t cls = 0;
  };
  struct Compiled {
    enum Kind : uint8_t { kExact, kPrefix, kSuffix, kGlob } kind = kExact;
    std::string fixed;  // the exact text, prefix or suffix
    // kGlob: the literal text its tokens start and end with, a cheap first test.
    std::string literal_head;
    std::string literal_tail;
    std::vector<Token> tokens;
    std::vector<CharClass> classes;
  };

  Status Add(std::string_view pattern, int line, std::string_view filename);
  static Result<Compiled> Compile(std::string_view pattern);
  static bool MatchOne(const Compiled& c, std::string_view path);
  static bool CanMatchBelow(const Compiled& c, std::string_view dir_slash);
  // Full match of a kGlob pattern; with `partial`, whether it could match some text that
  // starts with `text` and is longer.
  static bool Glob(const Compiled& c, std::string_view text, bool partial);

  std::vector<Pattern> patterns_;
  std::vector<Compiled> compiled_;  // parallel to patterns_
  bool has_exceptions_ = false;
};

}  // namespace ocibuild::dockerfile
