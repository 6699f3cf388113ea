// Registry error documents ({"errors":[{"code","message","detail"}]}) turned into the text that
// goes into our errors, so a user sees the registry's own reason next to the HTTP status.
#pragma once

#include <string>

#include "registry/http_transport.h"

namespace ocibuild::registry {

// "HTTP 404 (MANIFEST_UNKNOWN: manifest unknown)"; "HTTP 502" when the body says nothing
// useful. The body is never echoed raw: only recognised fields, truncated.
std::string DescribeHttpError(const HttpResponse& resp);

// The first error code in a registry error document ("BLOB_UNKNOWN"), "" when there is none.
std::string RegistryErrorCode(const HttpResponse& resp);

}  // namespace ocibuild::registry
