#include "oci/layer_blocks.h"

namespace ocibuild::oci {
namespace {

std::string Key(std::string_view prev_sha, std::string_view sha) {
  std::string k;
  k.reserve(prev_sha.size() + 1 + sha.size());
  k.append(prev_sha).append("/").append(sha);
  return k;
}

}  // namespace

void LayerBlocks::AddLayer(const Digest& blob, const std::vector<BlockRecord>& records) {
  if (records.empty()) return;
  std::lock_guard lock(mu_);
  size_t b = blobs_.size();
  blobs_.push_back(blob);
  // A key already known keeps its first record: the same input after the same block compresses
  // to the same bytes wherever it was.
  for (const BlockRecord& r : records)
    pieces_.emplace(Key(r.prev_sha, r.sha), Piece{b, r.offset, r.out_len, r.in_len, r.crc});
}

std::optional<GzipBlock> LayerBlocks::Block(std::string_view prev_sha, std::string_view sha,
                                            size_t in_len) const {
  Piece p;
  Digest blob;
  {
    std::lock_guard lock(mu_);
    auto it = pieces_.find(Key(prev_sha, sha));
    if (it == pieces_.end() || it->second.in_len != in_len) return std::nullopt;
    p = it->second;
    blob = blobs_[p.blob];
  }
  auto fd = store_.Open(blob);
  if (!fd.ok()) return std::nullopt;
  return ReadGzipBlock(fd->get(), p.offset, p.out_len, p.crc, p.in_len, blob.str());
}

size_t LayerBlocks::blocks() const {
  std::lock_guard lock(mu_);
  return pieces_.size();
}

}  // namespace ocibuild::oci
