// Standard base64 (RFC 4648 with padding), as HTTP Basic credentials and config.json use it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ocibuild::registry {

std::string Base64Encode(std::string_view in);
// nullopt on malformed input; whitespace is not accepted.
std::optional<std::string> Base64Decode(std::string_view in);
// Unpadded base64url (RFC 4648 section 5), as JWTs use it.
std::string Base64UrlEncode(std::string_view in);

}  // namespace ocibuild::registry
