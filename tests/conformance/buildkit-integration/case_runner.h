// Runs one case: writes its files, runs its :setup, then its :script line by line — builds with
// the real ocibuild binary, checks on the resulting image (files, modes, owners, config,
// history), on the build's output, and comparisons with Docker's BuildKit.
#pragma once

#include <string>
#include <vector>

#include "tests/conformance/buildkit-integration/case_file.h"
#include "tests/conformance/buildkit-integration/environment.h"

namespace ocibuild::bki {

struct CaseOutcome {
  std::vector<std::string> failures;  // each names the script line it comes from
  std::vector<std::string> notes;     // what was skipped and why (e.g. no Docker daemon)
  std::string log;                    // the builds' output, for failure reports
};

CaseOutcome RunCase(Environment& env, const Case& c);

}  // namespace ocibuild::bki
