// BuildKit's Dockerfile frontend integration tests, ported as data (cases/**/*.txt, described in
// README.md) and run against the real ocibuild binary: one gtest per case.
#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <functional>

#include <gtest/gtest.h>

#include "tests/conformance/buildkit-integration/case_file.h"
#include "tests/conformance/buildkit-integration/case_runner.h"
#include "tests/conformance/buildkit-integration/environment.h"
#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::bki {
namespace {

std::string CasesDir() {
  const char* src = std::getenv("OCIBUILD_SOURCE_DIR");
  return std::string(src ? src : OCIBUILD_DEFAULT_SOURCE_DIR) +
         "/tests/conformance/buildkit-integration/cases";
}

// "copy/wildcards" for cases/copy/wildcards.txt, sorted.
std::vector<std::string> ListCases() {
  std::vector<std::string> out;
  std::function<void(const std::string&, const std::string&)> walk = [&](const std::string& dir,
                                                                         const std::string& rel) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      std::string r = rel.empty() ? n : rel + "/" + n;
      if (e->d_type == DT_DIR) {
        walk(dir + "/" + n, r);
      } else if (EndsWith(n, ".txt")) {
        out.push_back(r.substr(0, r.size() - 4));
      }
    }
    ::closedir(d);
  };
  walk(CasesDir(), "");
  std::sort(out.begin(), out.end());
  return out;
}

class BuildkitIntegration : public ::testing::TestWithParam<std::string> {};

TEST_P(BuildkitIntegration, Case) {
  std::string name = GetParam();
  auto text = ReadFile(CasesDir() + "/" + name + ".txt");
  ASSERT_TRUE(text.ok()) << text.error().message;
  auto c = ParseCase(name, *text);
  ASSERT_TRUE(c.ok()) << c.error().message;
  std::string why;
  Environment* env = Environment::Get(&why);
  if (!env) GTEST_SKIP() << "*** SKIPPED: " << why << " ***";
  std::string xfail = c->xfail;
  if (xfail.empty() && ::getuid() != 0) xfail = c->xfail_unpriv;
  CaseOutcome o = RunCase(*env, *c);
  for (const auto& n : o.notes) std::cout << "note: " << n << "\n";
  if (!xfail.empty()) {
    EXPECT_FALSE(o.failures.empty()) << name << " is marked xfail (" << xfail
                                     << ") but now passes: remove the xfail line from the case";
    if (!o.failures.empty()) std::cout << "XFAIL (" << xfail << "): " << o.failures.front() << "\n";
    return;
  }
  for (const auto& f : o.failures) ADD_FAILURE() << f;
  if (!o.failures.empty()) std::cout << "---- build log ----\n" << o.log;
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (auto& ch : n)
    if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Cases, BuildkitIntegration, ::testing::ValuesIn(ListCases()), TestName);

}  // namespace
}  // namespace ocibuild::bki
