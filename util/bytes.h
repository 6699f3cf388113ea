// Small binary records in the machine's own byte order (the files never leave the machine that
// wrote them): the metadata store and the unpacked-tree cache write theirs with these.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ocibuild {

class ByteWriter {
 public:
  void Raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { Raw(&v, sizeof v); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  void Str(std::string_view s) {  // length-prefixed
    U32(static_cast<uint32_t>(s.size()));
    out_.append(s);
  }
  const std::string& data() const { return out_; }

 private:
  std::string out_;
};

// Reads what ByteWriter wrote; past the end every read gives zero and ok() turns false.
class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  bool done() const { return in_.empty(); }
  bool Skip(size_t n) {
    if (!ok_ || in_.size() < n) return ok_ = false;
    in_.remove_prefix(n);
    return true;
  }
  uint8_t U8() { return Fixed<uint8_t>(); }
  uint32_t U32() { return Fixed<uint32_t>(); }
  uint64_t U64() { return Fixed<uint64_t>(); }
  std::string Str() {
    uint32_t n = U32();
    std::string_view at = in_;
    if (!Skip(n)) return {};
    return std::string(at.substr(0, n));
  }

 private:
  template <typename T>
  T Fixed() {
    T v{};
    std::string_view at = in_;
    if (Skip(sizeof v)) std::memcpy(&v, at.data(), sizeof v);
    return v;
  }
  std::string_view in_;
  bool ok_ = true;
};

}  // namespace ocibuild
