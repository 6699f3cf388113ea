// The Dockerfile syntax layer: logical lines (continuations, comments, parser directives),
// the per-instruction argument shapes (exec/JSON vs shell form, KEY=VALUE lists, whitespace
// lists) and heredoc bodies, with the same tree BuildKit's frontend builds (dockerfile 1.x).
// No semantics here: flags are kept as written and validated per instruction later.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ocibuild::dockerfile {

struct Heredoc {
  std::string name;     // the terminator, quotes removed
  unsigned fd = 0;      // the N in N<<EOF (0 when absent)
  bool expand = true;   // false when the delimiter was quoted
  bool chomp = false;   // <<- : leading tabs are stripped from the body
  std::string content;  // body lines including their newlines, terminator excluded
};

struct Node {
  std::string value;               // the instruction word as written ("RUN", "copy")
  std::vector<std::string> flags;  // leading --flags, quotes already removed
  std::vector<std::string> args;   // arguments per the instruction's shape
  std::vector<Node> children;      // ONBUILD: the trigger instruction
  bool json = false;               // exec form (valid JSON string array)
  std::vector<Heredoc> heredocs;
  std::string original;  // the logical line after joining continuations
  int start_line = 0;    // 1-based physical lines covered (heredoc bodies included)
  int end_line = 0;

  std::string Keyword() const;  // lower-case instruction
};

struct Directive {
  std::string name;  // "syntax", "escape" or "check"
  std::string value;
  int line = 0;
};

struct ParseWarning {
  int line = 0;
  std::string message;
};

// Where an error points: 1-based line and column (column 0 = whole line).
struct SourcePos {
  int line = 0;
  int col = 0;
};

struct ParsedDockerfile {
  std::string filename;                        // for messages ("Dockerfile")
  std::shared_ptr<const std::string> source;   // the text, shared by copies of this value
  std::vector<std::string_view> source_lines;  // physical lines (into `source`), no newlines
  std::vector<Directive> directives;
  char escape = '\\';
  std::vector<Node> nodes;
  std::vector<ParseWarning> warnings;

  // Renders "FILE:LINE:COL: message" plus the source line and a caret (see error_format.h).
  Error ErrorAt(SourcePos pos, const std::string& message) const;
  // Best position for `needle` inside the node's physical lines (first non-blank if absent).
  SourcePos Find(const Node& node, std::string_view needle) const;
  // Position of `needle` on physical line `line` (its first non-blank column if absent).
  SourcePos FindOnLine(int line, std::string_view needle) const;
  SourcePos Start(const Node& node) const;
  const Directive* FindDirective(std::string_view name) const;
};

// Parses a whole Dockerfile. Errors carry the rendered location (ParsedDockerfile::ErrorAt).
Result<ParsedDockerfile> ParseDockerfile(std::string_view text,
                                         const std::string& filename = "Dockerfile");

// Recognises one heredoc word ("<<EOF", "<<-'EOF'", "3<<EOF"); nullopt-like empty name when the
// word is not a heredoc. Returns an error only for malformed quoting inside the delimiter.
Result<Heredoc> ParseHeredocWord(std::string_view word);
bool IsHeredocWord(std::string_view word);
// Removes leading tabs from every line (the <<- form).
std::string ChompHeredocContent(std::string_view content);

// Go's unicode.IsSpace for the UTF-8 sequence starting at s[i]; returns its byte length or 0.
size_t UnicodeSpaceAt(std::string_view s, size_t i);
std::string_view TrimUnicodeSpace(std::string_view s);

}  // namespace ocibuild::dockerfile
