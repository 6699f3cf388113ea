#include "util/result.h"

#include <cstring>

namespace ocibuild {

Error SysError(const std::string& call, const std::string& subject, int err) {
  std::string msg = call;
  if (!subject.empty()) msg += " " + subject;
  msg += ": ";
  msg += std::strerror(err);
  return Error{std::move(msg), err};
}

}  // namespace ocibuild
