#include "dockerfile-parser/parser.h"

#include "dockerfile-parser/unicode.h"

#include <nlohmann/json.hpp>

#include "dockerfile-parser/ast_dump.h"
#include "dockerfile-parser/error_format.h"
#include "util/strings.h"

namespace ocibuild::dockerfile {
namespace {

using namespace std::string_view_literals;

// BuildKit reads with a bufio.Scanner whose tokens are capped at 64 KiB; a longer physical
// line is an error there, and the cap also bounds the ONBUILD recursion below.
constexpr size_t kMaxPhysicalLine = 64 * 1024;
constexpr int kMaxOnbuildDepth = 32;

bool IsUnicodeSpaceRune(uint32_t r) { return IsSpaceRune(static_cast<char32_t>(r)); }

// Go's unicode.IsSpace(rune(b)) applied to a single byte, as BuildKit's byte loops do.
bool IsByteSpace(unsigned char b) {
  return b == '\t' || b == '\n' || b == '\v' || b == '\f' || b == '\r' || b == ' ' || b == 0x85 ||
         b == 0xA0;
}

// The [\t\v\f\r ] class BuildKit splits instruction arguments on.
bool IsSplitSpace(char c) {
  return c == '\t' || c == '\v' || c == '\f' || c == '\r' || c == ' ';
}

std::string_view TrimLeftUnicodeSpace(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t w = UnicodeSpaceAt(s, i);
    if (w == 0) break;
    i += w;
  }
  return s.substr(i);
}

std::string_view TrimNewline(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool IsComment(std::string_view line) {
  line = TrimLeftUnicodeSpace(line);
  return !line.empty() && line[0] == '#';
}

// Splits on runs of [\t\v\f\r ]; `limit` > 0 caps the number of pieces (Go's Split(s, n)).
std::vector<std::string> SplitWhitespace(std::string_view s, int limit) {
  std::vector<std::string> out;
  size_t start = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (limit > 0 && static_cast<int>(out.size()) == limit - 1) break;
    if (IsSplitSpace(s[i])) {
      size_t j = i;
      while (j < s.size() && IsSplitSpace(s[j])) ++j;
      out.emplace_back(s.substr(start, i - start));
      start = i = j;
      continue;
    }
    ++i;
  }
  out.emplace_back(s.substr(start));
  return out;
}

class DirectiveParser {
 public:
  // Returns true when the line was a directive; errors on a repeated directive.
  Result<const Directive*> ParseLine(std::string_view line, int line_no) {
    if (done_) return static_cast<const Directive*>(nullptr);
    if (line.empty() || line[0] != '#') {
      done_ = true;
      return static_cast<const Directive*>(nullptr);
    }
    line = TrimLeftUnicodeSpace(line.substr(1));
    // ^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$
    size_t i = 0;
    if (i >= line.size() || !std::isalpha(static_cast<unsigned char>(line[i]))) {
      done_ = true;
      return static_cast<const Directive*>(nullptr);
    }
    while (i < line.size() && std::isalnum(static_cast<unsigned char>(line[i]))) ++i;
    std::string key = ToLower(line.substr(0, i));
    auto is_re_space = [](char c) {
      return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
    };
    while (i < line.size() && is_re_space(line[i])) ++i;
    if (i >= line.size() || line[i] != '=') {
      done_ = true;
      return static_cast<const Directive*>(nullptr);
    }
    ++i;
    size_t after_eq = i;
    while (i < line.size() && is_re_space(line[i])) ++i;
    std::string_view value = line.substr(i);
    while (!value.empty() && is_re_space(value.back())) value.remove_suffix(1);
    // `\s*(.+?)\s*$` backtracks: with only blanks after '=', the value is the last blank.
    if (value.empty() && after_eq < line.size()) value = line.substr(line.size() - 1);
    if (value.empty() || (key != "syntax" && key != "escape" && key != "check")) {
      done_ = true;
      return static_cast<const Directive*>(nullptr);
    }
    for (const auto& d : seen_) {
      if (d.name == key) return Error{"only one " + key + " parser directive can be used"};
    }
    seen_.push_back(Directive{key, std::string(value), line_no});
    return &seen_.back();
  }
  std::vector<Directive> Take() { return std::move(seen_); }

