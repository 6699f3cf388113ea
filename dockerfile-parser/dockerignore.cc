#include "dockerfile-parser/dockerignore.h"

#include <cerrno>

#include "dockerfile-parser/unicode.h"
#include "util/fs.h"

namespace ocibuild::dockerfile {
namespace {

std::string_view TrimBlanks(std::string_view s) {
  auto blank = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
  };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

// ignorefile.ReadAll's normalisation of one line (already known not to be a comment).
std::string NormalizeLine(std::string_view line) {
  std::string_view p = TrimBlanks(line);
  if (p.empty()) return "";
  const bool invert = p[0] == '!';
  if (invert) p = TrimBlanks(p.substr(1));
  std::string out;
  if (!p.empty()) {
    out = CleanPath(p);
    if (out.size() > 1 && out[0] == '/') out.erase(0, 1);
  }
  return invert ? "!" + out : out;
}

std::string LineRef(std::string_view filename, int line) {
  if (filename.empty()) return "";
  return std::string(filename) + (line > 0 ? ":" + std::to_string(line) : "") + ": ";
}

// A context-relative path in the form patterns are matched against.
std::string NormalizePath(std::string_view path) {
  std::string p = CleanPath(path);
  if (!p.empty() && p[0] == '/') p.erase(0, 1);
  if (p.empty()) p = ".";
  return p;
}

}  // namespace

Result<Dockerignore> Dockerignore::Parse(std::string_view content, std::string_view filename) {
  Dockerignore di;
  if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  int lineno = 0;
  while (!content.empty()) {
    const size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content = nl == std::string_view::npos ? std::string_view() : content.substr(nl + 1);
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty() && line[0] == '#') continue;
    const std::string p = NormalizeLine(line);
    if (p.empty()) continue;
    OCIB_TRY(di.Add(p, lineno, filename));
  }
  return di;
}

Result<Dockerignore> Dockerignore::Load(const std::string& path) {
  auto content = ReadFile(path);
  if (!content.ok()) {
    if (content.error().sys_errno == ENOENT) return Dockerignore();
    return std::move(content).error();
  }
  return Parse(*content, path);
}

Result<Dockerignore> Dockerignore::FromPatterns(const std::vector<std::string>& patterns) {
  Dockerignore di;
  for (const std::string& raw : patterns) {
    const std::string p = NormalizeLine(raw);
    if (p.empty()) continue;
    OCIB_TRY(di.Add(p, 0, ""));
  }
  return di;
}

Status Dockerignore::Add(std::string_view pattern, int line, std::string_view filename) {
  Pattern p;
  p.line = line;
  if (pattern[0] == '!') {
    if (pattern.size() == 1) {
      return Error{LineRef(filename, line) + "illegal exclusion pattern \"!\" (an exception " +
                   "needs a pattern after '!')"};
    }
    p.exception = true;
    pattern.remove_prefix(1);
  }
  p.text = std::string(pattern);
  auto compiled = Compile(p.text);
  if (!compiled.ok()) {
    return Error{LineRef(filename, line) + "bad pattern \"" + std::string(pattern) +
                 "\": " + compiled.error().message};
  }
  has_exceptions_ = has_exceptions_ || p.exception;
  patterns_.push_back(std::move(p));
  compiled_.push_back(std::move(compiled).value());
  return Ok();
}

