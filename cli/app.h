// The commands: each is a short list of passes over the libraries.
#pragma once

#include <map>
#include <string>

#include "cli/options.h"

namespace ocibuild::cli {

// Returns the process exit status. Errors are printed here, with their context.
int Run(const Options& opts, const std::map<std::string, std::string>& env);

}  // namespace ocibuild::cli
