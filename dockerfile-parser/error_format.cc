#include "dockerfile-parser/error_format.h"

#include <algorithm>

namespace ocibuild::dockerfile {

std::string FormatDiagnostic(std::string_view filename, int line, int col, std::string_view message,
                             std::string_view line_text) {
  std::string out(filename);
  if (line > 0) {
    out += ":" + std::to_string(line);
    if (col > 0) out += ":" + std::to_string(col);
  }
  out += ": ";
  out += message;
  if (line <= 0) return out;
  // Long minified lines would drown the message; show a window around the column.
  constexpr size_t kMaxShown = 160;
  std::string_view shown = line_text;
  size_t caret_offset = col > 0 ? static_cast<size_t>(col - 1) : 0;
  bool cut_front = false;
  if (caret_offset > kMaxShown / 2 && shown.size() > kMaxShown) {
    size_t start = std::min(caret_offset - kMaxShown / 2, shown.size());
    shown.remove_prefix(start);
    caret_offset -= start;
    cut_front = true;
  }
  bool cut_back = shown.size() > kMaxShown;
  if (cut_back) shown = shown.substr(0, kMaxShown);

  std::string num = std::to_string(line);
  size_t width = std::max<size_t>(4, num.size() + 1);
  out += "\n" + std::string(width - num.size(), ' ') + num + " | ";
  if (cut_front) out += "...";
  out += shown;
  if (cut_back) out += "...";
  if (col <= 0) return out;
  out += "\n" + std::string(width, ' ') + " | ";
  if (cut_front) out += "   ";
  // Pad with the same tabs as the source so the caret lines up; count UTF-8 code points once.
  for (size_t i = 0; i < caret_offset && i < shown.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(shown[i]);
    if ((c & 0xC0) == 0x80) continue;
    out += c == '\t' ? '\t' : ' ';
  }
  out += '^';
  return out;
}

}  // namespace ocibuild::dockerfile