 private:
  bool done_ = false;
  std::vector<Directive> seen_;
};

struct LineCursor {
  std::string_view text;
  size_t pos = 0;
  bool Next(std::string_view* line) {
    if (pos >= text.size()) return false;
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    *line = text.substr(pos, end - pos);
    pos = end;
    return true;
  }
};

// The escape character at the end of a line continues it, unless it is itself escaped:
// BuildKit's `([^E])E[ \t]*$|^E[ \t]*$`.
bool TrimContinuation(std::string_view* line, char escape) {
  std::string_view s = *line;
  size_t end = s.size();
  while (end > 0 && (s[end - 1] == ' ' || s[end - 1] == '\t')) --end;
  if (end == 0 || s[end - 1] != escape) return false;
  if (end >= 2 && s[end - 2] == escape) return false;
  *line = s.substr(0, end - 1);
  return true;
}

// Splits words the way BuildKit's parseWords does: quotes and escapes are kept verbatim, a
// quoted empty string still counts as a word.
std::vector<std::string> ParseWords(std::string_view rest, char escape) {
  std::vector<std::string> words;
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  size_t pos = 0;
  while (true) {
    if (phase == kWord && pos < rest.size()) {
      // Fast path: plain ASCII word characters (no space, quote or escape).
      unsigned char c = static_cast<unsigned char>(rest[pos]);
      if (c < 0x80 && c != ' ' && (c < '\t' || c > '\r') && c != '\'' && c != '"' &&
          c != static_cast<unsigned char>(escape)) {
        word += static_cast<char>(c);
        ++pos;
        continue;
      }
    }
    if (phase == kSpaces) {
      if (pos >= rest.size()) break;
      size_t w = UnicodeSpaceAt(rest, pos);
      if (w > 0) {
        pos += w;
        continue;
      }
      phase = kWord;
    }
    if (pos >= rest.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    size_t width;
    DecodeRune(rest, pos, &width);
    char ch = rest[pos];
    if (phase == kWord) {
      if (size_t w = UnicodeSpaceAt(rest, pos); w > 0) {
        phase = kSpaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        pos += w;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kQuote;
      }
      if (ch == escape) {
        if (pos + 1 == rest.size()) {
          pos += 1;
          continue;
        }
        word += ch;
        pos += 1;
        DecodeRune(rest, pos, &width);
      }
      word.append(rest.substr(pos, width));
      pos += width;
      continue;
    }
    // kQuote
    if (ch == quote) phase = kWord;
    if (ch == escape && quote != '\'') {
      if (pos + 1 == rest.size()) {
        phase = kWord;
        pos += 1;
        continue;
      }
      word += ch;
      pos += 1;
      DecodeRune(rest, pos, &width);
    }
    word.append(rest.substr(pos, width));
    pos += width;
  }
  return words;
}

// Leading "--flag" words; returns the remaining text. Quotes are removed inside flags.
std::string_view ExtractFlags(std::string_view line, char escape, std::vector<std::string>* flags) {
  enum { kSpaces, kWord, kQuote } phase = kSpaces;
  std::string word;
  char quote = 0;
  bool blank_ok = false;
  for (size_t pos = 0; pos <= line.size(); ++pos) {
    char ch = pos < line.size() ? line[pos] : 0;
    if (phase == kSpaces) {
      if (pos == line.size()) break;
      if (IsByteSpace(static_cast<unsigned char>(ch))) continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return line.substr(pos);
      phase = kWord;
    }
    if (pos == line.size()) {
      if (word != "--" && (blank_ok || !word.empty())) flags->push_back(word);
      break;
    }
    if (phase == kWord) {
      if (IsByteSpace(static_cast<unsigned char>(ch))) {
        phase = kSpaces;
        if (word == "--") return line.substr(pos);
        if (blank_ok || !word.empty()) flags->push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = kQuote;
        continue;
      }
      if (ch == escape) {
        if (pos + 1 == line.size()) continue;
        ch = line[++pos];
      }
      word += ch;
      continue;
    }
    if (ch == quote) {
      phase = kWord;
      continue;
    }
    if (ch == escape) {
      if (pos + 1 == line.size()) {
        phase = kWord;
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  return {};
}

const char kNotStringArray[] =
    "when using JSON array syntax, arrays must be comprised of strings only";

// Collects the top-level strings of a JSON array without building a DOM (bounded memory
// and no recursion however deep the input nests).
class StringArraySax : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::vector<std::string> strings;
  bool non_string = false;
  bool top_is_array = false;

  bool null() override { return Scalar(); }
  bool boolean(bool) override { return Scalar(); }
  bool number_integer(number_integer_t) override { return Scalar(); }
  bool number_unsigned(number_unsigned_t) override { return Scalar(); }
  bool number_float(number_float_t, const string_t&) override { return Scalar(); }
  bool string(string_t& val) override {
    if (depth_ == 1) strings.push_back(val);
    return true;
  }
  bool binary(binary_t&) override { return Scalar(); }
  bool start_object(std::size_t) override {
    Scalar();
    ++depth_;
    return true;
  }
  bool key(string_t&) override { return true; }
  bool end_object() override {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) top_is_array = true;
    Scalar();
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool Scalar() {
    if (depth_ == 1) non_string = true;
    return true;
  }
  int depth_ = 0;
};

enum class JsonOutcome { kArray, kNotJson, kNotStrings };

JsonOutcome ParseJsonArray(std::string_view rest, std::vector<std::string>* out) {
  rest = TrimLeftUnicodeSpace(rest);
  if (rest.empty() || rest[0] != '[') return JsonOutcome::kNotJson;
  StringArraySax sax;
  bool ok = nlohmann::json::sax_parse(rest.begin(), rest.end(), &sax,
                                      nlohmann::json::input_format_t::json, true, false);
  if (!ok || !sax.top_is_array) return JsonOutcome::kNotJson;
  if (sax.non_string) return JsonOutcome::kNotStrings;
  *out = std::move(sax.strings);
  return JsonOutcome::kArray;
}

Status ParseMaybeJson(std::string_view rest, Node* node) {
  if (rest.empty()) return Ok();
  switch (ParseJsonArray(rest, &node->args)) {
    case JsonOutcome::kArray:
      node->json = true;
      return Ok();
    case JsonOutcome::kNotStrings:
      return Error{kNotStringArray};
    case JsonOutcome::kNotJson:
      break;
  }
  node->args = {std::string(rest)};
  return Ok();
}

void ParseWhitespaceList(std::string_view rest, Node* node) {
  if (rest.empty()) return;
  node->args = SplitWhitespace(rest, -1);
}

Status ParseMaybeJsonToList(std::string_view rest, Node* node) {
  switch (ParseJsonArray(rest, &node->args)) {
    case JsonOutcome::kArray:
      node->json = true;
      return Ok();
    case JsonOutcome::kNotStrings:
      return Error{kNotStringArray};
    case JsonOutcome::kNotJson:
      break;
  }
  ParseWhitespaceList(rest, node);
  return Ok();
}

Status ParseNameVal(std::string_view rest, const char* key, char escape, Node* node) {
  std::vector<std::string> words = ParseWords(rest, escape);
  if (words.empty()) return Ok();
  if (words[0].find('=') == std::string::npos) {
    // Legacy "KEY name value": the value is the rest of the line verbatim.
    std::vector<std::string> parts = SplitWhitespace(rest, 2);
    if (parts.size() < 2) return Error{std::string(key) + " must have two arguments"};
    node->args = {parts[0], parts[1], ""};
    return Ok();
  }
  for (const auto& word : words) {
    size_t eq = word.find('=');
    if (eq == std::string::npos) {
      return Error{"Syntax error - can't find = in " + GoQuote(word) +
                   ". Must be of the form: name=value"};
    }
    node->args.push_back(word.substr(0, eq));
    node->args.push_back(word.substr(eq + 1));
    node->args.push_back("=");
  }
  return Ok();
}

Result<Node> NodeFromLine(std::string_view line, char escape, int depth);

Status ParseHealthConfig(std::string_view rest, char escape, Node* node) {
  (void)escape;
  size_t sep = 0;
  while (sep < rest.size() && !IsByteSpace(static_cast<unsigned char>(rest[sep]))) ++sep;
  size_t next = sep;
  while (next < rest.size() && IsByteSpace(static_cast<unsigned char>(rest[next]))) ++next;
  if (sep == 0) return Ok();
  Node cmd;
  OCIB_TRY(ParseMaybeJson(rest.substr(next), &cmd));
  node->args.push_back(std::string(rest.substr(0, sep)));
  for (auto& a : cmd.args) node->args.push_back(std::move(a));
  node->json = cmd.json;
  return Ok();
}

Result<Node> NodeFromLine(std::string_view line, char escape, int depth) {
  Node node;
  node.original = std::string(line);
  std::string_view trimmed = TrimUnicodeSpace(line);
  size_t cmd_end = 0;
  while (cmd_end < trimmed.size() && !IsSplitSpace(trimmed[cmd_end])) ++cmd_end;
  node.value = std::string(trimmed.substr(0, cmd_end));
  std::string_view rest;
  if (cmd_end < trimmed.size()) {
    size_t args_start = cmd_end;
    while (args_start < trimmed.size() && IsSplitSpace(trimmed[args_start])) ++args_start;
    rest = TrimUnicodeSpace(ExtractFlags(trimmed.substr(args_start), escape, &node.flags));
  }
  std::string kw = ToLower(node.value);
  std::string_view kwv = kw;
  if (kwv == "add"sv || kwv == "copy"sv || kwv == "volume"sv) {
    OCIB_TRY(ParseMaybeJsonToList(rest, &node));
  } else if (kwv == "cmd"sv || kwv == "entrypoint"sv || kwv == "run"sv || kwv == "shell"sv) {
    OCIB_TRY(ParseMaybeJson(rest, &node));
  } else if (kwv == "arg"sv) {
    node.args = ParseWords(rest, escape);
  } else if (kwv == "env"sv) {
    OCIB_TRY(ParseNameVal(rest, "ENV", escape, &node));
  } else if (kwv == "label"sv) {
    OCIB_TRY(ParseNameVal(rest, "LABEL", escape, &node));
  } else if (kwv == "expose"sv || kwv == "from"sv) {
    ParseWhitespaceList(rest, &node);
  } else if (kwv == "healthcheck"sv) {
    OCIB_TRY(ParseHealthConfig(rest, escape, &node));
  } else if (kwv == "maintainer"sv || kwv == "stopsignal"sv || kwv == "user"sv ||
             kwv == "workdir"sv) {
    if (!rest.empty()) node.args = {std::string(rest)};
  } else if (kwv == "onbuild"sv) {
    if (!rest.empty()) {
      if (depth >= kMaxOnbuildDepth) return Error{"ONBUILD instructions nested too deeply"};
      OCIB_ASSIGN_OR_RETURN(Node child, NodeFromLine(rest, escape, depth + 1));
      node.children.push_back(std::move(child));
    }
  } else {
    // Unknown instructions still parse (BuildKit keeps an empty argument); the instruction
    // layer rejects them with a suggestion.
    node.args = {""};
  }
  return node;
}

bool CanContainHeredoc(const Node& node) {
  const Node* n = &node;
  if (node.Keyword() == "onbuild" && !node.children.empty()) n = &node.children[0];
  std::string kw = n->Keyword();
  std::string_view kwv = kw;
  if (kwv != "add"sv && kwv != "copy"sv && kwv != "run"sv) return false;
  return !n->json;
}

// Word splitting used to find heredoc markers on an instruction line. With `raw`, quotes and
// escapes stay in the words (BuildKit lexes with RawQuotes+RawEscapes here); without it they
// are removed as the shell lexer would. Variables are never expanded. Returns false on an
// unterminated quote.
bool LexHeredocWords(std::string_view s, bool raw, std::vector<std::string>* words) {
  const char esc = '\\';
  std::string word;
  bool in_word = false;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      if (in_word) words->push_back(word);
      word.clear();
      in_word = false;
      ++i;
      continue;
    }
    in_word = true;
    if (c == '\'') {
      size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) return false;
      if (raw) {
        word.append(s.substr(i, end - i + 1));
      } else {
        word.append(s.substr(i + 1, end - i - 1));
      }
      i = end + 1;
      continue;
    }
    if (c == '"') {
      if (raw) word += c;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char d = s[i];
        if (d == '"') {
          closed = true;
          if (raw) word += d;
          ++i;
          break;
        }
        if (d == esc && i + 1 < s.size()) {
          char n = s[i + 1];
          if (raw || (n != '"' && n != '$' && n != esc)) word += d;
          word += n;
          i += 2;
          continue;
        }
        word += d;
        ++i;
      }
      if (!closed) return false;
      continue;
    }
    if (c == esc) {
      if (i + 1 >= s.size()) {
        ++i;
        continue;
      }
      if (raw) word += c;
      word += s[i + 1];
      i += 2;
      continue;
    }
    word += c;
    ++i;
  }
  if (in_word) words->push_back(word);
  return true;
}

}  // namespace

