// Go's path/filepath.Match and filepath.Clean for slash-separated paths, as used for COPY/ADD
// source wildcards and --exclude patterns:
//   *      any run of characters other than '/'
//   ?      one character other than '/'
//   [abc] [a-z] [^a-z]   a character class (which, as in Go, may match '/')
//   \c     the character c literally
// Matching is on whole names, character (UTF-8 code point) by character.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace ocibuild::dockerfile {

// A parsed [...] bracket expression.
struct CharClass {
  bool negated = false;
  std::vector<std::pair<char32_t, char32_t>> ranges;  // inclusive
  bool Matches(char32_t r) const;
};

// Parses the bracket expression that starts at pattern[*pos] == '[' with filepath.Match's rules
// (a literal ']' or '-' must be escaped; ranges are lo-hi) and advances *pos past its ']'.
// Errors are the bare reason ("unterminated character class").
Result<CharClass> ParseCharClass(std::string_view pattern, size_t* pos);

// filepath.Match. A malformed pattern is an error even when the name already failed to match
// (Go checks the rest of the pattern too):
//   syntax error in pattern "[a-": unterminated character class
Result<bool> PathMatch(std::string_view pattern, std::string_view name);

// Whether the whole pattern is well formed; the error is the bare reason
// ("unterminated character class"), for callers that present the pattern their own way.
Status ValidatePathPattern(std::string_view pattern);

// Whether `pattern` has any of * ? [ \ (so a source path needs expanding; Go's hasMeta).
bool HasPathMeta(std::string_view pattern);

// Whether a COPY/ADD source path component has a wildcard: * ? or [ not escaped by '\'
// (fsutil's containsWildcards; unlike HasPathMeta a backslash alone is no wildcard).
bool ContainsWildcards(std::string_view name);

// Splits a COPY/ADD source at its first component with a wildcard, as BuildKit's copier does
// before walking: "src/*/x.go" -> {"src", "*/x.go"}; no wildcard -> {cleaned path, ""}. The
// pattern part is matched with PathMatch against paths relative to the fixed part (a walk
// that stops descending into matched directories); a malformed pattern matches nothing there.
struct WildcardSplit {
  std::string fixed;
  std::string pattern;
};
WildcardSplit SplitWildcards(std::string_view path);

// filepath.Clean: collapses "//", removes "." elements and "x/.." pairs, drops a trailing '/';
// "" becomes ".", "/.." becomes "/".
std::string CleanPath(std::string_view path);

}  // namespace ocibuild::dockerfile
