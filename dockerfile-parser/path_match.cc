#include "dockerfile-parser/path_match.h"

#include "dockerfile-parser/unicode.h"

namespace ocibuild::dockerfile {
namespace {

// One class member character (possibly escaped) as filepath.Match's getEsc reads it; a class
// member must always be followed by more pattern (at least the closing ']').
Result<char32_t> ReadClassChar(std::string_view p, size_t* pos, bool range_end) {
  if (*pos >= p.size()) return Error{"unterminated character class"};
  if (p[*pos] == '-') {
    return Error{"unescaped '-' in character class (write \\- for a literal '-')"};
  }
  if (p[*pos] == ']') {
    return Error{range_end ? "incomplete range in character class"
                           : "empty character class (write \\] for a literal ']')"};
  }
  if (p[*pos] == '\\') {
    ++*pos;
    if (*pos >= p.size()) return Error{"unterminated character class"};
  }
  size_t w;
  const char32_t r = DecodeRune(p, *pos, &w);
  if (r == kRuneError && w == 1) return Error{"invalid UTF-8 in character class"};
  *pos += w;
  if (*pos >= p.size()) return Error{"unterminated character class"};
  return r;
}

// filepath's scanChunk: an optional run of stars, then everything up to the next star outside
// brackets.
struct Chunk {
  bool star = false;
  std::string_view text;
};

Chunk ScanChunk(std::string_view* pattern) {
  Chunk c;
  std::string_view p = *pattern;
  while (!p.empty() && p[0] == '*') {
    p.remove_prefix(1);
    c.star = true;
  }
  bool in_range = false;
  size_t i = 0;
  for (; i < p.size(); ++i) {
    const char ch = p[i];
    if (ch == '\\') {
      if (i + 1 < p.size()) ++i;
    } else if (ch == '[') {
      in_range = true;
    } else if (ch == ']') {
      in_range = false;
    } else if (ch == '*' && !in_range) {
      break;
    }
  }
  c.text = p.substr(0, i);
  *pattern = p.substr(i);
  return c;
}

struct ChunkMatch {
  bool ok = false;
  std::string_view rest;
};

// filepath's matchChunk: matches `chunk` (no stars) at the start of `s`. After a mismatch it
// keeps parsing so that syntax errors are still found.
Result<ChunkMatch> MatchChunk(std::string_view chunk, std::string_view s) {
  bool failed = false;
  size_t i = 0;
  while (i < chunk.size()) {
    if (!failed && s.empty()) failed = true;
    const char c = chunk[i];
    if (c == '[') {
      char32_t r = 0;
      if (!failed) {
        size_t w;
        r = DecodeRune(s, 0, &w);
        s.remove_prefix(w);
      }
      OCIB_ASSIGN_OR_RETURN(CharClass cls, ParseCharClass(chunk, &i));
      if (cls.Matches(r) == false) failed = true;
    } else if (c == '?') {
      if (!failed) {
        if (s[0] == '/') failed = true;
        size_t w;
        DecodeRune(s, 0, &w);
        s.remove_prefix(w);
      }
      ++i;
    } else {
      if (c == '\\') {
        ++i;
        if (i >= chunk.size()) return Error{"the pattern ends with an unescaped '\\'"};
      }
      if (!failed) {
        if (chunk[i] != s[0]) failed = true;
        s.remove_prefix(1);
      }
      ++i;
    }
  }
  if (failed) return ChunkMatch{};
  return ChunkMatch{true, s};
}

Error BadPattern(std::string_view pattern, const Error& why) {
  return Error{"syntax error in pattern \"" + std::string(pattern) + "\": " + why.message};
}

}  // namespace

bool CharClass::Matches(char32_t r) const {
  bool in = false;
  for (const auto& [lo, hi] : ranges) {
    if (lo <= r && r <= hi) {
      in = true;
      break;
    }
  }
  return in != negated;
}

Result<CharClass> ParseCharClass(std::string_view p, size_t* pos) {
  CharClass cls;
  size_t i = *pos + 1;  // past '['
  if (i < p.size() && p[i] == '^') {
    cls.negated = true;
    ++i;
  }
  for (;;) {
    if (i < p.size() && p[i] == ']' && !cls.ranges.empty()) {
      ++i;
      break;
    }
    OCIB_ASSIGN_OR_RETURN(char32_t lo, ReadClassChar(p, &i, false));
    char32_t hi = lo;
    if (p[i] == '-') {
      ++i;
      OCIB_ASSIGN_OR_RETURN(hi, ReadClassChar(p, &i, true));
    }
    cls.ranges.emplace_back(lo, hi);
  }
  *pos = i;
  return cls;
}

Result<bool> PathMatch(std::string_view pattern, std::string_view name) {
  const std::string_view full = pattern;
  while (!pattern.empty()) {
    const Chunk chunk = ScanChunk(&pattern);
    if (chunk.star && chunk.text.empty()) {
      // A trailing star matches the rest unless that crosses a directory.
      return name.find('/') == std::string_view::npos;
    }
    auto m = MatchChunk(chunk.text, name);
    // The last chunk must use up the name; otherwise a star may still find a later match.
    if (m.ok() && m->ok && (m->rest.empty() || !pattern.empty())) {
      name = m->rest;
      continue;
    }
    if (!m.ok()) return BadPattern(full, m.error());
    bool advanced = false;
    if (chunk.star) {
      // Let the star swallow one more byte at a time, never a '/'.
      for (size_t i = 0; i < name.size() && name[i] != '/'; ++i) {
        auto mm = MatchChunk(chunk.text, name.substr(i + 1));
        if (!mm.ok()) return BadPattern(full, mm.error());
        if (mm->ok) {
          if (pattern.empty() && !mm->rest.empty()) continue;
          name = mm->rest;
          advanced = true;
          break;
        }
      }
    }
    if (advanced) continue;
    // No match; the rest of the pattern must still be well formed.
    while (!pattern.empty()) {
      const Chunk rest = ScanChunk(&pattern);
      auto v = MatchChunk(rest.text, "");
      if (!v.ok()) return BadPattern(full, v.error());
    }
    return false;
  }
  return name.empty();
}

Status ValidatePathPattern(std::string_view pattern) {
  while (!pattern.empty()) {
    const Chunk chunk = ScanChunk(&pattern);
    auto v = MatchChunk(chunk.text, "");
    if (!v.ok()) return std::move(v).error();
  }
  return Ok();
}

bool HasPathMeta(std::string_view pattern) {
  return pattern.find_first_of("*?[\\") != std::string_view::npos;
}

bool ContainsWildcards(std::string_view name) {
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (c == '\\') {
      ++i;
    } else if (c == '*' || c == '?' || c == '[') {
      return true;
    }
  }
  return false;
}