size_t UnicodeSpaceAt(std::string_view s, size_t i) {
  if (i >= s.size()) return 0;
  size_t w;
  uint32_t r = DecodeRune(s, i, &w);
  if (r == 0xFFFD && w == 1) return 0;
  return IsUnicodeSpaceRune(r) ? w : 0;
}

std::string_view TrimUnicodeSpace(std::string_view s) {
  s = TrimLeftUnicodeSpace(s);
  // Walk back over whole code points: find the last non-space start.
  size_t end = s.size();
  while (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(s[start]) & 0xC0) == 0x80 && end - start < 4)
      --start;
    size_t w = UnicodeSpaceAt(s, start);
    if (w == 0 || start + w != end) break;
    end = start;
  }
  return s.substr(0, end);
}

std::string Node::Keyword() const {
  return ToLower(value);
}

bool IsHeredocWord(std::string_view word) {
  size_t i = 0;
  while (i < word.size() && std::isdigit(static_cast<unsigned char>(word[i]))) ++i;
  if (word.substr(i, 2) != "<<") return false;
  i += 2;
  if (i < word.size() && word[i] == '-') ++i;
  while (i < word.size() && (word[i] == ' ' || word[i] == '\t' || word[i] == '\n' ||
                             word[i] == '\f' || word[i] == '\r'))
    ++i;
  std::string_view rest = word.substr(i);
  return !rest.empty() && rest.find('<') == std::string_view::npos;
}

