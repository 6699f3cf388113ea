#include <gtest/gtest.h>

#include "dockerfile-parser/error_format.h"
#include "dockerfile-parser/plan.h"

namespace ocibuild::dockerfile {
namespace {

TEST(FormatDiagnostic, CaretUnderTheColumn) {
  EXPECT_EQ(FormatDiagnostic("Dockerfile", 3, 5, "unknown flag: --moutn (did you mean --mount?)",
                             "RUN --moutn=type=cache,target=/x make"),
            "Dockerfile:3:5: unknown flag: --moutn (did you mean --mount?)\n"
            "   3 | RUN --moutn=type=cache,target=/x make\n"
            "     |     ^");
}

TEST(FormatDiagnostic, TabsAreKeptSoTheCaretLinesUp) {
  EXPECT_EQ(FormatDiagnostic("Dockerfile", 12, 3, "m", "\tX"),
            "Dockerfile:12:3: m\n  12 | \tX\n     | \t ^");
}

TEST(FormatDiagnostic, ColumnsAreBytesButTheCaretCountsCharacters) {
  // Byte column 4 is the 'b' of "éab" (é is two bytes); it is the third character.
  EXPECT_EQ(FormatDiagnostic("f", 1, 4, "m",
                             "\xC3\xA9"
                             "ab"),
            "f:1:4: m\n   1 | \xC3\xA9"
            "ab\n     |   ^");
}

TEST(FormatDiagnostic, WholeLineAndNoLine) {
  EXPECT_EQ(FormatDiagnostic("Dockerfile", 7, 0, "m", "RUN x"), "Dockerfile:7: m\n   7 | RUN x");
  EXPECT_EQ(FormatDiagnostic("Dockerfile", 0, 0, "m", ""), "Dockerfile: m");
}

TEST(FormatDiagnostic, WideLineNumbers) {
  EXPECT_EQ(FormatDiagnostic("D", 12345, 1, "m", "x"), "D:12345:1: m\n 12345 | x\n       | ^");
}

TEST(FormatDiagnostic, LongLinesAreWindowed) {
  std::string line = std::string(300, 'a') + "B" + std::string(300, 'c');
  std::string out = FormatDiagnostic("D", 1, 301, "m", line);
  std::string expected_src =
      "   1 | ..." + std::string(80, 'a') + "B" + std::string(79, 'c') + "...";
  EXPECT_NE(out.find(expected_src), std::string::npos) << out;
  EXPECT_NE(out.find("\n     |    " + std::string(80, ' ') + "^"), std::string::npos) << out;
}

// End-to-end: each error class names FILE:LINE:COL and shows the line.
std::string PlanError(std::string_view df, PlanOptions opts = {}) {
  auto r = PlanDockerfile(df, "Dockerfile", opts);
  return r.ok() ? "ok" : r.error().message;
}

TEST(Errors, FlagTypoInAMultiLineInstruction) {
  EXPECT_EQ(
      PlanError("FROM alpine\nRUN --network=none \\\n    --moutn=type=cache,target=/x make\n"),
      "Dockerfile:3:5: unknown flag: --moutn (did you mean mount?)\n"
      "   3 |     --moutn=type=cache,target=/x make\n"
      "     |     ^");
}

TEST(Errors, InstructionBeforeFrom) {
  EXPECT_EQ(PlanError("ARG V=1\nRUN x\nFROM a\n"),
            "Dockerfile:2:1: no build stage in current context\n   2 | RUN x\n     | ^");
}

TEST(Errors, UnknownInstruction) {
  EXPECT_EQ(PlanError("FROM a\nCOPPY x y\n"),
            "Dockerfile:2:1: unknown instruction: COPPY (did you mean COPY?)\n"
            "   2 | COPPY x y\n"
            "     | ^");
}

TEST(Errors, MountOptionPointsAtTheMount) {
  EXPECT_EQ(PlanError("FROM a\nRUN --mount=type=cache,target=/x,sharing=bogus make\n"),
            "Dockerfile:2:13: unsupported sharing value \"bogus\"\n"
            "   2 | RUN --mount=type=cache,target=/x,sharing=bogus make\n"
            "     |             ^");
}

}  // namespace
}  // namespace ocibuild::dockerfile
