// Compresses, while a RUN step runs, the big files the step has written, on CPU nothing else
// wants (the thread runs SCHED_IDLE): a step like apt-get install keeps one CPU busy (the
// sandbox's tracer and dpkg share one) and leaves the other idle, and most of the layer commit
// after it was gzip work on the very files it wrote. The layer writer splices the blocks in
// (oci/precompressed_files.h); the layer's bytes do not depend on any of this.
//
// Every `interval` the thread walks the rootfs for regular files of at least
// PrecompressedFiles::kMinSize changed since the step started and left alone for `settle`
// (a file still being written would be compressed twice), and compresses those not done yet.
// Only directories whose entries changed during the step have their files looked at.
// It only reads: a file changed after it was read is found out by the layer writer.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "oci/precompressed_files.h"

namespace ocibuild::builder {

class Precompressor {
 public:
  struct Options {
    std::chrono::milliseconds interval{250};
    std::chrono::milliseconds settle{500};
  };
  // Starts the thread; files changed at or after `since` (CLOCK_REALTIME, when the step
  // started; the coarse clock of file times is allowed for) are candidates.
  Precompressor(std::string rootfs, oci::PrecompressedFiles& out, struct timespec since,
                Options opts);
  Precompressor(std::string rootfs, oci::PrecompressedFiles& out, struct timespec since)
      : Precompressor(std::move(rootfs), out, since, Options{}) {}
  // Stops the thread (within one block's compression) and joins it.
  ~Precompressor();
  Precompressor(const Precompressor&) = delete;
  Precompressor& operator=(const Precompressor&) = delete;

  // Passes over the tree so far (for tests).
  int passes() const { return passes_.load(); }

 private:
  void Loop();
  // `entries_changed`: the directory's ctime is not older than the step.
  void Walk(int dir_fd, int depth, bool entries_changed);
  void Consider(int dir_fd, const char* name, const struct stat& st);

  const std::string rootfs_;
  oci::PrecompressedFiles& out_;
  const struct timespec since_;
  const Options opts_;
  std::atomic<bool> stop_{false};
  std::atomic<int> passes_{0};
  std::chrono::steady_clock::duration compressing_{};  // of the current pass (thread only)
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace ocibuild::builder
