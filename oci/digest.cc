#include "oci/digest.h"

#include "util/sha256.h"

namespace ocibuild::oci {

Result<Digest> Digest::Parse(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos)
    return Error{"invalid digest \"" + std::string(s) + "\": missing algorithm"};
  std::string_view algo = s.substr(0, colon), hex = s.substr(colon + 1);
  size_t want = 0;
  if (algo == "sha256")
    want = 64;
  else if (algo == "sha512")
    want = 128;
  else
    return Error{"invalid digest \"" + std::string(s) + "\": unsupported algorithm \"" +
                 std::string(algo) + "\""};
  if (hex.size() != want)
    return Error{"invalid digest \"" + std::string(s) + "\": want " + std::to_string(want) +
                 " hex characters, got " + std::to_string(hex.size())};
  for (char c : hex) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return Error{"invalid digest \"" + std::string(s) + "\": not lowercase hex"};
  }
  return Digest(std::string(algo), std::string(hex));
}

Digest Digest::OfBytes(std::string_view data) { return Sha256Hex(Sha256::HexOf(data)); }

}  // namespace ocibuild::oci
