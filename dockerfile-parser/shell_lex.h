// Word expansion with the semantics of BuildKit's shell lexer (frontend/dockerfile/shell):
// $VAR, ${VAR}, ${VAR:-w} ${VAR-w} ${VAR:+w} ${VAR+w} ${VAR:?msg} ${VAR?msg}, ${VAR#p} ${VAR##p}
// ${VAR%p} ${VAR%%p}, ${VAR/p/r} ${VAR//p/r}, single and double quotes, the escape character
// (backslash or backtick per the `# escape=` directive). No command substitution, no globbing.
//
// Details that follow BuildKit rather than POSIX sh: positional ($1, ${10}) and special
// ($@ $* $# $? $- $$ $! $0) parameters are ordinary, normally unset, variables; a digit run is
// one name ($999aaa is ${999}aaa); `$` not followed by a name is literal; an escape character at
// the very end of the word is dropped; inside double quotes the escape character only escapes
// `"`, `$` and itself.
//
// Error texts, after `failed to process "<word, Go-quoted>": `; "${..." is the source text of
// the substitution up to where the problem was found:
//   unexpected end of statement while looking for matching single-quote
//   unexpected end of statement while looking for matching double-quote
//   syntax error: missing '}' in "${NAME:-abc"
//   syntax error: bad substitution "${}": expected a variable name after "${"
//   syntax error: unsupported modifier ":=" in "${NAME:=x}" (supported: :- - :+ + :? ? # ## ...)
//   syntax error: missing '/' in "${NAME/abc" (expected ${NAME/pattern/replacement})
//   NAME: is not allowed to be unset | NAME: is not allowed to be empty | NAME: <message>
//   invalid pattern "a\x" in "${NAME#a\x}": invalid escape '\x' (only \*, \?, ... escaped)
//
// One deliberate difference: BuildKit's ProcessWords loses the part of a word before a
// ${VAR<op>...} substitution (it shares one buffer with the nested scan: "80${P:-80}" gives
// "80"); here it gives "8080".
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/result.h"

namespace ocibuild::dockerfile {

// An ordered environment ("K=V" semantics, later entries win). Lookup is case-sensitive
// (Linux semantics).
class Env {
 public:
  Env() = default;
  Env(std::initializer_list<std::pair<std::string, std::string>> kv) {
    for (auto& [k, v] : kv) Set(k, v);
  }
  void Set(std::string key, std::string value);
  void Unset(std::string_view key);
  std::optional<std::string> Get(std::string_view key) const;
  // Like Get without copying the value; nullptr when unset. Invalidated by Set/Unset.
  const std::string* Find(std::string_view key) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Expansion {
  std::string word;
  std::set<std::string> used;       // variable names referenced and found in the env
  std::set<std::string> unmatched;  // variable names referenced but not set (for lint warnings)
};

class ShellLex {
 public:
  // BuildKit's Lex switches; the defaults are what instructions use. The parser needs the others
  // to recognise heredoc words (`<<"EOF"` must be told apart from `<<EOF`).
  struct Options {
    bool raw_quotes = false;           // keep quote characters in the result
    bool raw_escapes = false;          // keep escape characters in the result
    bool skip_process_quotes = false;  // quotes are ordinary characters
    bool skip_unset_env = false;       // leave references to unset variables as written
  };

  explicit ShellLex(char escape = '\\') : escape_(escape) {}
  ShellLex(char escape, Options options) : escape_(escape), options_(options) {}

  // Expands one word: quotes are removed, no field splitting.
  Result<std::string> ProcessWord(std::string_view word, const Env& env) const;
  // Same, also reporting which variables were used (for "unused build-arg" warnings).
  Result<Expansion> ProcessWordWithMatches(std::string_view word, const Env& env) const;
  // Expands and splits into words on unquoted whitespace (as ENV/LABEL/EXPOSE etc. need).
  // Whitespace coming from a variable's value splits too; quoted or escaped whitespace does
  // not. An empty quoted string alone produces no word (as in BuildKit).
  Result<std::vector<std::string>> ProcessWords(std::string_view word, const Env& env) const;

  char escape() const { return escape_; }
  const Options& options() const { return options_; }

 private:
  char escape_;
  Options options_;
};

}  // namespace ocibuild::dockerfile
