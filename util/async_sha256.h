// SHA-256 on a thread of its own, for streams whose producer has other work to do (the layer
// writer reads files, feeds the compressor and hashes both the tar and the gzip: on one thread
// the hashing was half of a layer commit). Update copies the bytes and returns; at most
// kMaxQueued bytes wait, so memory stays bounded whatever the stream's length. Inputs that
// never fill a batch are hashed on the caller's thread and start no thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

#include "util/sha256.h"

namespace ocibuild {

class AsyncSha256 {
 public:
  static constexpr size_t kBatch = 1 << 20;
  static constexpr size_t kMaxQueued = 8 << 20;

  AsyncSha256() = default;
  ~AsyncSha256();
  AsyncSha256(const AsyncSha256&) = delete;
  AsyncSha256& operator=(const AsyncSha256&) = delete;

  void Update(const void* data, size_t n);
  // Waits for the bytes queued so far; lowercase hex, as Sha256::FinishHex.
  std::string FinishHex();

 private:
  void Push();
  void Loop();

  Sha256 sha_;  // touched by the worker only while it runs
  std::string cur_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  size_t queued_ = 0;
  bool closing_ = false;
  std::thread worker_;
};

}  // namespace ocibuild
