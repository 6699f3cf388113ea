#include "dockerfile-parser/shell_lex.h"

#include "dockerfile-parser/ast_dump.h"

#include <cstdio>

#include "dockerfile-parser/shell_pattern.h"
#include "dockerfile-parser/unicode.h"

namespace ocibuild::dockerfile {

void Env::Set(std::string key, std::string value) {
  for (auto& kv : items_) {
    if (kv.first == key) {
      kv.second = std::move(value);
      return;
    }
  }
  items_.emplace_back(std::move(key), std::move(value));
}

void Env::Unset(std::string_view key) {
  std::erase_if(items_, [&](const auto& kv) { return kv.first == key; });
}

const std::string* Env::Find(std::string_view key) const {
  for (const auto& kv : items_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

std::optional<std::string> Env::Get(std::string_view key) const {
  if (const std::string* v = Find(key)) return *v;
  return std::nullopt;
}

namespace {

constexpr char32_t kEOF = 0xFFFFFFFF;

// Quotes like Go's strconv.Quote (%q), which is how BuildKit shows the offending word.
std::string Quote(std::string_view s) { return GoQuote(s); }

// Inner parts of messages are shown as written: the whole word is already shown Go-quoted.
std::string Plain(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

// Reads code points like Go's text/scanner as BuildKit uses it: a byte order mark at the very
// start is skipped and invalid UTF-8 reads as U+FFFD.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;
  }
  char32_t Peek() const {
    if (pos_ >= s_.size()) return kEOF;
    const auto c = static_cast<unsigned char>(s_[pos_]);
    if (c < 0x80) return c;
    size_t w;
    return DecodeRune(s_, pos_, &w);
  }
  char32_t Next() {
    if (pos_ >= s_.size()) return kEOF;
    const auto c = static_cast<unsigned char>(s_[pos_]);
    if (c < 0x80) {
      ++pos_;
      return c;
    }
    size_t w;
    const char32_t r = DecodeRune(s_, pos_, &w);
    pos_ += w;
    return r;
  }
  size_t pos() const { return pos_; }
  std::string_view source() const { return s_; }
  // Consumes the longest run of ASCII bytes for which `plain` holds.
  template <typename Pred>
  std::string_view TakeAsciiRun(Pred plain) {
    const size_t start = pos_;
    while (pos_ < s_.size() && static_cast<unsigned char>(s_[pos_]) < 0x80 && plain(s_[pos_])) {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

// Word splitting state, as BuildKit's wordsStruct: whitespace ends a word only when it is
// "cooked" (from plain text or a variable's value); quoted text and escaped characters are
// added raw and mark that a word has started.
class Words {
 public:
  void AddChar(char32_t r) {
    if (IsSpaceRune(r)) {
      if (in_word_ && !buf_.empty()) {
        words_.push_back(std::move(buf_));
        buf_.clear();
        in_word_ = false;
      }
    } else {
      AddRawChar(r);
    }
  }
  // AddChar for each character of an ASCII run, a piece at a time.
  void AddAscii(std::string_view run) {
    auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r'); };
    size_t i = 0;
    while (i < run.size()) {
      if (space(run[i])) {
        AddChar(static_cast<unsigned char>(run[i]));
        ++i;
        continue;
      }
      size_t j = i;
      while (j < run.size() && !space(run[j])) ++j;
      buf_.append(run.substr(i, j - i));
      in_word_ = true;
      i = j;
    }
  }
  void AddRawChar(char32_t r) {
    AppendRune(&buf_, r);
    in_word_ = true;
  }
  void AddString(std::string_view s) {
    for (size_t i = 0; i < s.size();) {
      size_t w;
      AddChar(DecodeRune(s, i, &w));
      i += w;
    }
  }
  void AddRawString(std::string_view s) {
    buf_.append(s);
    in_word_ = true;
  }
  std::vector<std::string> Finish() && {
    if (!buf_.empty()) words_.push_back(std::move(buf_));
    return std::move(words_);
  }

 private:
  std::vector<std::string> words_;
  std::string buf_;
  bool in_word_ = false;
};

bool IsSpecialParam(char32_t r) {
  switch (r) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

bool IsHeredocSpace(char32_t r) {
  return r == '\t' || r == '\r' || r == ' ';
}

// One expansion run over one word.
class Expander {
 public:
  Expander(char32_t escape, const ShellLex::Options& opts, const Env& env, std::string_view word,
           Expansion* capture)
      : escape_(escape),
        opts_(opts),
        env_(env),
        sc_(word),
        capture_(capture),
        raw_escapes_(opts.raw_escapes) {}

  Status Run(std::string* result, Words* words) {
    Status st = ProcessStopOn(kEOF, raw_escapes_, result, words);
    if (!st.ok())
      return Error{"failed to process " + Quote(sc_.source()) + ": " + st.error().message};
    return Ok();
  }

 private:
  // Processes until `stop` (consumed) or the end. `words` is null in nested contexts, whose
  // splitting does not matter.
  Status ProcessStopOn(char32_t stop, bool raw_escapes, std::string* result, Words* words) {
    const bool saved_raw = raw_escapes_;
    raw_escapes_ = raw_escapes;
    Status st = ProcessStopOnInner(stop, result, words);
    raw_escapes_ = saved_raw;
    return st;
  }

  Status ProcessStopOnInner(char32_t stop, std::string* result, Words* words) {
    // Runs of ordinary ASCII characters are copied in one go: most words are mostly those.
    auto plain = [&](char c) {
      const auto r = static_cast<char32_t>(static_cast<unsigned char>(c));
      return c != '$' && c != '<' && r != escape_ && r != stop &&
             (opts_.skip_process_quotes || (c != '\'' && c != '"'));
    };
    for (char32_t ch = sc_.Peek(); ch != kEOF; ch = sc_.Peek()) {
      if (ch < 0x80 && plain(static_cast<char>(ch))) {
        const std::string_view run = sc_.TakeAsciiRun(plain);
        result->append(run);
        if (words) words->AddAscii(run);
        continue;
      }
      if (stop != kEOF && ch == stop) {
        sc_.Next();
        return Ok();
      }
      const size_t before = result->size();
      if (ch == '$') {
        OCIB_TRY(ProcessDollar(result));
        if (words) words->AddString(std::string_view(*result).substr(before));
        continue;
      }
      if (ch == '<') {
        ProcessPossibleHeredoc(result);
        if (words) words->AddRawString(std::string_view(*result).substr(before));
        continue;
      }
      if (!opts_.skip_process_quotes && (ch == '\'' || ch == '"')) {
        OCIB_TRY(ch == '\'' ? ProcessSingleQuote(result) : ProcessDoubleQuote(result));
        if (words) words->AddRawString(std::string_view(*result).substr(before));
        continue;
      }
      ch = sc_.Next();
      if (ch == escape_) {
        if (raw_escapes_) {
          if (words) words->AddRawChar(ch);
          AppendRune(result, ch);
        }
        // The escape character escapes anything, and at the end of the word it vanishes.
        ch = sc_.Next();
        if (ch == kEOF) break;
        if (words) words->AddRawChar(ch);
      } else if (words) {
        words->AddChar(ch);
      }
      AppendRune(result, ch);
    }
    if (stop != kEOF) {
      std::string msg = "unexpected end of statement while looking for matching ";
      AppendRune(&msg, stop);
      return Error{std::move(msg)};
    }
    return Ok();
  }

  // Single quotes keep everything literal, including the escape character; there is no way to
  // put a single quote inside.
  Status ProcessSingleQuote(std::string* result) {
    sc_.Next();
    if (opts_.raw_quotes) result->push_back('\'');
    for (;;) {
      const char32_t ch = sc_.Next();
      if (ch == kEOF) {
        return Error{"unexpected end of statement while looking for matching single-quote"};
      }
      if (ch == '\'') {
        if (opts_.raw_quotes) result->push_back('\'');
        return Ok();
      }
      AppendRune(result, ch);
    }
  }

  // Double quotes expand variables; the escape character only escapes `"`, `$` and itself and
  // is kept literally before anything else.
  Status ProcessDoubleQuote(std::string* result) {
    sc_.Next();
    if (opts_.raw_quotes) result->push_back('"');
    for (;;) {
      const char32_t peek = sc_.Peek();
      if (peek == kEOF) {
        return Error{"unexpected end of statement while looking for matching double-quote"};
      }
      if (peek == '"') {
        sc_.Next();
        if (opts_.raw_quotes) result->push_back('"');
        return Ok();
      }
      if (peek == '$') {
        OCIB_TRY(ProcessDollar(result));
        continue;
      }
      char32_t ch = sc_.Next();
      if (ch == escape_) {
        if (raw_escapes_) AppendRune(result, ch);
        const char32_t next = sc_.Peek();
        if (next == kEOF) continue;
        if (next == '"' || next == '$' || next == escape_) ch = sc_.Next();
      }
      AppendRune(result, ch);
    }
  }

  // "<<" keeps the blanks after it attached, so a heredoc marker stays one word.
  void ProcessPossibleHeredoc(std::string* result) {
    sc_.Next();
    result->push_back('<');
    if (sc_.Peek() != '<') return;
    sc_.Next();
    result->push_back('<');
    while (IsHeredocSpace(sc_.Peek())) AppendRune(result, sc_.Next());
  }

  // A name: a run of digits (positional parameter), one special parameter character, or
  // letters, digits and underscores. Returned as a view of the source.
  std::string_view ProcessName() {
    const size_t start = sc_.pos();
    char32_t ch = sc_.Peek();
    if (ch != kEOF && IsDigitRune(ch)) {
      while (sc_.Peek() != kEOF && IsDigitRune(sc_.Peek())) sc_.Next();
      return sc_.source().substr(start, sc_.pos() - start);
    }
    if (ch != kEOF && IsSpecialParam(ch)) {
      sc_.Next();
      return sc_.source().substr(start, 1);
    }
    while ((ch = sc_.Peek()) != kEOF && (IsLetterRune(ch) || IsDigitRune(ch) || ch == '_')) {
      sc_.Next();
    }
    return sc_.source().substr(start, sc_.pos() - start);
  }

  const std::string* Lookup(std::string_view name) {
    const std::string* v = env_.Find(name);
    if (capture_) (v ? capture_->used : capture_->unmatched).emplace(name);
    return v;
  }

  // The substitution's source text from its `$` up to the scanner ("${FOO:=").
  std::string SoFar(size_t start) const {
    return Plain(sc_.source().substr(start, sc_.pos() - start));
  }

  Status ProcessDollar(std::string* result) {
    const size_t start = sc_.pos();
    sc_.Next();
    if (sc_.Peek() != '{') {
      const std::string_view name = ProcessName();
      if (name.empty()) {
        result->push_back('$');
        return Ok();
      }
      const std::string* v = Lookup(name);
      if (v) {
        result->append(*v);
      } else if (opts_.skip_unset_env) {
        result->push_back('$');
        result->append(name);
      }
      return Ok();
    }
    sc_.Next();
    const char32_t first = sc_.Peek();
    if (first == kEOF) return Error{"syntax error: missing '}' in " + SoFar(start)};
    if (first == '{' || first == '}' || first == ':') {
      sc_.Next();
      return Error{"syntax error: bad substitution " + SoFar(start) +
                   ": expected a variable name after \"${\""};
    }
    const std::string_view name = ProcessName();
    if (name.empty()) {
      sc_.Next();
      return Error{"syntax error: bad substitution " + SoFar(start) +
                   ": expected a variable name after \"${\""};
    }
    char32_t ch = sc_.Next();
    switch (ch) {
      case kEOF:
        return Error{"syntax error: missing '}' in " + SoFar(start)};
      case '}': {
        const std::string* v = Lookup(name);
        if (v) {
          result->append(*v);
        } else if (opts_.skip_unset_env) {
          result->append("${").append(name).push_back('}');
        }
        return Ok();
      }
      case '/':
        return ProcessReplace(start, name, result);
      case ':':
      case '+':
      case '-':
      case '?':
      case '#':
      case '%':
        return ProcessModifier(start, name, ch, result);
      default: {
        std::string mod;
        AppendRune(&mod, ch);
        return UnsupportedModifier(start, mod);
      }
    }
  }

  Status UnsupportedModifier(size_t start, std::string_view mod) const {
    return Error{"syntax error: unsupported modifier " + Plain(mod) + " in " + SoFar(start) +
                 " (supported: :- - :+ + :? ? # ## % %% / //)"};
  }

  Status ProcessModifier(size_t start, std::string_view name, char32_t ch, std::string* result) {
    bool null_is_unset = false;
    std::string mod;
    AppendRune(&mod, ch);
    if (ch == ':') {
      null_is_unset = true;
      ch = sc_.Next();
      if (ch != kEOF) AppendRune(&mod, ch);
    }
    const bool pattern_op = ch == '#' || ch == '%';
    if (null_is_unset && pattern_op) return UnsupportedModifier(start, mod);
    std::string word;
    Status st = ProcessStopOn('}', pattern_op, &word, nullptr);
    if (!st.ok()) {
      if (sc_.Peek() == kEOF) return Error{"syntax error: missing '}' in " + SoFar(start)};
      return st;
    }
    const std::string* v = Lookup(name);
    if (!v && opts_.skip_unset_env) {
      result->append("${").append(name).append(mod).append(word).push_back('}');
      return Ok();
    }
    const bool empty_or_unset = !v || (null_is_unset && v->empty());
    switch (ch) {
      case '-':
        result->append(empty_or_unset ? word : *v);
        return Ok();
      case '+':
        if (!empty_or_unset) result->append(word);
        return Ok();
      case '?':
        if (!v) {
          return Error{std::string(name) + ": " +
                       (word.empty() ? std::string("is not allowed to be unset") : word)};
        }
        if (empty_or_unset) {
          return Error{std::string(name) + ": " +
                       (word.empty() ? std::string("is not allowed to be empty") : word)};
        }
        result->append(*v);
        return Ok();
      case '#':
      case '%': {
        // `##` / `%%` ask for the longest match; the doubled character arrives as the first
        // character of the (already expanded) pattern.
        std::string_view pattern = word;
        const bool longest = !pattern.empty() && static_cast<char32_t>(pattern[0]) == ch;
        if (longest) pattern.remove_prefix(1);
        const std::string_view value = v ? std::string_view(*v) : std::string_view();
        auto r = ch == '%' ? TrimPatternSuffix(pattern, value, longest)
                           : TrimPatternPrefix(pattern, value, longest);
        if (!r.ok()) {
          return Error{"invalid pattern " + Plain(pattern) + " in " + SoFar(start) + ": " +
                       r.error().message};
        }
        result->append(*r);
        return Ok();
      }
      default:
        return UnsupportedModifier(start, mod);
    }
  }

  Status ProcessReplace(size_t start, std::string_view name, std::string* result) {
    const bool all = sc_.Peek() == '/';
    if (all) sc_.Next();
    std::string pattern;
    Status st = ProcessStopOn('/', true, &pattern, nullptr);
    if (!st.ok()) {
      if (sc_.Peek() == kEOF) {
        return Error{"syntax error: missing '/' in " + SoFar(start) + " (expected ${" +
                     std::string(name) + "/pattern/replacement})"};
      }
      return st;
    }
    std::string replacement;
    st = ProcessStopOn('}', true, &replacement, nullptr);
    if (!st.ok()) {
      if (sc_.Peek() == kEOF) return Error{"syntax error: missing '}' in " + SoFar(start)};
      return st;
    }
    const std::string* v = Lookup(name);
    if (!v && opts_.skip_unset_env) {
      result->append("${").append(name).append(all ? "//" : "/");
      result->append(pattern).append("/").append(replacement).push_back('}');
      return Ok();
    }
    const std::string_view value = v ? std::string_view(*v) : std::string_view();
    auto r = ReplacePattern(pattern, value, replacement, all);
    if (!r.ok()) {
      return Error{"invalid pattern " + Plain(pattern) + " in " + SoFar(start) + ": " +
                   r.error().message};
    }
    result->append(*r);
    return Ok();
  }

  const char32_t escape_;
  const ShellLex::Options& opts_;
  const Env& env_;
  Scanner sc_;
  Expansion* capture_;
  bool raw_escapes_;
};

// Words without any character the lexer treats specially come out unchanged; most Dockerfile
// words are like that.
bool IsPlain(std::string_view word, char escape) {
  for (char c : word) {
    if (c == '$' || c == '\'' || c == '"' || c == escape || (c & 0x80)) return false;
  }
  return true;
}

}  // namespace

Result<std::string> ShellLex::ProcessWord(std::string_view word, const Env& env) const {
  if (IsPlain(word, escape_)) return std::string(word);
  std::string result;
  result.reserve(word.size());
  Expander ex(static_cast<unsigned char>(escape_), options_, env, word, nullptr);
  OCIB_TRY(ex.Run(&result, nullptr));
  return result;
}

Result<Expansion> ShellLex::ProcessWordWithMatches(std::string_view word, const Env& env) const {
  Expansion out;
  out.word.reserve(word.size());
  Expander ex(static_cast<unsigned char>(escape_), options_, env, word, &out);
  OCIB_TRY(ex.Run(&out.word, nullptr));
  return out;
}

Result<std::vector<std::string>> ShellLex::ProcessWords(std::string_view word,
                                                        const Env& env) const {
  std::string result;
  Words words;
  Expander ex(static_cast<unsigned char>(escape_), options_, env, word, nullptr);
  OCIB_TRY(ex.Run(&result, &words));
  return std::move(words).Finish();
}

}  // namespace ocibuild::dockerfile
