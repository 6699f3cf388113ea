// Content-addressed blob storage. ContentStore is the small interface the image model, the
// registry client and the build cache share; DirContentStore keeps blobs as
// <root>/blobs/<algorithm>/<hex>, which is the layout of an OCI image layout directory.
//
// Writes go through a BlobWriter that hashes while writing to a temporary file next to the final
// location and renames it into place on Commit, so a blob path only ever holds complete,
// verified content.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "oci/descriptor.h"
#include "oci/digest.h"
#include "util/fd.h"
#include "util/result.h"
#include "util/sha256.h"

namespace ocibuild::oci {

class BlobWriter {
 public:
  virtual ~BlobWriter() = default;  // an uncommitted writer discards its data
  virtual Status Write(std::string_view data) = 0;
  // Publishes the blob and returns its digest. When `expected` (and/or `expected_size`) are
  // given, content that does not match is discarded and an error names both digests/sizes.
  virtual Result<Digest> Commit(const std::optional<Digest>& expected = std::nullopt,
                                std::optional<int64_t> expected_size = std::nullopt) = 0;
  virtual int64_t written() const = 0;
};

class ContentStore {
 public:
  virtual ~ContentStore() = default;
  virtual Result<bool> Has(const Digest& d) const = 0;
  // Size of a stored blob; an error naming the digest if absent (sys_errno ENOENT).
  virtual Result<int64_t> Size(const Digest& d) const = 0;
  // Opens a stored blob for reading; absent blobs fail as Size does.
  virtual Result<UniqueFd> Open(const Digest& d) const = 0;
  virtual Result<std::unique_ptr<BlobWriter>> NewWriter() = 0;
};

// Reads a whole blob and checks it against `d`; refuses blobs larger than `max_size` (manifests
// and configs are small; this keeps a corrupt store from exhausting memory).
Result<std::string> ReadBlob(const ContentStore& store, const Digest& d,
                             int64_t max_size = 64 << 20);
// Stores `bytes` and returns their descriptor.
Result<Descriptor> PutBlob(ContentStore& store, std::string_view media_type,
                           std::string_view bytes);
// Stores the contents of the file at `path`.
Result<Descriptor> PutFile(ContentStore& store, std::string_view media_type,
                           const std::string& path);
// Copies `d` from one store to another (no-op if present), verifying digest and size.
Status CopyBlob(const ContentStore& from, ContentStore& to, const Descriptor& d);

class DirContentStore : public ContentStore {
 public:
  // Uses (creating if needed) <root>/blobs/sha256.
  static Result<DirContentStore> Open(const std::string& root);

  Result<bool> Has(const Digest& d) const override;
  Result<int64_t> Size(const Digest& d) const override;
  Result<UniqueFd> Open(const Digest& d) const override;
  Result<std::unique_ptr<BlobWriter>> NewWriter() override;

  const std::string& root() const { return root_; }
  // <root>/blobs/<algorithm>/<hex>
  std::string BlobPath(const Digest& d) const;

 private:
  explicit DirContentStore(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

}  // namespace ocibuild::oci
