// The headers that resumable transfers read: where a download continues (Content-Range of a
// 206) and how much of an upload the registry holds (Range of a 202/204 on the upload URL).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace ocibuild::registry {

struct ContentRange {
  uint64_t first = 0;
  uint64_t last = 0;              // inclusive
  std::optional<uint64_t> total;  // nullopt for "/*"
};

// "bytes 100-199/1000" (RFC 9110); nullopt for anything else.
std::optional<ContentRange> ParseContentRange(std::string_view value);

// The number of bytes an upload holds from the Range header of the registry's answer to a POST,
// PATCH or GET of the upload URL: "0-1233" (distribution's form) or "bytes=0-1233" -> 1234.
// "0-0" is 0: distribution writes it for an empty upload (and, ambiguously, for one byte; a
// PATCH then sent from 0 is refused and the upload starts over). nullopt when absent or
// malformed, or when the range does not start at 0.
std::optional<uint64_t> UploadedBytesFromRange(std::string_view value);

}  // namespace ocibuild::registry