Result<Heredoc> ParseHeredocWord(std::string_view word) {
  Heredoc doc;
  if (!IsHeredocWord(word)) return doc;
  size_t i = 0;
  unsigned fd = 0;
  while (i < word.size() && std::isdigit(static_cast<unsigned char>(word[i]))) {
    if (fd < 100000) fd = fd * 10 + static_cast<unsigned>(word[i] - '0');
    ++i;
  }
  i += 2;
  if (i < word.size() && word[i] == '-') {
    doc.chomp = true;
    ++i;
  }
  while (i < word.size() && (word[i] == ' ' || word[i] == '\t' || word[i] == '\n' ||
                             word[i] == '\f' || word[i] == '\r'))
    ++i;
  std::string_view rest = word.substr(i);
  std::vector<std::string> cooked, raw;
  if (!LexHeredocWords(rest, false, &cooked) || !LexHeredocWords(rest, true, &raw)) {
    return Error{"unterminated quote in heredoc delimiter: " + std::string(rest)};
  }
  if (cooked.size() != 1) return Heredoc{};
  auto quotes = [](const std::string& w) {
    return std::count(w.begin(), w.end(), '\'') + std::count(w.begin(), w.end(), '"');
  };
  doc.name = cooked[0];
  doc.fd = fd;
  doc.expand = quotes(cooked[0]) == quotes(raw[0]);
  return doc;
}

