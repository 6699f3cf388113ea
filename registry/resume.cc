#include "registry/resume.h"

#include <charconv>
#include <string>

#include "util/strings.h"

namespace ocibuild::registry {
namespace {

std::optional<uint64_t> Number(std::string_view s) {
  s = TrimSpace(s);
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<ContentRange> ParseContentRange(std::string_view value) {
  std::string_view v = TrimSpace(value);
  if (!StartsWith(v, "bytes ")) return std::nullopt;
  v.remove_prefix(6);
  size_t dash = v.find('-'), slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash)
    return std::nullopt;
  auto first = Number(v.substr(0, dash));
  auto last = Number(v.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) return std::nullopt;
  ContentRange r{*first, *last, std::nullopt};
  std::string_view total = TrimSpace(v.substr(slash + 1));
  if (total != "*") {
    r.total = Number(total);
    if (!r.total || *r.total <= *last) return std::nullopt;
  }
  return r;
}

std::optional<uint64_t> UploadedBytesFromRange(std::string_view value) {
  std::string_view v = TrimSpace(value);
  if (StartsWith(v, "bytes=")) v.remove_prefix(6);
  size_t dash = v.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto first = Number(v.substr(0, dash));
  auto last = Number(v.substr(dash + 1));
  if (!first || !last || *first != 0) return std::nullopt;
  return *last == 0 ? 0 : *last + 1;
}

}  // namespace ocibuild::registry
