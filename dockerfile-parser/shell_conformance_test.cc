// Runs BuildKit's own lexer test data (envVarTest, wordsTest) from the peer conformance folder.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "dockerfile-parser/shell_lex.h"
#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::dockerfile {
namespace {

// OCIBUILD_CONFORMANCE names the folder; without it, the documented default next to the
// source tree (OCIBUILD_SOURCE_DIR/../shared/conformance) is used.
std::string ConformanceDir() {
  const char* dir = std::getenv("OCIBUILD_CONFORMANCE");
  if (dir != nullptr && *dir != '\0') return dir;
  const char* src = std::getenv("OCIBUILD_SOURCE_DIR");
  if (src != nullptr && *src != '\0') return std::string(src) + "/../shared/conformance";
  return "";
}

// The data must be there: a missing folder is a broken checkout, not a reason to skip.
std::string ReadConformanceFile(const std::string& name) {
  const std::string dir = ConformanceDir();
  if (dir.empty()) {
    ADD_FAILURE() << "neither OCIBUILD_CONFORMANCE nor OCIBUILD_SOURCE_DIR is set (run through "
                     "ctest)";
    return "";
  }
  const std::string path = dir + "/buildkit/shell/" + name;
  auto content = ReadFile(path);
  if (!content.ok()) {
    ADD_FAILURE() << "cannot read " << path << ": " << content.error().message;
    return "";
  }
  return *content;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = Split(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

TEST(ShellConformance, EnvVarTest) {
  const std::string text = ReadConformanceFile("envVarTest");
  ASSERT_FALSE(text.empty());
  const Env env{{"PWD", "/home"}, {"SHELL", "bash"}, {"KOREAN", "한국어"}, {"NULL", ""}};
  const ShellLex lex('\\');
  int checked = 0;
  int passed = 0;
  int lineno = 0;
  for (const std::string& raw : Lines(text)) {
    ++lineno;
    if (StartsWith(raw, "#")) continue;
    const std::string_view line = TrimSpace(raw);
    if (line.empty()) continue;
    const std::vector<std::string> f = Split(line, '|');
    if (f.size() != 3) {
      ADD_FAILURE() << "envVarTest:" << lineno << ": malformed line: " << raw;
      continue;
    }
    const std::string platform(TrimSpace(f[0]));
    const std::string input(TrimSpace(f[1]));
    const std::string expected(TrimSpace(f[2]));
    if (platform == "W") continue;
    if (platform != "A" && platform != "U") {
      ADD_FAILURE() << "envVarTest:" << lineno << ": unknown platform " << platform;
      continue;
    }
    ++checked;
    auto got = lex.ProcessWord(input, env);
    if (expected == "error") {
      if (got.ok()) {
        ADD_FAILURE() << "envVarTest:" << lineno << ": " << input << " should fail, got \"" << *got
                      << "\"";
        continue;
      }
    } else if (!got.ok()) {
      ADD_FAILURE() << "envVarTest:" << lineno << ": " << input
                    << " failed: " << got.error().message << " (expected \"" << expected << "\")";
      continue;
    } else if (*got != expected) {
      ADD_FAILURE() << "envVarTest:" << lineno << ": " << input << " gave \"" << *got
                    << "\", expected \"" << expected << "\"";
      continue;
    }
    ++passed;
  }
  std::cout << "envVarTest: " << passed << "/" << checked << " lines pass\n";
  // The upstream file has well over 200 A/U cases; far fewer means a truncated copy.
  EXPECT_GE(checked, 200);
  EXPECT_EQ(passed, checked);
}

TEST(ShellConformance, WordsTest) {
  const std::string text = ReadConformanceFile("wordsTest");
  ASSERT_FALSE(text.empty());
  Env env;
  const ShellLex lex('\\');
  int checked = 0;
  int passed = 0;
  int lineno = 0;
  for (const std::string& line : Lines(text)) {
    ++lineno;
    if (StartsWith(line, "#")) continue;
    if (StartsWith(line, "ENV ")) {
      std::string_view kv = line;
      kv.remove_prefix(3);
      while (!kv.empty() && kv.front() == ' ') kv.remove_prefix(1);
      auto [k, v] = SplitOnce(kv, '=');
      env.Set(k, v);
      continue;
    }
    const std::vector<std::string> f = Split(line, '|');
    if (f.size() != 2) {
      ADD_FAILURE() << "wordsTest:" << lineno << ": malformed line: " << line;
      continue;
    }
    ++checked;
    const std::string input(TrimSpace(f[0]));
    std::string_view rhs = f[1];
    while (!rhs.empty() && rhs.front() == ' ') rhs.remove_prefix(1);
    const std::vector<std::string> expected = Split(rhs, ',');
    auto got = lex.ProcessWords(input, env);
    const std::vector<std::string> words = got.ok() ? *got : std::vector<std::string>{"error"};
    if (words != expected) {
      ADD_FAILURE() << "wordsTest:" << lineno << ": " << input << " gave [" << Join(words, "|")
                    << "], expected [" << Join(expected, "|") << "]"
                    << (got.ok() ? "" : " error: " + got.error().message);
      continue;
    }
    ++passed;
  }
  std::cout << "wordsTest: " << passed << "/" << checked << " lines pass\n";
  EXPECT_GE(checked, 20);
  EXPECT_EQ(passed, checked);
}

}  // namespace
}  // namespace ocibuild::dockerfile
