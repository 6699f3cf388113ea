#include "util/async_sha256.h"

#include <gtest/gtest.h>

namespace ocibuild {

TEST(AsyncSha256, MatchesSha256WhateverTheWrites) {
  std::string in;
  for (size_t i = 0; in.size() < 3 * AsyncSha256::kMaxQueued + 12345; ++i)
    in += std::to_string(i * 2654435761u);
  for (size_t n : {size_t{0}, size_t{3}, AsyncSha256::kBatch - 1, AsyncSha256::kBatch,
                   AsyncSha256::kBatch + 1, in.size()}) {
    std::string_view part(in.data(), n);
    for (size_t write : {size_t{1000}, size_t{65536}, size_t{3} << 20}) {
      AsyncSha256 h;
      for (size_t off = 0; off < part.size(); off += write)
        h.Update(part.data() + off, std::min(write, part.size() - off));
      EXPECT_EQ(h.FinishHex(), Sha256::HexOf(part)) << n << " bytes in writes of " << write;
    }
  }
  // Reusable after FinishHex, like Sha256.
  AsyncSha256 h;
  h.Update(in.data(), in.size());
  EXPECT_EQ(h.FinishHex(), Sha256::HexOf(in));
  h.Update("abc", 3);
  EXPECT_EQ(h.FinishHex(), Sha256::HexOf("abc"));
}

}  // namespace ocibuild
