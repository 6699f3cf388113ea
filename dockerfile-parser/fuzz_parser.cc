// libFuzzer entry point (built with -DOCIBUILD_FUZZ=ON and clang; see scripts/fuzz-parser.sh).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dockerfile-parser/fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ocibuild::dockerfile::FuzzOneInput(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
