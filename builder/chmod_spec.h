// COPY/ADD --chmod: an octal mode ("0755", up to 07777) or a symbolic one in chmod(1)'s syntax
// ("u=rwx,go=rx", "go-w", "a+X"), as BuildKit accepts since Dockerfile 1.14. A symbolic mode is
// applied to each copied file's own mode, like BSD setmode(3) with a zero umask.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.h"

namespace ocibuild::builder {

class ChmodSpec {
 public:
  // A spec starting with a digit must be octal and at most 07777; BuildKit's message is kept:
  //   invalid chmod parameter: '64a'. it should be octal string and between 0 and 07777
  static Result<ChmodSpec> Parse(std::string_view spec);

  // The new permission bits (07777) for a file whose current mode (type bits included, so that
  // X sees directories) is `mode`.
  uint32_t Apply(uint32_t mode) const;
  // The octal mode, when the spec is one: BuildKit creates missing parent directories with it
  // (0755 otherwise).
  std::optional<uint32_t> octal() const { return octal_; }

 private:
  struct Action {
    uint32_t who = 0;  // bits the action may touch (0: all, as with no "ugoa")
    char op = '+';     // + - =
    uint32_t bits = 0;
    bool x_if_exec = false;  // X: x only for directories and files already executable by someone
    char copy_from = 0;      // u g o: the bits that class has
  };
  std::optional<uint32_t> octal_;
  std::vector<Action> actions_;
};

}  // namespace ocibuild::builder
