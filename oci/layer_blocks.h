// The gzip blocks of big files in the layers this build has written, found again by content.
// A tree one step made is often committed a second time: `COPY --from=deps /app/node_modules`
// copies the deps stage's files, and the COPY's layer held the same data compressed again - most
// of such a step's time. The layer writer records where each block of a big file landed in its
// blob, and a later layer holding the same data splices those bytes in. Digests do not change: a
// big file's data is a run of blocks of its own (see PrecompressedFiles), and a block depends
// only on its input and its dictionary, the 32 KiB before it in the same file.
//
// So a block is found by the SHA-256 of its input and of the block before it in its file (none
// for a file's first): the same key means the same input and the same dictionary, so the same
// bytes. A strong hash and not a CRC: a RUN step can make data whose CRCs collide with another
// file's, and then the layer would hold that other file.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/content_store.h"
#include "oci/digest.h"
#include "oci/parallel_gzip.h"

namespace ocibuild::oci {

// A block of a big file as a layer writer wrote it: where it is in the layer's blob and what it
// was made of.
struct BlockRecord {
  std::string sha;       // hex SHA-256 of its input
  std::string prev_sha;  // of the block before it in the file; "" for a file's first block
  uint64_t offset = 0;
  uint32_t out_len = 0;
  uint32_t in_len = 0;
  uint32_t crc = 0;  // CRC-32 of its input (gzip's)
};

class LayerBlocks {
 public:
  // Blobs are read from `store` when a block is taken; a blob gone since costs a compression.
  explicit LayerBlocks(const ContentStore& store) : store_(store) {}
  LayerBlocks(const LayerBlocks&) = delete;
  LayerBlocks& operator=(const LayerBlocks&) = delete;

  // The blocks of the committed layer blob `blob`.
  void AddLayer(const Digest& blob, const std::vector<BlockRecord>& records);
  // The block made of input `sha` (`in_len` bytes) after a block made of `prev_sha`, if a layer
  // holds one.
  std::optional<GzipBlock> Block(std::string_view prev_sha, std::string_view sha,
                                 size_t in_len) const;
  size_t blocks() const;

 private:
  struct Piece {
    size_t blob = 0;  // index into blobs_
    uint64_t offset = 0;
    uint32_t out_len = 0;
    uint32_t in_len = 0;
    uint32_t crc = 0;
  };

  const ContentStore& store_;
  mutable std::mutex mu_;
  std::vector<Digest> blobs_;
  std::map<std::string, Piece, std::less<>> pieces_;  // by prev_sha + "/" + sha
};

}  // namespace ocibuild::oci
