// ocibuild's entry point: parse flags, then run the passes of the chosen command.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>

#include "builder/trash.h"
#include "cli/app.h"
#include "cli/options.h"

extern char** environ;

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    // The detached emptier of the scratch trash a build leaves (builder/trash.h).
    if (args.size() == 2 && args[0] == ocibuild::builder::kEmptyTrashCommand) {
      ocibuild::builder::LowerOwnPriority();
      auto r = ocibuild::builder::EmptyTrash(args[1]);
      return r.ok() ? 0 : 1;
    }
    std::map<std::string, std::string> env;
    for (char** e = environ; *e; ++e) {
      std::string kv = *e;
      size_t eq = kv.find('=');
      if (eq != std::string::npos) env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
    }
    auto opts = ocibuild::cli::ParseArgs(args, env);
    if (!opts.ok()) {
      std::cerr << "ocibuild: " << opts.error().message << "\n";
      return 2;
    }
    return ocibuild::cli::Run(*opts, env);
  } catch (const std::exception& e) {
    std::cerr << "ocibuild: internal error: " << e.what() << "\n";
    return 70;
  }
}
