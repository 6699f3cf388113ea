// UTF-8 decoding and the few Unicode character classes the Dockerfile front end needs, with the
// same answers as Go's unicode/utf8 packages (BuildKit's lexer is written against those).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ocibuild::dockerfile {

inline constexpr char32_t kRuneError = 0xFFFD;

// Decodes the code point starting at s[pos] (pos < s.size()). Invalid or truncated sequences,
// overlong forms and surrogates decode as kRuneError with width 1, as utf8.DecodeRuneInString.
char32_t DecodeRune(std::string_view s, size_t pos, size_t* width);

// Appends the UTF-8 encoding of `r`; invalid code points are written as U+FFFD.
void AppendRune(std::string* out, char32_t r);

// unicode.IsLetter / unicode.IsDigit / unicode.IsSpace.
bool IsLetterRune(char32_t r);
bool IsDigitRune(char32_t r);
bool IsSpaceRune(char32_t r);

}  // namespace ocibuild::dockerfile
