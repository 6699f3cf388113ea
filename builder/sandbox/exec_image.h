// What the kernel would do with an executable: run a "#!" interpreter, load a PT_INTERP dynamic
// loader, or map a static binary. The sandbox must make these decisions itself because the
// kernel would look for interpreters on the host, not in the guest.
#pragma once

#include <string>

#include "util/result.h"

namespace ocibuild::sandbox {

struct ExecImage {
  // kForeignElf: an ELF for another machine (or 32-bit), which only an emulator runs.
  enum class Kind { kScript, kStaticElf, kDynamicElf, kForeignElf, kOther };
  Kind kind = Kind::kOther;
  std::string interp;      // "#!" interpreter or PT_INTERP (a guest path)
  std::string interp_arg;  // the optional single "#!" argument
};

// Reads the head of a host file. Errors carry the errno of open/read (ENOENT, EACCES, ...).
Result<ExecImage> InspectExecutable(const std::string& host_path);
// The same for a file we hold open; `name` is only for messages.
Result<ExecImage> InspectExecutableFd(int fd, const std::string& name);

}  // namespace ocibuild::sandbox
