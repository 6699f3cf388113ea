// The on-disk, content-addressed cache of pulled blobs (default $XDG_CACHE_HOME/ocibuild, else
// ~/.cache/ocibuild), laid out as an OCI image layout's blobs/ so other tools can read it.
// Several builds share it: each blob is fetched under an exclusive flock on its digest, written
// to a temporary file in the cache and renamed into place only once verified.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "oci/content_store.h"
#include "util/fd.h"
#include "util/result.h"

namespace ocibuild::registry {

// An flock held until destruction.
class FileLock {
 public:
  FileLock() = default;
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  bool held() const { return fd_.valid(); }

 private:
  UniqueFd fd_;  // closing the descriptor releases the lock
};

// Exclusive lock on `path` (created if missing), waiting for other holders.
Result<FileLock> LockFile(const std::string& path);

// $XDG_CACHE_HOME/ocibuild, else $HOME/.cache/ocibuild; "" when neither variable is set.
std::string DefaultCacheRoot(const std::map<std::string, std::string>& env);

class BlobCache final : public oci::ContentStore {
 public:
  // Creates <root>/blobs/sha256, <root>/tmp and <root>/locks as needed.
  static Result<std::unique_ptr<BlobCache>> Open(const std::string& root);

  Result<bool> Has(const oci::Digest& d) const override;
  Result<int64_t> Size(const oci::Digest& d) const override;
  Result<UniqueFd> Open(const oci::Digest& d) const override;
  Result<std::unique_ptr<oci::BlobWriter>> NewWriter() override;

  // Serialises fetching of one digest across threads and processes: the holder fetches, the
  // others wait and then find the blob present.
  Result<FileLock> LockDigest(const oci::Digest& d) const;

  const std::string& root() const { return root_; }
  std::string BlobPath(const oci::Digest& d) const;

 private:
  explicit BlobCache(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace ocibuild::registry
