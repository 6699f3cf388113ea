// Word expansion with the semantics of BuildKit's shell lexer (frontend/dockerfile/shell):
// $VAR, ${VAR}, ${VAR:-w} ${VAR-w} ${VAR:+w} ${VAR+w} ${VAR:?msg} ${VAR?msg}, ${VAR#p} ${VAR##p}
// ${VAR%p} ${VAR%%p}, ${VAR/p/r} ${VAR//p/r}, single and double quotes, the escape character
// (backslash or backtick per the `# escape=` directive). No command substitution, no globbing.
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
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

struct Expansion {
  std::string word;
  std::set<std::string> used;  // variable names referenced and found in the env
};

class ShellLex {
 public:
  explicit ShellLex(char escape = '\\') : escape_(escape) {}

  // Expands one word: quotes are removed, no field splitting.
  Result<std::string> ProcessWord(std::string_view word, const Env& env) const;
  // Same, also reporting which variables were used (for "unused build-arg" warnings).
  Result<Expansion> ProcessWordWithMatches(std::string_view word, const Env& env) const;
  // Expands and splits into words on unquoted whitespace (as ENV/LABEL/EXPOSE etc. need).
  Result<std::vector<std::string>> ProcessWords(std::string_view word, const Env& env) const;

  char escape() const { return escape_; }

 private:
  char escape_;
};

}  // namespace ocibuild::dockerfile
