// RUN --mount=type=...,k=v,... (BuildKit's mount options: bind, cache, tmpfs, secret, ssh).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dockerfile-parser/shell_lex.h"
#include "util/result.h"

namespace ocibuild::dockerfile {

struct Mount {
  std::string spec;           // the --mount value as written (re-parsed after expansion)
  std::string type = "bind";  // bind | cache | tmpfs | secret | ssh
  std::string from;           // stage name, index or image (bind, cache)
  std::string source;
  std::string target;
  bool readonly = true;            // default: read-write for cache and tmpfs, read-only otherwise
  int64_t size_limit = 0;          // tmpfs size in bytes, 0 = unlimited
  std::string id;                  // cache/secret/ssh id (defaults filled in, see ParseMount)
  std::string sharing;             // cache: shared (default) | private | locked
  bool required = false;           // secret/ssh
  std::optional<std::string> env;  // secret: expose as this environment variable
  std::optional<uint32_t> mode;    // secret/ssh/cache: octal file mode
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;
};

// Parses one --mount value. With `env` (and `lex`), every value is expanded first; without
// it, values are taken literally and the ones containing '$' are left for the expanding pass.
// Derived defaults: cache id = target, secret id = source or basename(target), secret target
// = /run/secrets/<id>, ssh id = "default", ssh target = /run/buildkit/ssh_agent.<ssh_index>.
Result<Mount> ParseMount(std::string_view spec, const Env* env = nullptr,
                         const ShellLex* lex = nullptr, int ssh_index = 0);

// Go's strconv.ParseBool.
std::optional<bool> ParseGoBool(std::string_view s);
// docker/go-units RAMInBytes ("64m", "1g", "512MiB", "1024").
std::optional<int64_t> ParseRamInBytes(std::string_view s);

}  // namespace ocibuild::dockerfile
