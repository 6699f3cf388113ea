// The whole front end on arbitrary bytes: parse, dump, type, plan, format. Shared by the
// libFuzzer entry point (fuzz_parser.cc) and the regression test that replays past crashes.
#pragma once

#include <string_view>

namespace ocibuild::dockerfile {

void FuzzOneInput(std::string_view data);

}  // namespace ocibuild::dockerfile
