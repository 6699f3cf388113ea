#include "tests/conformance/buildkit-integration/case_file.h"

#include "util/strings.h"

namespace ocibuild::bki {
namespace {

bool IsHeader(std::string_view line) {
  return line.size() > 6 && StartsWith(line, "-- ") && EndsWith(line, " --");
}

std::string Where(const std::string& name, int line) {
  return name + ":" + std::to_string(line);
}

}  // namespace

Result<std::vector<std::string>> SplitWords(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    std::string w;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') {
      char c = line[i];
      if (c == '\'') {
        size_t end = line.find('\'', i + 1);
        if (end == std::string_view::npos) return Error{"unterminated ' in: " + std::string(line)};
        w.append(line.substr(i + 1, end - i - 1));
        i = end + 1;
      } else if (c == '"') {
        ++i;
        for (;;) {
          if (i >= line.size()) return Error{"unterminated \" in: " + std::string(line)};
          char d = line[i++];
          if (d == '"') break;
          if (d == '\\' && i < line.size()) {
            char e = line[i++];
            switch (e) {
              case 'n':
                w += '\n';
                break;
              case 't':
                w += '\t';
                break;
              case 'r':
                w += '\r';
                break;
              case '0':
                w += '\0';
                break;
              default:
                w += e;
                break;
            }
            continue;
          }
          w += d;
        }
      } else {
        w += c;
        ++i;
      }
    }
    out.push_back(std::move(w));
  }
  return out;
}

std::string Substitute(std::string_view text, const std::map<std::string, std::string>& vars) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t open = text.find("{{", i);
    if (open == std::string_view::npos) break;
    size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    auto it = vars.find(std::string(text.substr(open + 2, close - open - 2)));
    if (it != vars.end()) {
      out += it->second;
    } else {
      out.append(text.substr(open, close + 2 - open));
    }
    i = close + 2;
  }
  out.append(text.substr(i));
  return out;
}

Result<Case> ParseCase(const std::string& name, std::string_view text) {
  Case c;
  c.name = name;
  std::vector<std::string> lines = Split(text, '\n');
  // Split leaves one empty string after a final newline: it ends the last section, no more.
  bool final_newline = !text.empty() && text.back() == '\n';
  if (final_newline) lines.pop_back();
  size_t i = 0;
  for (; i < lines.size() && !IsHeader(lines[i]); ++i) {
    std::string_view l = TrimSpace(lines[i]);
    if (l.empty()) continue;
    if (!StartsWith(l, "#"))
      return Error{Where(name, int(i) + 1) + ": text before the first section"};
    l = TrimSpace(l.substr(1));
    auto field = [&](std::string_view key, std::string* out) {
      if (!StartsWith(l, key)) return false;
      *out = std::string(TrimSpace(l.substr(key.size())));
      return true;
    };
    std::string v;
    if (field("from:", &v)) {
      c.from.push_back(v);
    } else if (field("xfail-unpriv:", &v)) {
      c.xfail_unpriv = v;
    } else if (field("xfail:", &v)) {
      c.xfail = v;
    } else if (field("needs:", &v)) {
      OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, SplitWords(v));
      c.needs.insert(c.needs.end(), names.begin(), names.end());
    }
  }
  if (c.from.empty()) return Error{name + ": no '# from:' line naming the BuildKit test"};
  bool have_script = false;
  while (i < lines.size()) {
    int header_line = int(i) + 1;
    std::string_view h = lines[i];
    h = h.substr(3, h.size() - 6);
    OCIB_ASSIGN_OR_RETURN(std::vector<std::string> words, SplitWords(h));
    if (words.empty()) return Error{Where(name, header_line) + ": empty section name"};
    size_t body_start = ++i;
    while (i < lines.size() && !IsHeader(lines[i])) ++i;
    std::string body;
    for (size_t k = body_start; k < i; ++k) body += lines[k] + "\n";
    const std::string& sec = words[0];
    if (sec == ":script") {
      have_script = true;
      for (size_t k = body_start; k < i; ++k) {
        std::string_view l = TrimSpace(lines[k]);
        if (l.empty() || StartsWith(l, "#")) continue;
        ScriptLine sl;
        sl.line = int(k) + 1;
        size_t sp = l.find_first_of(" \t");
        sl.rest = sp == std::string_view::npos ? "" : std::string(TrimSpace(l.substr(sp)));
        // A shell line is the shell's to parse ($(...) nests quotes our splitter does not).
        if (l.substr(0, sp) == "sh") {
          sl.words = {"sh"};
        } else {
          OCIB_ASSIGN_OR_RETURN(sl.words, SplitWords(l));
        }
        c.script.push_back(std::move(sl));
      }
      continue;
    }
    if (sec == ":setup") {
      c.setup = body;
      continue;
    }
    if (StartsWith(sec, ":")) return Error{Where(name, header_line) + ": unknown section " + sec};
    CaseFile f;
    f.path = StartsWith(sec, "www/") || StartsWith(sec, "ext/") ? sec : "ctx/" + sec;
    f.content = body;
    for (size_t k = 1; k < words.size(); ++k) {
      const std::string& a = words[k];
      if (a == "noeol") {
        if (!f.content.empty() && f.content.back() == '\n') f.content.pop_back();
      } else if (a == "dir") {
        f.dir = true;
      } else if (StartsWith(a, "mode=")) {
        f.mode = static_cast<int>(std::stoul(a.substr(5), nullptr, 8));
      } else if (StartsWith(a, "symlink=")) {
        f.symlink = a.substr(8);
      } else {
        return Error{Where(name, header_line) + ": unknown attribute " + a};
      }
    }
    if ((f.dir || !f.symlink.empty()) && !TrimSpace(f.content).empty())
      return Error{Where(name, header_line) + ": a dir or symlink section has no body"};
    c.files.push_back(std::move(f));
  }
  if (!have_script) return Error{name + ": no :script section"};
  return c;
}

}  // namespace ocibuild::bki