// Follows patternmatcher's compile: it decides between exact, prefix, suffix and regexp forms
// as it scans, so the same classification (and its suffix quirk) falls out here.
Result<Dockerignore::Compiled> Dockerignore::Compile(std::string_view pattern) {
  OCIB_TRY(ValidatePathPattern(pattern));
  Compiled c;
  const size_t n = pattern.size();
  size_t pos = 0;
  for (int i = 0; pos < n; ++i) {
    size_t w;
    const char32_t ch = DecodeRune(pattern, pos, &w);
    pos += w;
    if (ch == '*') {
      if (pos < n && pattern[pos] == '*') {
        ++pos;
        if (pos < n && pattern[pos] == '/') ++pos;  // "**/" is the same as "**"
        if (pos == n) {
          if (c.kind == Compiled::kExact) {
            c.kind = Compiled::kPrefix;
          } else {
            c.tokens.push_back({Token::kAll});
            c.kind = Compiled::kGlob;
          }
        } else {
          c.tokens.push_back({Token::kDirs});
          c.kind = Compiled::kGlob;
        }
        if (i == 0) c.kind = Compiled::kSuffix;
      } else {
        c.tokens.push_back({Token::kRun});
        c.kind = Compiled::kGlob;
      }
    } else if (ch == '?') {
      c.tokens.push_back({Token::kOne});
      c.kind = Compiled::kGlob;
    } else if (ch == '\\') {
      if (pos < n) {
        const char32_t e = DecodeRune(pattern, pos, &w);
        pos += w;
        c.tokens.push_back({Token::kLiteral, e});
        c.kind = Compiled::kGlob;
      } else {
        c.tokens.push_back({Token::kLiteral, '\\'});
      }
    } else if (ch == '[') {
      size_t at = pos - 1;
      OCIB_ASSIGN_OR_RETURN(CharClass cls, ParseCharClass(pattern, &at));
      for (const auto& [lo, hi] : cls.ranges) {
        if (lo > hi) {
          std::string range;
          AppendRune(&range, lo);
          range += '-';
          AppendRune(&range, hi);
          return Error{"invalid character class range " + range};
        }
      }
      pos = at;
      c.tokens.push_back({Token::kClass, 0, static_cast<uint32_t>(c.classes.size())});
      c.classes.push_back(std::move(cls));
      c.kind = Compiled::kGlob;
    } else {
      c.tokens.push_back({Token::kLiteral, ch});
      if (ch == ']') c.kind = Compiled::kGlob;
    }
  }
  switch (c.kind) {
    case Compiled::kExact:
      c.fixed = std::string(pattern);
      break;
    case Compiled::kPrefix:
      c.fixed = std::string(pattern.substr(0, n - 2));
      break;
    case Compiled::kSuffix:
      c.fixed = std::string(pattern.substr(2));
      break;
    case Compiled::kGlob: {
      size_t head = 0;
      while (head < c.tokens.size() && c.tokens[head].kind == Token::kLiteral) {
        AppendRune(&c.literal_head, c.tokens[head++].rune);
      }
      size_t tail = c.tokens.size();
      while (tail > head && c.tokens[tail - 1].kind == Token::kLiteral) --tail;
      for (size_t t = tail; t < c.tokens.size(); ++t) AppendRune(&c.literal_tail, c.tokens[t].rune);
      break;
    }
  }
  return c;
}

bool Dockerignore::Glob(const Compiled& c, std::string_view text, bool partial) {
  // Backtracking over the tokens with a memo of failed (token, byte offset) states, which keeps
  // patterns with several stars linear in the path length.
  struct Run {
    const Compiled& c;
    std::string_view text;
    bool partial;
    std::vector<uint8_t> failed;

    // Docker's `.` (in "**") does not match a newline; `[^/]` (for * and ?) does.
    bool NoNewline(size_t from, size_t to) const {
      return text.substr(from, to - from).find('\n') == std::string_view::npos;
    }

    bool M(size_t ti, size_t si) {
      const size_t n = text.size();
      const size_t nt = c.tokens.size();
      if (partial) {
        if (si == n) return ti < nt;
        if (ti == nt) return false;
      } else if (ti == nt) {
        return si == n;
      }
      uint8_t* memo = failed.empty() ? nullptr : &failed[ti * (n + 1) + si];
      if (memo && *memo) return false;
      const bool ok = Step(ti, si);
      if (!ok && memo) *memo = 1;
      return ok;
    }

    bool Step(size_t ti, size_t si) {
      const Token& t = c.tokens[ti];
      const size_t n = text.size();
      switch (t.kind) {
        case Token::kLiteral:
        case Token::kOne:
        case Token::kClass: {
          if (si >= n) return false;
          size_t w;
          const char32_t r = DecodeRune(text, si, &w);
          const bool hit = t.kind == Token::kLiteral ? r == t.rune
                           : t.kind == Token::kOne   ? r != '/'
                                                     : c.classes[t.cls].Matches(r);
          return hit && M(ti + 1, si + w);
        }
        case Token::kRun: {
          const size_t slash = text.find('/', si);
          const size_t max = slash == std::string_view::npos ? n : slash;
          if (partial && max == n) return true;  // the run can go on past the text
          for (size_t k = si; k <= max; ++k) {
            if (M(ti + 1, k)) return true;
          }
          return false;
        }
        case Token::kDirs:
          if (M(ti + 1, si)) return true;
          for (size_t k = si; k < n && text[k] != '\n'; ++k) {
            if (text[k] == '/' && M(ti + 1, k + 1)) return true;
          }
          // In partial mode the run may also extend past the end of the text.
          return partial && NoNewline(si, n);
        case Token::kAll:
          return NoNewline(si, n) && (partial || M(ti + 1, n));
      }
      return false;
    }
  };
  Run run{c, text, partial, {}};
  size_t variable = 0;
  for (const Token& t : c.tokens) variable += t.kind == Token::kRun || t.kind == Token::kDirs;
  if (variable > 1) run.failed.assign((c.tokens.size() + 1) * (text.size() + 1), 0);
  return run.M(0, 0);
}

