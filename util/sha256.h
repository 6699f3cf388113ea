// Streaming SHA-256 (OpenSSL EVP).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ocibuild {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t len);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // Lowercase hex of the digest; the hasher is reset afterwards.
  std::string FinishHex();
  uint64_t bytes() const { return bytes_; }

  static std::string HexOf(std::string_view data);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  uint64_t bytes_ = 0;
};

}  // namespace ocibuild