namespace {

// filepath.Join: the non-empty elements joined by '/', cleaned; "" when all are empty.
std::string JoinClean(const std::vector<std::string_view>& parts) {
  std::string joined;
  for (std::string_view p : parts) {
    if (p.empty()) continue;
    if (!joined.empty()) joined += '/';
    joined.append(p);
  }
  return joined.empty() ? "" : CleanPath(joined);
}

}  // namespace

WildcardSplit SplitWildcards(std::string_view path) {
  const std::string cleaned = CleanPath(path);
  std::vector<std::string_view> fixed, pattern;
  bool found = false;
  size_t start = 0;
  for (;;) {
    const size_t slash = cleaned.find('/', start);
    std::string_view part = std::string_view(cleaned).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!found && ContainsWildcards(part)) found = true;
    if (part.empty()) part = "/";
    (found ? pattern : fixed).push_back(part);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return {JoinClean(fixed), JoinClean(pattern)};
}

std::string CleanPath(std::string_view path) {
  if (path.empty()) return ".";
  const bool rooted = path[0] == '/';
  std::string out;
  out.reserve(path.size());
  if (rooted) out.push_back('/');
  // `dotdot` is where out can no longer be backtracked ("../.." prefixes of relative paths).
  size_t dotdot = out.size();
  size_t i = rooted ? 1 : 0;
  const size_t n = path.size();
  while (i < n) {
    if (path[i] == '/') {
      ++i;
    } else if (path[i] == '.' && (i + 1 == n || path[i + 1] == '/')) {
      ++i;
    } else if (path[i] == '.' && path[i + 1] == '.' && (i + 2 == n || path[i + 2] == '/')) {
      i += 2;
      if (out.size() > dotdot) {
        size_t w = out.size() - 1;
        while (w > dotdot && out[w] != '/') --w;
        out.resize(w);
      } else if (!rooted) {
        if (!out.empty()) out.push_back('/');
        out += "..";
        dotdot = out.size();
      }
    } else {
      if ((rooted && out.size() != 1) || (!rooted && !out.empty())) out.push_back('/');
      while (i < n && path[i] != '/') out.push_back(path[i++]);
    }
  }
  if (out.empty()) return ".";
  return out;
}

}  // namespace ocibuild::dockerfile