std::string ChompHeredocContent(std::string_view content) {
  std::string out;
  out.reserve(content.size());
  bool line_start = true;
  for (char c : content) {
    if (line_start && c == '\t') continue;
    line_start = c == '\n';
    out += c;
  }
  return out;
}

SourcePos ParsedDockerfile::FindOnLine(int line, std::string_view needle) const {
  if (line >= 1 && static_cast<size_t>(line) <= source_lines.size()) {
    std::string_view text = source_lines[line - 1];
    size_t at = needle.empty() ? std::string_view::npos : text.find(needle);
    if (at != std::string_view::npos) return SourcePos{line, static_cast<int>(at) + 1};
    size_t first = text.find_first_not_of(" \t");
    return SourcePos{line, first == std::string_view::npos ? 1 : static_cast<int>(first) + 1};
  }
  return SourcePos{line, 0};
}

Error ParsedDockerfile::ErrorAt(SourcePos pos, const std::string& message) const {
  std::string_view text;
  if (pos.line >= 1 && static_cast<size_t>(pos.line) <= source_lines.size())
    text = source_lines[pos.line - 1];
  return Error{FormatDiagnostic(filename, pos.line, pos.col, message, text)};
}

SourcePos ParsedDockerfile::Start(const Node& node) const {
  SourcePos pos{node.start_line, 0};
  if (node.start_line >= 1 && static_cast<size_t>(node.start_line) <= source_lines.size()) {
    std::string_view l = source_lines[node.start_line - 1];
    std::string_view t = TrimLeftUnicodeSpace(l);
    pos.col = static_cast<int>(l.size() - t.size()) + 1;
  }
  return pos;
}

SourcePos ParsedDockerfile::Find(const Node& node, std::string_view needle) const {
  if (!needle.empty()) {
    for (int l = node.start_line;
         l >= 1 && l <= node.end_line && static_cast<size_t>(l) <= source_lines.size(); ++l) {
      size_t at = source_lines[l - 1].find(needle);
      if (at != std::string::npos) return SourcePos{l, static_cast<int>(at) + 1};
    }
  }
  return Start(node);
}

