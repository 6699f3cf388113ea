// The textual AST dump BuildKit's parser tests compare against (testfiles/*/result):
// one "(instr ["--flag"...] "arg"...)" line per instruction.
#pragma once

#include <string>
#include <string_view>

#include "dockerfile-parser/parser.h"

namespace ocibuild::dockerfile {

// Go's strconv.Quote: "\"", "\\", \n \t ..., \xHH for control and invalid bytes, \uHHHH for
// non-printable code points; printable non-ASCII stays literal.
std::string GoQuote(std::string_view s);

std::string DumpNode(const Node& node);
// All instructions, one per line, with a trailing newline.
std::string DumpAst(const ParsedDockerfile& file);

}  // namespace ocibuild::dockerfile
