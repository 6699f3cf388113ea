#include "dockerfile-parser/ast_dump.h"

#include <cstdio>

#include "util/strings.h"

namespace ocibuild::dockerfile {
namespace {

// Decodes a valid UTF-8 sequence at s[i]; returns its length or 0 when invalid.
size_t ValidRune(std::string_view s, size_t i, uint32_t* r) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  auto cont = [&](size_t k) {
    return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  auto b = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(s[i + k])); };
  if ((c & 0xE0) == 0xC0 && c >= 0xC2 && cont(1)) {
    *r = ((c & 0x1Fu) << 6) | (b(1) & 0x3F);
    return 2;
  }
  if ((c & 0xF0) == 0xE0 && cont(1) && cont(2)) {
    *r = ((c & 0x0Fu) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    if (*r >= 0x800 && !(*r >= 0xD800 && *r <= 0xDFFF)) return 3;
  }
  if ((c & 0xF8) == 0xF0 && cont(1) && cont(2) && cont(3)) {
    *r = ((c & 0x07u) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    if (*r >= 0x10000 && *r <= 0x10FFFF) return 4;
  }
  return 0;
}

// An approximation of Go's unicode.IsPrint for non-ASCII: controls, format characters,
// separators other than U+0020, private use and non-characters are escaped.
bool IsPrintable(uint32_t r) {
  if (r < 0xA0) return false;
  if (r == 0xA0 || r == 0xAD || r == 0x1680 || r == 0x180E) return false;
  if (r >= 0x2000 && r <= 0x200F) return false;
  if (r >= 0x2028 && r <= 0x202F) return false;
  if (r >= 0x205F && r <= 0x206F) return false;
  if (r == 0x3000 || r == 0xFEFF) return false;
  if (r >= 0xE000 && r <= 0xF8FF) return false;
  if (r >= 0xFFF0 && r <= 0xFFFB) return false;
  if ((r & 0xFFFE) == 0xFFFE) return false;
  if (r >= 0xFDD0 && r <= 0xFDEF) return false;
  if (r >= 0xE0000) return false;
  return true;
}

void AppendHex(std::string* out, const char* prefix, uint32_t v, int digits) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%s%0*x", prefix, digits, v);
  *out += buf;
}

}  // namespace

std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\a':
          out += "\\a";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\v':
          out += "\\v";
          break;
        default:
          if (c < 0x20 || c == 0x7F) {
            AppendHex(&out, "\\x", c, 2);
          } else {
            out += static_cast<char>(c);
          }
      }
      ++i;
      continue;
    }
    uint32_t r = 0;
    size_t w = ValidRune(s, i, &r);
    if (w == 0) {
      AppendHex(&out, "\\x", c, 2);
      ++i;
      continue;
    }
    if (IsPrintable(r)) {
      out.append(s.substr(i, w));
    } else if (r < 0x10000) {
      AppendHex(&out, "\\u", r, 4);
    } else {
      AppendHex(&out, "\\U", r, 8);
    }
    i += w;
  }
  out += '"';
  return out;
}

std::string DumpNode(const Node& node) {
  std::string out = ToLower(node.value);
  if (!node.flags.empty()) {
    out += " [";
    for (size_t i = 0; i < node.flags.size(); ++i) {
      if (i) out += ' ';
      out += GoQuote(node.flags[i]);
    }
    out += ']';
  }
  for (const auto& child : node.children) out += " (" + DumpNode(child) + ")";
  for (const auto& arg : node.args) out += " " + GoQuote(arg);
  return std::string(TrimUnicodeSpace(out));
}

std::string DumpAst(const ParsedDockerfile& file) {
  std::string out;
  for (const auto& node : file.nodes) out += "(" + DumpNode(node) + ")\n";
  return out;
}

}  // namespace ocibuild::dockerfile
