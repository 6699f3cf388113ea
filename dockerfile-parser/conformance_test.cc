// Data-driven over ../shared/conformance/buildkit: every parser case must dump byte for byte
// as BuildKit's parser does, every negative case must be rejected. A missing folder fails.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "dockerfile-parser/ast_dump.h"
#include "dockerfile-parser/instructions.h"
#include "dockerfile-parser/parser.h"

namespace ocibuild::dockerfile {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path ConformanceDir() {
  const char* dir = std::getenv("OCIBUILD_CONFORMANCE");
  return dir ? fs::path(dir) / "buildkit" : fs::path();
}

std::vector<fs::path> Cases(const std::string& sub) {
  std::vector<fs::path> out;
  fs::path root = ConformanceDir() / sub;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(root, ec))
    if (e.is_directory()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(Conformance, FolderIsPresent) {
  ASSERT_NE(std::getenv("OCIBUILD_CONFORMANCE"), nullptr) << "OCIBUILD_CONFORMANCE is not set";
  ASSERT_TRUE(fs::is_directory(ConformanceDir() / "testfiles"))
      << "missing " << (ConformanceDir() / "testfiles");
  ASSERT_TRUE(fs::is_directory(ConformanceDir() / "testfiles-negative"))
      << "missing " << (ConformanceDir() / "testfiles-negative");
}

TEST(Conformance, ParserDumpsMatchBuildKit) {
  auto cases = Cases("testfiles");
  ASSERT_EQ(cases.size(), 33u) << "expected the 33 BuildKit parser cases";
  int passed = 0;
  for (const auto& dir : cases) {
    SCOPED_TRACE(dir.filename().string());
    auto parsed = ParseDockerfile(Slurp(dir / "Dockerfile"));
    if (!parsed.ok()) {
      ADD_FAILURE() << dir.filename() << ": parse failed: " << parsed.error().message;
      continue;
    }
    std::string got = DumpAst(*parsed);
    std::string want = Slurp(dir / "result");
    if (got != want) {
      ADD_FAILURE() << dir.filename() << ": dump differs\n--- want\n" << want << "--- got\n" << got;
      continue;
    }
    ++passed;
  }
  EXPECT_EQ(passed, 33);
  std::printf("buildkit parser cases: %d/%zu\n", passed, cases.size());
}

TEST(Conformance, ParserCasesAlsoPassInstructionValidation) {
  // Every positive case is a Dockerfile BuildKit builds (apart from the deliberately odd flag
  // and HEALTHCHECK cases, which the instruction layer must reject with a message).
  for (const auto& dir : Cases("testfiles")) {
    SCOPED_TRACE(dir.filename().string());
    auto parsed = ParseDockerfile(Slurp(dir / "Dockerfile"));
    ASSERT_TRUE(parsed.ok());
    auto typed = ParseInstructions(*parsed);
    std::string name = dir.filename().string();
    if (name == "flags" || name == "health") {
      ASSERT_FALSE(typed.ok()) << name;
    } else if (typed.ok()) {
      SUCCEED();
    } else {
      ADD_FAILURE() << typed.error().message;
    }
  }
}

TEST(Conformance, NegativeCasesAreRejected) {
  auto cases = Cases("testfiles-negative");
  ASSERT_EQ(cases.size(), 4u);
  int rejected = 0;
  for (const auto& dir : cases) {
    SCOPED_TRACE(dir.filename().string());
    auto parsed = ParseDockerfile(Slurp(dir / "Dockerfile"));
    if (parsed.ok()) {
      ADD_FAILURE() << dir.filename() << " was accepted:\n" << DumpAst(*parsed);
      continue;
    }
    ++rejected;
  }
  EXPECT_EQ(rejected, 4);
  std::printf("buildkit negative cases rejected: %d/%zu\n", rejected, cases.size());
}

TEST(Conformance, NegativeCaseMessages) {
  auto msg = [](const char* name) {
    auto parsed =
        ParseDockerfile(Slurp(ConformanceDir() / "testfiles-negative" / name / "Dockerfile"));
    return parsed.ok() ? std::string("accepted") : parsed.error().message;
  };
  EXPECT_EQ(msg("empty_dockerfile"), "Dockerfile: file with no instructions");
  EXPECT_EQ(msg("only_comments"), "Dockerfile:3:1: file with no instructions\n   3 | \n     | ^");
  EXPECT_EQ(msg("env_no_value"),
            "Dockerfile:3:1: ENV must have two arguments\n   3 | ENV PATH\n     | ^");
  EXPECT_EQ(msg("shykes-nested-json"),
            "Dockerfile:1:1: when using JSON array syntax, arrays must be comprised of strings "
            "only\n   1 | CMD [ \"echo\", [ \"nested json\" ] ]\n     | ^");
}

}  // namespace
}  // namespace ocibuild::dockerfile
