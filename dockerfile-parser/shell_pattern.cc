#include "dockerfile-parser/shell_pattern.h"

#include <cstdint>
#include <vector>

#include "dockerfile-parser/unicode.h"

namespace ocibuild::dockerfile {
namespace {

struct Token {
  enum Kind : uint8_t { kLiteral, kAnyOne, kAnyRun } kind;
  char32_t rune = 0;
};

// Code points of a string with their byte offsets, so matches can be cut out of the original
// bytes (offsets has one extra entry: the string's length).
struct Runes {
  std::vector<char32_t> runes;
  std::vector<size_t> offsets;
};

Runes Decode(std::string_view s) {
  Runes r;
  r.runes.reserve(s.size());
  r.offsets.reserve(s.size() + 1);
  for (size_t i = 0; i < s.size();) {
    size_t w;
    r.offsets.push_back(i);
    r.runes.push_back(DecodeRune(s, i, &w));
    i += w;
  }
  r.offsets.push_back(s.size());
  return r;
}

std::string RuneText(char32_t r) {
  std::string s;
  AppendRune(&s, r);
  return s;
}

Result<std::vector<Token>> Compile(const std::vector<char32_t>& pat) {
  std::vector<Token> toks;
  toks.reserve(pat.size());
  for (size_t i = 0; i < pat.size(); ++i) {
    const char32_t c = pat[i];
    if (c == '*') {
      toks.push_back({Token::kAnyRun});
    } else if (c == '?') {
      toks.push_back({Token::kAnyOne});
    } else if (c == '\\') {
      if (i + 1 < pat.size() && (pat[i + 1] == '}' || pat[i + 1] == '/')) continue;
      if (i + 1 == pat.size()) {
        return Error{"the pattern ends with an unescaped '\\' (write '\\\\' for a backslash)"};
      }
      const char32_t e = pat[++i];
      if (e != '*' && e != '?' && e != '\\') {
        return Error{"invalid escape '\\" + RuneText(e) +
                     "' (only \\*, \\?, \\\\, \\} and \\/ can be escaped)"};
      }
      toks.push_back({Token::kLiteral, e});
    } else {
      toks.push_back({Token::kLiteral, c});
    }
  }
  return toks;
}

// Mirrors a pattern for suffix matching while keeping each escape before the character it
// escapes ("a\*c" -> "c\*a"); a lone trailing backslash stays a single character.
std::vector<char32_t> ReversePattern(const std::vector<char32_t>& pat) {
  std::vector<char32_t> out(pat.size());
  const size_t n = pat.size();
  for (size_t i = 0; i < n;) {
    const size_t o = n - 1 - i;
    if (pat[i] == '\\' && i + 1 < n) {
      out[o - 1] = pat[i];
      out[o] = pat[i + 1];
      i += 2;
    } else {
      out[o] = pat[i];
      ++i;
    }
  }
  return out;
}

// Backtracking matcher that explores alternatives in the order a leftmost-first regexp engine
// prefers them (longest run first for greedy stars, shortest first otherwise), so the first
// success is exactly the match Go's regexp package reports. States proven to fail are
// remembered, which bounds the work by pattern length x text length.
class Matcher {
 public:
  Matcher(const std::vector<Token>& toks, const std::vector<char32_t>& text, bool greedy)
      : toks_(toks), text_(text), greedy_(greedy), failed_((toks.size() + 1) * (text.size() + 1)) {}

  // Match starting exactly at `start`; returns the end index or -1.
  int64_t MatchAt(size_t start) {
    size_t end;
    return Match(0, start, &end) ? static_cast<int64_t>(end) : -1;
  }

  // Leftmost match starting at or after `from`: {start, end} or {-1, -1}.
  std::pair<int64_t, int64_t> Find(size_t from) {
    for (size_t s = from; s <= text_.size(); ++s) {
      int64_t e = MatchAt(s);
      if (e >= 0) return {static_cast<int64_t>(s), e};
    }
    return {-1, -1};
  }

 private:
  bool Match(size_t ti, size_t si, size_t* end) {
    if (ti == toks_.size()) {
      *end = si;
      return true;
    }
    uint8_t& failed = failed_[ti * (text_.size() + 1) + si];
    if (failed) return false;
    const Token& t = toks_[ti];
    bool ok = false;
    switch (t.kind) {
      case Token::kLiteral:
        ok = si < text_.size() && text_[si] == t.rune && Match(ti + 1, si + 1, end);
        break;
      case Token::kAnyOne:
        ok = si < text_.size() && text_[si] != '\n' && Match(ti + 1, si + 1, end);
        break;
      case Token::kAnyRun: {
        size_t max = si;
        while (max < text_.size() && text_[max] != '\n') ++max;
        if (greedy_) {
          for (size_t k = max + 1; k-- > si && !ok;) ok = Match(ti + 1, k, end);
        } else {
          for (size_t k = si; k <= max && !ok; ++k) ok = Match(ti + 1, k, end);
        }
        break;
      }
    }
    if (!ok) failed = 1;
    return ok;
  }

