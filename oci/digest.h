// Content digests ("sha256:<64 hex>").
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "util/result.h"

namespace ocibuild::oci {

class Digest {
 public:
  Digest() = default;
  // Validates "algorithm:hex": sha256 (64 lowercase hex) or sha512 (128); other registered
  // algorithms are rejected with an error that quotes the input.
  static Result<Digest> Parse(std::string_view s);
  static Digest Sha256Hex(std::string hex) { return Digest("sha256", std::move(hex)); }
  static Digest OfBytes(std::string_view data);

  const std::string& algorithm() const { return algo_; }
  const std::string& hex() const { return hex_; }
  std::string str() const { return algo_.empty() ? "" : algo_ + ":" + hex_; }
  bool empty() const { return hex_.empty(); }
  // "sha256:0123456789ab" for logs.
  std::string Short() const { return algo_ + ":" + hex_.substr(0, 12); }

  auto operator<=>(const Digest&) const = default;

 private:
  Digest(std::string algo, std::string hex) : algo_(std::move(algo)), hex_(std::move(hex)) {}
  std::string algo_;
  std::string hex_;
};

}  // namespace ocibuild::oci
