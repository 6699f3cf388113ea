// ADD <url>: downloads over HTTP(S) with libcurl into a temporary file, hashing while it
// writes, and checks ADD --checksum before anything reaches the rootfs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/result.h"

namespace ocibuild::builder {

struct FetchedUrl {
  std::string path;                      // the downloaded file
  std::string file_name;                 // from the URL's path ("" when it ends in '/')
  std::string digest;                    // "sha256:<hex>" of the content
  std::optional<int64_t> last_modified;  // seconds since the epoch, from Last-Modified
};

// `checksum` ("sha256:<hex>", or "" for none) is verified; a mismatch is an error naming both
// digests and the URL, and the file is removed.
Result<FetchedUrl> FetchUrl(const std::string& url, const std::string& checksum,
                            const std::string& dest_dir);

bool IsRemoteSource(std::string_view src);

}  // namespace ocibuild::builder
