#include "util/sha256.h"

#include <gtest/gtest.h>

namespace ocibuild {

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Sha256::HexOf(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::HexOf("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, StreamingEqualsOneShot) {
  std::string data(100000, 'x');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  Sha256 h;
  for (size_t i = 0; i < data.size(); i += 333) h.Update(std::string_view(data).substr(i, 333));
  EXPECT_EQ(h.bytes(), data.size());
  EXPECT_EQ(h.FinishHex(), Sha256::HexOf(data));
}

}  // namespace ocibuild
