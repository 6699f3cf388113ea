#include "dockerfile-parser/unicode.h"

#include <algorithm>
#include <iterator>

namespace ocibuild::dockerfile {
namespace {

struct RuneRange {
  char32_t lo;
  char32_t hi;
};

#include "dockerfile-parser/unicode_tables.inc"

template <size_t N>
bool InRanges(const RuneRange (&table)[N], char32_t r) {
  auto it = std::upper_bound(std::begin(table), std::end(table), r,
                             [](char32_t v, const RuneRange& rr) { return v < rr.lo; });
  if (it == std::begin(table)) return false;
  --it;
  return r <= it->hi;
}

}  // namespace

char32_t DecodeRune(std::string_view s, size_t pos, size_t* width) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  *width = 1;
  if (b0 < 0x80) return b0;
  size_t need;
  char32_t r;
  char32_t min;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1, r = b0 & 0x1F, min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2, r = b0 & 0x0F, min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3, r = b0 & 0x07, min = 0x10000;
  } else {
    return kRuneError;
  }
  if (pos + need >= s.size()) return kRuneError;
  for (size_t i = 1; i <= need; ++i) {
    const auto b = static_cast<unsigned char>(s[pos + i]);
    if ((b & 0xC0) != 0x80) return kRuneError;
    r = (r << 6) | (b & 0x3F);
  }
  if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return kRuneError;
  *width = need + 1;
  return r;
}

void AppendRune(std::string* out, char32_t r) {
  if (r < 0x80) {
    out->push_back(static_cast<char>(r));
    return;
  }
  if (r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) r = kRuneError;
  if (r < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (r >> 6)));
  } else if (r < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (r >> 12)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (r >> 18)));
    out->push_back(static_cast<char>(0x80 | ((r >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((r >> 6) & 0x3F)));
  }
  out->push_back(static_cast<char>(0x80 | (r & 0x3F)));
}

bool IsLetterRune(char32_t r) {
  if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  return InRanges(kLetterRanges, r);
}

bool IsDigitRune(char32_t r) {
  if (r < 0x80) return r >= '0' && r <= '9';
  return InRanges(kDigitRanges, r);
}

bool IsSpaceRune(char32_t r) {
  switch (r) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

}  // namespace ocibuild::dockerfile
