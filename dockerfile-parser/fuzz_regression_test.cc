// Replays every input in testdata/fuzz-regressions/ (crashes found by scripts/fuzz-parser.sh)
// through the same path the fuzzer exercises; each must finish without crashing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dockerfile-parser/fuzz_target.h"

namespace ocibuild::dockerfile {
namespace {

TEST(FuzzRegressions, ReplayAll) {
  const char* td = std::getenv("OCIBUILD_TESTDATA");
  ASSERT_NE(td, nullptr) << "OCIBUILD_TESTDATA is not set";
  std::filesystem::path dir = std::filesystem::path(td) / "fuzz-regressions";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << "missing " << dir;
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename() == "README.md") continue;
    std::ifstream in(e.path(), std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    SCOPED_TRACE(e.path().string());
    FuzzOneInput(ss.str());
    ++n;
  }
  EXPECT_GT(n, 0) << "no regression inputs in " << dir;
}

}  // namespace
}  // namespace ocibuild::dockerfile
