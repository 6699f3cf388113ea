#include "cli/app.h"

#include <iostream>

namespace ocibuild::cli {

int Run(const Options& opts, const std::map<std::string, std::string>& /*env*/) {
  switch (opts.command) {
    case Command::kHelp:
      std::cout << UsageText();
      return 0;
    case Command::kVersion:
      std::cout << VersionText();
      return 0;
    case Command::kPrintPlan:
    case Command::kBuild:
    case Command::kDoctor:
      std::cerr << "ocibuild: this command is not implemented yet\n";
      return 1;
  }
  return 1;
}

}  // namespace ocibuild::cli
