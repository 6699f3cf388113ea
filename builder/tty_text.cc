#include "builder/tty_text.h"

#include <algorithm>
#include <cstdint>

namespace ocibuild::builder {
namespace {

struct Range {
  char32_t first, last;
};

// Zero-width: combining marks, zero-width space/joiners, variation selectors.
constexpr Range kZeroWidth[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489},   {0x0591, 0x05BD}, {0x0610, 0x061A}, {0x064B, 0x065F},
    {0x0E31, 0x0E31}, {0x0E34, 0x0E3A},   {0x1AB0, 0x1AFF}, {0x1DC0, 0x1DFF}, {0x200B, 0x200F},
    {0x202A, 0x202E}, {0x2060, 0x2064},   {0x20D0, 0x20FF}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F},
    {0xFEFF, 0xFEFF}, {0xE0100, 0xE01EF},
};

// East Asian Wide and Fullwidth, and emoji presentation blocks.
constexpr Range kWide[] = {
    {0x1100, 0x115F},   {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},
    {0x23F0, 0x23F0},   {0x23F3, 0x23F3},   {0x25FD, 0x25FE},   {0x2614, 0x2615},
    {0x2648, 0x2653},   {0x267F, 0x267F},   {0x2693, 0x2693},   {0x26A1, 0x26A1},
    {0x26AA, 0x26AB},   {0x26BD, 0x26BE},   {0x26C4, 0x26C5},   {0x26CE, 0x26CE},
    {0x26D4, 0x26D4},   {0x26EA, 0x26EA},   {0x26F2, 0x26F3},   {0x26F5, 0x26F5},
    {0x26FA, 0x26FA},   {0x26FD, 0x26FD},   {0x2705, 0x2705},   {0x270A, 0x270B},
    {0x2728, 0x2728},   {0x274C, 0x274C},   {0x274E, 0x274E},   {0x2753, 0x2755},
    {0x2757, 0x2757},   {0x2795, 0x2797},   {0x27B0, 0x27B0},   {0x27BF, 0x27BF},
    {0x2B1B, 0x2B1C},   {0x2B50, 0x2B50},   {0x2B55, 0x2B55},   {0x2E80, 0x303E},
    {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},   {0xA000, 0xA4CF},
    {0xA960, 0xA97F},   {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE10, 0xFE19},
    {0xFE30, 0xFE6F},   {0xFF00, 0xFF60},   {0xFFE0, 0xFFE6},   {0x16FE0, 0x16FE4},
    {0x17000, 0x18AFF}, {0x1B000, 0x1B2FF}, {0x1F004, 0x1F004}, {0x1F0CF, 0x1F0CF},
    {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A}, {0x1F200, 0x1F202}, {0x1F210, 0x1F23B},
    {0x1F240, 0x1F248}, {0x1F250, 0x1F251}, {0x1F260, 0x1F265}, {0x1F300, 0x1F320},
    {0x1F32D, 0x1F335}, {0x1F337, 0x1F37C}, {0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA},
    {0x1F3CF, 0x1F3D3}, {0x1F3E0, 0x1F3F0}, {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E},
    {0x1F440, 0x1F440}, {0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D}, {0x1F54B, 0x1F54E},
    {0x1F550, 0x1F567}, {0x1F57A, 0x1F57A}, {0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4},
    {0x1F5FB, 0x1F64F}, {0x1F680, 0x1F6C5}, {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2},
    {0x1F6D5, 0x1F6D7}, {0x1F6EB, 0x1F6EC}, {0x1F6F4, 0x1F6FC}, {0x1F7E0, 0x1F7EB},
    {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945}, {0x1F947, 0x1F9FF}, {0x1FA70, 0x1FAFF},
    {0x20000, 0x2FFFD}, {0x30000, 0x3FFFD},
};

template <size_t N>
bool In(const Range (&table)[N], char32_t c) {
  auto it = std::upper_bound(std::begin(table), std::end(table), c,
                             [](char32_t v, const Range& r) { return v < r.first; });
  return it != std::begin(table) && c <= (it - 1)->last;
}