const Directive* ParsedDockerfile::FindDirective(std::string_view name) const {
  for (const auto& d : directives)
    if (d.name == name) return &d;
  return nullptr;
}

Result<ParsedDockerfile> ParseDockerfile(std::string_view text, const std::string& filename) {
  ParsedDockerfile out;
  out.filename = filename;
  out.source = std::make_shared<const std::string>(text);
  {
    LineCursor c{*out.source};
    std::string_view l;
    while (c.Next(&l)) out.source_lines.push_back(TrimNewline(l));
  }
  auto fail = [&](int line, const std::string& msg) {
    SourcePos pos{line, 0};
    if (line >= 1 && static_cast<size_t>(line) <= out.source_lines.size()) {
      std::string_view s = out.source_lines[line - 1];
      pos.col = static_cast<int>(s.size() - TrimLeftUnicodeSpace(s).size()) + 1;
    }
    return out.ErrorAt(pos, msg);
  };

  DirectiveParser directives;
  LineCursor cursor{text};
  int current_line = 0;
  std::string_view raw;
  std::string buf;
  while (cursor.Next(&raw)) {
    if (raw.size() > kMaxPhysicalLine) {
      return fail(current_line + 1, "dockerfile line greater than max allowed size of " +
                                        std::to_string(kMaxPhysicalLine - 1));
    }
    if (current_line == 0 && raw.substr(0, 3) == "\xEF\xBB\xBF") raw.remove_prefix(3);
    std::string_view line = TrimLeftUnicodeSpace(TrimNewline(raw));
    auto directive = directives.ParseLine(line, current_line + 1);
    if (!directive.ok()) return fail(current_line + 1, directive.error().message);
    if (*directive != nullptr && (*directive)->name == "escape") {
      const std::string& v = (*directive)->value;
      if (v != "`" && v != "\\") {
        return fail(current_line + 1, "invalid escape token '" + v + "' does not match ` or \\");
      }
      out.escape = v[0];
    }
    if (IsComment(line)) line = {};
    ++current_line;
    const int start_line = current_line;
    bool continued = TrimContinuation(&line, out.escape);
    if (!continued && line.empty()) continue;
    buf.assign(line);
    bool empty_continuation = false;
    while (continued && cursor.Next(&raw)) {
      if (raw.size() > kMaxPhysicalLine) {
        return fail(current_line + 1, "dockerfile line greater than max allowed size of " +
                                          std::to_string(kMaxPhysicalLine - 1));
      }
      std::string_view next = TrimNewline(raw);
      ++current_line;
      if (IsComment(raw)) continue;
      if (TrimLeftUnicodeSpace(next).empty()) {
        empty_continuation = true;
        continue;
      }
      continued = TrimContinuation(&next, out.escape);
      buf.append(next);
    }
    if (empty_continuation) {
      out.warnings.push_back(ParseWarning{
          current_line, "empty continuation line found in: " + buf +
                            " (empty continuation lines will become errors in a future release)"});
    }
    auto node = NodeFromLine(buf, out.escape, 0);
    if (!node.ok()) return fail(start_line, node.error().message);
    if (CanContainHeredoc(*node) && buf.find("<<") != std::string::npos) {
      std::vector<std::string> words;
      if (!LexHeredocWords(buf, true, &words)) words.clear();
      for (const auto& word : words) {
        auto doc = ParseHeredocWord(word);
        if (!doc.ok()) return fail(start_line, doc.error().message);
        if (doc->name.empty()) continue;
        bool terminated = false;
        std::string content;
        while (cursor.Next(&raw)) {
          ++current_line;
          std::string_view candidate = TrimNewline(raw);
          if (doc->chomp) {
            while (!candidate.empty() && candidate[0] == '\t') candidate.remove_prefix(1);
          }
          if (candidate == doc->name) {
            terminated = true;
            break;
          }
          content.append(raw);
        }
        if (!terminated) return fail(start_line, "unterminated heredoc");
        doc->content = std::move(content);
        node->heredocs.push_back(std::move(*doc));
      }
    }
    node->start_line = start_line;
    node->end_line = current_line;
    out.nodes.push_back(std::move(*node));
  }
  out.directives = directives.Take();
  if (out.nodes.empty()) return fail(current_line, "file with no instructions");
  return out;
}

}  // namespace ocibuild::dockerfile
