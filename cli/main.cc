// ocibuild's entry point: parse flags, then run the passes of the chosen command.
#include <unistd.h>

#include <cstdio>
#include <exception>
#include <iostream>

#include "cli/app.h"
#include "cli/options.h"

extern char** environ;

int main(int argc, char** argv) {
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
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
