// Child processes: run-to-completion with captured output, or a long-lived Child that is
// killed and reaped when it goes out of scope.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/result.h"

namespace ocibuild {

struct SpawnOptions {
  // Full environment when set; otherwise the parent's environment plus `extra_env`.
  std::optional<std::vector<std::string>> env;
  std::map<std::string, std::string> extra_env;
  std::string cwd;
  std::optional<std::string> stdin_data;  // nullopt: /dev/null
  bool capture_stdout = true;             // false: inherit
  bool capture_stderr = true;             // false: inherit
  bool search_path = true;                // execvp semantics for argv[0]
};

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int term_signal = 0;
  std::string out;
  std::string err;
  bool success() const { return exit_code == 0; }
};

// Runs argv to completion. An Error means it could not be started; a non-zero exit is a result.
Result<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                 const SpawnOptions& opts = {});

// A started process owned by this object: destroying it sends SIGTERM (then SIGKILL after a grace
// period) to its process group and reaps it.
class Child {
 public:
  static Result<Child> Start(const std::vector<std::string>& argv, const SpawnOptions& opts = {},
                             const std::string& log_path = "");
  Child(Child&& o) noexcept;
  Child& operator=(Child&& o) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child();

  pid_t pid() const { return pid_; }
  bool Running();
  // Blocks until exit; returns the exit code (or -signal).
  int Wait();
  void Kill();

 private:
  Child() = default;
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = true;
};

// Quotes an argv for display in logs and errors.
std::string ShellQuote(const std::vector<std::string>& argv);

}  // namespace ocibuild