  const std::vector<Token>& toks_;
  const std::vector<char32_t>& text_;
  bool greedy_;
  std::vector<uint8_t> failed_;
};

bool IsNameRune(char32_t r) {
  return IsLetterRune(r) || IsDigitRune(r) || r == '_';
}

// Go's Regexp.Expand for a pattern without capture groups: only group 0 exists.
void Expand(std::string* out, std::string_view tmpl, std::string_view match) {
  while (!tmpl.empty()) {
    const size_t dollar = tmpl.find('$');
    if (dollar == std::string_view::npos) break;
    out->append(tmpl.substr(0, dollar));
    tmpl.remove_prefix(dollar + 1);
    if (!tmpl.empty() && tmpl[0] == '$') {
      out->push_back('$');
      tmpl.remove_prefix(1);
      continue;
    }
    std::string_view rest = tmpl;
    const bool brace = !rest.empty() && rest[0] == '{';
    if (brace) rest.remove_prefix(1);
    size_t i = 0;
    while (i < rest.size()) {
      size_t w;
      if (!IsNameRune(DecodeRune(rest, i, &w))) break;
      i += w;
    }
    if (i == 0 || (brace && (i >= rest.size() || rest[i] != '}'))) {
      out->push_back('$');  // malformed reference: the `$` is literal text
      continue;
    }
    const std::string_view name = rest.substr(0, i);
    if (name == "0") out->append(match);
    tmpl = rest.substr(i + (brace ? 1 : 0));
  }
  out->append(tmpl);
}

}  // namespace

Result<std::string> TrimPatternPrefix(std::string_view pattern, std::string_view value,
                                      bool longest) {
  OCIB_ASSIGN_OR_RETURN(auto toks, Compile(Decode(pattern).runes));
  Runes text = Decode(value);
  Matcher m(toks, text.runes, longest);
  const int64_t end = m.MatchAt(0);
  if (end < 0) return std::string(value);
  return std::string(value.substr(text.offsets[end]));
}

Result<std::string> TrimPatternSuffix(std::string_view pattern, std::string_view value,
                                      bool longest) {
  // Regular expressions cannot ask for the shortest rightmost match, so (like BuildKit) both
  // pattern and text are mirrored and the problem becomes a prefix match.
  const std::vector<char32_t> pat = Decode(pattern).runes;
  auto toks = Compile(ReversePattern(pat));
  if (!toks.ok()) {
    // Report the problem in the user's orientation when the forward pattern shows it too.
    auto forward = Compile(pat);
    if (!forward.ok()) return std::move(forward).error();
    return std::move(toks).error();
  }
  Runes text = Decode(value);
  std::vector<char32_t> reversed(text.runes.rbegin(), text.runes.rend());
  Matcher m(*toks, reversed, longest);
  const int64_t end = m.MatchAt(0);
  if (end < 0) return std::string(value);
  return std::string(value.substr(0, text.offsets[text.runes.size() - end]));
}

Result<std::string> ReplacePattern(std::string_view pattern, std::string_view value,
                                   std::string_view replacement, bool all) {
  OCIB_ASSIGN_OR_RETURN(auto toks, Compile(Decode(pattern).runes));
  Runes text = Decode(value);
  Matcher m(toks, text.runes, /*greedy=*/true);
  const auto& off = text.offsets;
  std::string out;
  if (!all) {
    auto [a, b] = m.Find(0);
    if (a < 0) return std::string(value);
    out.append(value.substr(0, off[a]));
    out.append(replacement);
    out.append(value.substr(off[b]));
    return out;
  }
  // Go's ReplaceAllString: an empty match right after a previous match is not replaced again,
  // and the search always advances by at least one character.
  size_t last_end = 0;
  size_t search = 0;
  const size_t n = text.runes.size();
  while (search <= n) {
    auto [a, b] = m.Find(search);
    if (a < 0) break;
    out.append(value.substr(off[last_end], off[a] - off[last_end]));
    if (static_cast<size_t>(b) > last_end || a == 0) {
      Expand(&out, replacement, value.substr(off[a], off[b] - off[a]));
    }
    last_end = static_cast<size_t>(b);
    search = (search + 1 > static_cast<size_t>(b)) ? search + 1 : static_cast<size_t>(b);
  }
  out.append(value.substr(off[last_end]));
  return out;
}

}  // namespace ocibuild::dockerfile
