// Text for a terminal line that must not wrap: display widths of UTF-8 (East Asian wide
// characters take two columns, combining marks none), a program's output line made printable
// (escape sequences and control characters removed, tabs expanded, a carriage return keeping
// what the terminal would show), and cutting to a number of columns.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ocibuild::builder {

// Columns a code point takes: 0 (combining, zero-width), 1 or 2 (wide).
int CodepointWidth(char32_t c);
// Columns `s` takes; invalid UTF-8 bytes count one column each (Printable shows them as '?').
int DisplayWidth(std::string_view s);
// The longest prefix of `s` (printable text) that takes at most `columns` columns.
std::string FitWidth(std::string_view s, int columns);
// A line of program output as a terminal would show it, with nothing that moves the cursor or
// changes colours: ANSI/OSC escape sequences removed, a carriage return starting the line over
// (the last non-empty segment is kept: progress bars), tabs expanded to 8-column stops, other
// control characters dropped, invalid UTF-8 as '?'.
std::string Printable(std::string_view line);
// `text` (printable, may contain '\n') cut into lines of at most `columns` columns.
std::vector<std::string> WrapToWidth(std::string_view text, int columns);

}  // namespace ocibuild::builder
