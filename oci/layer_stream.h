// Decompression of a layer blob on its own thread, so that inflating and writing files overlap
// on two cores the way `tar -xzf` (tar | gzip -d) does. Detects gzip, zstd or plain tar from
// the first bytes.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "util/result.h"

namespace ocibuild::oci {

enum class StreamFormat { kPlain, kGzip, kZstd };

class DecompressingReader {
 public:
  // Starts reading `fd` (not owned; must outlive the reader).
  static std::unique_ptr<DecompressingReader> Start(int fd, std::string what);
  ~DecompressingReader();
  DecompressingReader(const DecompressingReader&) = delete;
  DecompressingReader& operator=(const DecompressingReader&) = delete;

  // Next block of decompressed bytes, valid until the next call; 0 at the end, -1 on error.
  long Next(const void** data);
  // The producer's error, after Next returned -1.
  const Error& error() const { return error_; }
  StreamFormat format() const { return format_; }

 private:
  DecompressingReader(int fd, std::string what) : fd_(fd), what_(std::move(what)) {}
  void Run();
  Status Produce();
  bool Push(std::string block);  // false when the consumer went away

  int fd_;
  std::string what_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  std::string current_;
  bool done_ = false;
  bool cancelled_ = false;
  bool failed_ = false;
  Error error_;
  StreamFormat format_ = StreamFormat::kPlain;
};

}  // namespace ocibuild::oci
