#include "builder/chmod_spec.h"

#include <sys/stat.h>

namespace ocibuild::builder {
namespace {

constexpr uint32_t kUser = S_ISUID | S_IRWXU;
constexpr uint32_t kGroup = S_ISGID | S_IRWXG;
constexpr uint32_t kOther = S_IRWXO;
constexpr uint32_t kAll = kUser | kGroup | kOther | S_ISVTX;

Error BadNumber(std::string_view spec) {
  return Error{"invalid chmod parameter: '" + std::string(spec) +
               "'. it should be octal string and between 0 and 07777"};
}

}  // namespace

Result<ChmodSpec> ChmodSpec::Parse(std::string_view spec) {
  ChmodSpec c;
  if (spec.empty()) return Error{"invalid chmod parameter: empty"};
  if (spec[0] >= '0' && spec[0] <= '9') {
    if (spec.size() > 12 || spec.find_first_not_of("01234567") != std::string_view::npos)
      return BadNumber(spec);
    uint64_t v = std::stoull(std::string(spec), nullptr, 8);
    if (v > 07777) return BadNumber(spec);
    c.octal_ = static_cast<uint32_t>(v);
    return c;
  }
  auto bad = [&] {
    return Error{"invalid chmod parameter: '" + std::string(spec) +
                 "': neither an octal nor a symbolic mode (such as u=rwx,go=rx)"};
  };
  size_t i = 0;
  for (;;) {
    uint32_t who = 0;
    for (; i < spec.size(); ++i) {
      char w = spec[i];
      if (w == 'u') {
        who |= kUser;
      } else if (w == 'g') {
        who |= kGroup;
      } else if (w == 'o') {
        who |= kOther;
      } else if (w == 'a') {
        who |= kAll;
      } else {
        break;
      }
    }
    if (i >= spec.size()) return bad();
    // One or more "op perms" after the who: "u+r-w".
    do {
      Action a;
      a.who = who;
      a.op = spec[i++];
      if (a.op != '+' && a.op != '-' && a.op != '=') return bad();
      for (;
           i < spec.size() && spec[i] != ',' && spec[i] != '+' && spec[i] != '-' && spec[i] != '=';
           ++i) {
        switch (spec[i]) {
          case 'r':
            a.bits |= S_IRUSR | S_IRGRP | S_IROTH;
            break;
          case 'w':
            a.bits |= S_IWUSR | S_IWGRP | S_IWOTH;
            break;
          case 'x':
            a.bits |= S_IXUSR | S_IXGRP | S_IXOTH;
            break;
          case 'X':
            // setmode(3): "-X" clears x bits unconditionally.
            if (a.op == '-') {
              a.bits |= S_IXUSR | S_IXGRP | S_IXOTH;
            } else {
              a.x_if_exec = true;
            }
            break;
          case 's':
            if (who == 0 || (who & ~kOther) != 0) a.bits |= S_ISUID | S_ISGID;
            break;
          case 't':
            if (who == 0 || (who & ~kOther) != 0) a.bits |= S_ISVTX;
            break;
          case 'u':
          case 'g':
          case 'o':
            if (a.copy_from || a.bits) return bad();
            a.copy_from = spec[i];
            break;
          default:
            return bad();
        }
      }
      c.actions_.push_back(a);
    } while (i < spec.size() && spec[i] != ',');
    if (i >= spec.size()) break;
    ++i;  // ','
    if (i >= spec.size()) return bad();
  }
  return c;
}

uint32_t ChmodSpec::Apply(uint32_t mode) const {
  if (octal_) return *octal_;
  const uint32_t original = mode;
  uint32_t m = mode & 07777;
  for (const Action& a : actions_) {
    uint32_t who = a.who ? a.who : kAll;
    uint32_t bits = a.bits;
    if (a.x_if_exec && (S_ISDIR(original) || (original & (S_IXUSR | S_IXGRP | S_IXOTH))))
      bits |= S_IXUSR | S_IXGRP | S_IXOTH;
    if (a.copy_from) {
      uint32_t v = a.copy_from == 'u' ? (m >> 6) & 7 : a.copy_from == 'g' ? (m >> 3) & 7 : m & 7;
      bits |= (v << 6) | (v << 3) | v;
    }
    bits &= who;
    switch (a.op) {
      case '+':
        m |= bits;
        break;
      case '-':
        m &= ~bits;
        break;
      case '=':
        // '=' resets the classes named (their rwx and set-id bits; sticky only with 'a' or
        // none), then sets what is listed.
        m &= ~who;
        m |= bits;
        break;
    }
  }
  return m & 07777;
}

}  // namespace ocibuild::builder
