// Renders a Dockerfile diagnostic the way a compiler does:
//
//   Dockerfile:3:5: unknown flag: --moutn (did you mean --mount?)
//      3 | RUN --moutn=type=cache,target=/x make
//        |     ^
//
// Column 0 means "the whole line": the header has no column and there is no caret.
#pragma once

#include <string>
#include <string_view>

namespace ocibuild::dockerfile {

std::string FormatDiagnostic(std::string_view filename, int line, int col, std::string_view message,
                             std::string_view line_text);

}  // namespace ocibuild::dockerfile