bool Dockerignore::MatchOne(const Compiled& c, std::string_view path) {
  switch (c.kind) {
    case Compiled::kExact:
      return path == c.fixed;
    case Compiled::kPrefix:
      return path.substr(0, c.fixed.size()) == c.fixed;
    case Compiled::kSuffix:
      if (path.size() >= c.fixed.size() && path.substr(path.size() - c.fixed.size()) == c.fixed) {
        return true;
      }
      // "**/foo" also matches "foo" itself.
      return !c.fixed.empty() && c.fixed[0] == '/' && path == std::string_view(c.fixed).substr(1);
    case Compiled::kGlob:
      if (!path.starts_with(c.literal_head) || !path.ends_with(c.literal_tail)) return false;
      return Glob(c, path, false);
  }
  return false;
}

bool Dockerignore::CanMatchBelow(const Compiled& c, std::string_view dir_slash) {
  switch (c.kind) {
    case Compiled::kExact:
      return c.fixed.size() > dir_slash.size() && c.fixed.starts_with(dir_slash);
    case Compiled::kPrefix:
      return c.fixed.starts_with(dir_slash) || dir_slash.starts_with(c.fixed);
    case Compiled::kSuffix:
      return true;  // "dir/" + anything + suffix
    case Compiled::kGlob:
      return Glob(c, dir_slash, true);
  }
  return true;
}

bool Dockerignore::Matches(std::string_view path) const {
  const std::string p = NormalizePath(path);
  if (p == ".") return false;  // the context root itself is never excluded
  bool matched = false;
  for (size_t k = 0; k < patterns_.size(); ++k) {
    // Last match wins, so only a pattern that could flip the current answer needs checking.
    if (patterns_[k].exception != matched) continue;
    const Compiled& c = compiled_[k];
    bool m = MatchOne(c, p);
    // A pattern matching a parent directory matches everything below it.
    for (size_t slash = p.find('/'); !m && slash != std::string::npos;
         slash = p.find('/', slash + 1)) {
      m = MatchOne(c, std::string_view(p).substr(0, slash));
    }
    if (m) matched = !patterns_[k].exception;
  }
  return matched;
}

bool Dockerignore::MayHaveExceptionsUnder(std::string_view dir) const {
  if (!has_exceptions_) return false;
  const std::string d = NormalizePath(dir);
  if (d == ".") return true;
  const std::string dir_slash = d + "/";
  for (size_t k = 0; k < patterns_.size(); ++k) {
    if (patterns_[k].exception && CanMatchBelow(compiled_[k], dir_slash)) return true;
  }
  return false;
}

void Dockerignore::KeepBuildFiles(std::string_view dockerfile_path) {
  for (const std::string_view f : {std::string_view(".dockerignore"), dockerfile_path}) {
    const std::string p = NormalizePath(f);
    if (p == "." || !Matches(p)) continue;
    // Like Docker, the path is added as a pattern as it is; if it is not a valid pattern
    // there is nothing to add.
    (void)Add("!" + p, 0, "");
  }
}

}  // namespace ocibuild::dockerfile