// Decodes one code point at s[i]; `len` gets its byte length. Invalid sequences give
// U+FFFD with length 1.
char32_t Decode(std::string_view s, size_t i, size_t* len) {
  const auto b = static_cast<unsigned char>(s[i]);
  *len = 1;
  if (b < 0x80) return b;
  int n = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0xFFFD;
  char32_t c = b & (0x7F >> n);
  for (int k = 1; k < n; ++k) {
    auto cb = static_cast<unsigned char>(s[i + k]);
    if ((cb & 0xC0) != 0x80) return 0xFFFD;
    c = (c << 6) | (cb & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
      (c >= 0xD800 && c <= 0xDFFF))
    return 0xFFFD;
  *len = static_cast<size_t>(n);
  return c;
}

// Skips an escape sequence starting at s[i] (== ESC); returns the index after it.
size_t SkipEscape(std::string_view s, size_t i) {
  if (i + 1 >= s.size()) return s.size();
  char k = s[i + 1];
  if (k == '[') {  // CSI: parameters and intermediates, then a final byte 0x40-0x7E
    size_t j = i + 2;
    while (j < s.size() && !(s[j] >= 0x40 && s[j] <= 0x7E)) ++j;
    return std::min(s.size(), j + 1);
  }
  if (k == ']' || k == 'P' || k == '_' || k == '^') {  // OSC, DCS...: up to BEL or ESC '\'
    for (size_t j = i + 2; j < s.size(); ++j) {
      if (s[j] == '\a') return j + 1;
      if (s[j] == '\x1b' && j + 1 < s.size() && s[j + 1] == '\\') return j + 2;
    }
    return s.size();
  }
  return i + 2;  // two-byte sequences (ESC 7, ESC =, ...)
}

}  // namespace

int CodepointWidth(char32_t c) {
  if (c < 0x20 || (c >= 0x7F && c < 0xA0)) return 0;
  if (c < 0x300) return 1;
  if (In(kZeroWidth, c)) return 0;
  return In(kWide, c) ? 2 : 1;
}

int DisplayWidth(std::string_view s) {
  int w = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len;
    w += CodepointWidth(Decode(s, i, &len));
    i += len;
  }
  return w;
}

std::string FitWidth(std::string_view s, int columns) {
  int w = 0;
  size_t i = 0;
  while (i < s.size()) {
    size_t len;
    int cw = CodepointWidth(Decode(s, i, &len));
    if (w + cw > columns) break;
    w += cw;
    i += len;
  }
  // Zero-width marks after the last character belong to it.
  while (i < s.size()) {
    size_t len;
    if (CodepointWidth(Decode(s, i, &len)) != 0) break;
    i += len;
  }
  return std::string(s.substr(0, i));
}

std::string Printable(std::string_view line) {
  // What a terminal shows after a carriage return is what came after it (a later, shorter
  // redraw leaves the rest; keeping the last non-empty segment is close enough).
  std::string_view shown;
  for (size_t pos = 0;;) {
    size_t p = line.find('\r', pos);
    std::string_view seg = line.substr(pos, p == std::string_view::npos ? p : p - pos);
    if (!seg.empty()) shown = seg;
    if (p == std::string_view::npos) break;
    pos = p + 1;
  }
  line = shown;
  std::string out;
  int col = 0;
  for (size_t i = 0; i < line.size();) {
    char c = line[i];
    if (c == '\x1b') {
      i = SkipEscape(line, i);
      continue;
    }
    if (c == '\t') {
      int n = 8 - col % 8;
      out.append(static_cast<size_t>(n), ' ');
      col += n;
      ++i;
      continue;
    }
    size_t len;
    char32_t cp = Decode(line, i, &len);
    if (cp == 0xFFFD && len == 1 && static_cast<unsigned char>(c) >= 0x80) {
      out += '?';
      ++col;
    } else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
      // other control characters move nothing we can account for
    } else {
      out.append(line.substr(i, len));
      col += CodepointWidth(cp);
    }
    i += len;
  }
  return out;
}

std::vector<std::string> WrapToWidth(std::string_view text, int columns) {
  std::vector<std::string> out;
  columns = std::max(columns, 1);
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    do {
      std::string piece = FitWidth(line, columns);
      if (piece.empty() && !line.empty()) piece = std::string(line.substr(0, 1));  // too narrow
      out.push_back(piece);
      line.remove_prefix(piece.size());
    } while (!line.empty());
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

}  // namespace ocibuild::builder
