// Block-parallel gzip (pigz's scheme): the input is cut into fixed 1 MiB blocks, each block is
// raw-deflated on a worker thread with the previous block's last 32 KiB as its dictionary and
// ends on a byte boundary (a sync flush; the last block finishes the stream), and the pieces are
// emitted in order between one gzip header and trailer (CRC-32 combined per block). The result
// is one ordinary gzip member that every gunzip reads.
//
// Two deflaters: zlib at an explicit level 1..9, or by default (level -1) ISA-L's igzip at its
// level 3, which on x86-64 compresses about ten times faster than zlib's default level 6 for a
// few percent more bytes (a Debian base layer: 53.7 MB against 49.5 MB, 0.45 s against 4.9 s of
// CPU) - compression was the largest cost of a cold build.
//
// The bytes depend only on the input and the level, never on the number of threads or on timing,
// so layers stay reproducible across runs (ISA-L picks its code by CPU features at run time; its
// maintainers promise identical output only per implementation: a build on another CPU family
// may compress differently, while the diff_ids never change). Small inputs (one block) are
// compressed on the caller's thread and start no thread at all. At most 2 blocks per worker are
// in flight, so memory stays bounded whatever the size of the input.
#pragma once

#include <zlib.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "util/result.h"

namespace ocibuild::oci {

// One block compressed on its own: raw deflate ending on a byte boundary, and the CRC-32 of its
// input. Blocks made ahead of time (a file's data compressed while a RUN step still runs) are
// spliced in by WriteCompressed.
struct GzipBlock {
  std::string out;
  uint32_t crc = 0;
  size_t in_len = 0;
  std::string in_sha;  // hex SHA-256 of the input, where its maker kept one
};

// The block whose compressed bytes are the `out_len` bytes at `offset` of `fd` (a spill file, a
// layer blob), made of `in_len` bytes with CRC-32 `crc`; nullopt when they cannot all be read.
std::optional<GzipBlock> ReadGzipBlock(int fd, uint64_t offset, size_t out_len, uint32_t crc,
                                       size_t in_len, const std::string& what);

class ParallelGzip {
 public:
  using Sink = std::function<Status(std::string_view)>;
  // Told, as a tagged block is handed to the sink, where in the output it starts, its length
  // and the CRC-32 of its input: a later layer can splice the same bytes (oci/layer_blocks.h).
  using BlockObserver =
      std::function<void(uint64_t tag, uint64_t offset, size_t out_len, uint32_t crc)>;
  static constexpr size_t kBlock = 1 << 20;
  static constexpr size_t kDict = 32 << 10;

  // Compresses `in` as a block that is not the last, with `dict` (at most kDict bytes) as its
  // dictionary, exactly as the stream would: a block made here and one made by Write are equal.
  static Result<GzipBlock> CompressBlock(int level, std::string_view in, std::string_view dict);
  // The gzip CRC-32 of `data` (ISA-L's, several times faster than zlib's).
  static uint32_t Crc32(std::string_view data);

  // level: zlib at 1..9, or -1 for the fast default (ISA-L level 3). threads: workers (>= 1).
  static Result<std::unique_ptr<ParallelGzip>> Create(int level, int threads, Sink sink);
  ~ParallelGzip();
  ParallelGzip(const ParallelGzip&) = delete;
  ParallelGzip& operator=(const ParallelGzip&) = delete;

  Status Write(const char* data, size_t n);
  // Write(in) and Cut(false) in one (`in` at most kBlock bytes), as one block tagged for the
  // observer (tag 0: not observed).
  Status WriteBlock(std::string_view in, uint64_t tag);
  void ObserveBlocks(BlockObserver observer) { observer_ = std::move(observer); }
  // Ends the current block here (if it has input). With `fresh_dict` the next block starts
  // without a dictionary, so it depends on nothing written before it.
  Status Cut(bool fresh_dict);
  // Appends `in` as one block compressed ahead of time: `block` must be CompressBlock of `in`
  // with the dictionary the stream has at this point (empty right after Cut(true)).
  Status WriteCompressed(std::string_view in, GzipBlock block, uint64_t tag = 0);
  // Writes the last block and the trailer; the object is done afterwards.
  Status Finish();

 private:
  struct Job {
    std::string in;
    size_t in_len = 0;
    std::string dict;
    bool last = false;
    std::string out;
    uLong crc = 0;
    bool done = false;
    bool precompressed = false;  // `out` and `crc` came with the job: nothing to compress
    uint64_t tag = 0;            // for the observer
    Status status;
  };
  // One deflate stream per thread, reused for every block (defined in the .cc: zlib or ISA-L).
  struct Deflater;
  void CompressZlib(Deflater& d, Job& job) const;
  void CompressIsal(Deflater& d, Job& job) const;

  ParallelGzip(int level, int threads, Sink sink);
  Status Submit(bool last, uint64_t tag = 0);
  Status ToSink(std::string_view data);
  Status Enqueue(std::shared_ptr<Job> job, bool last);
  void AdvanceDict(std::string_view in);
  Status WriteHeaderOnce();
  Status Emit(Job& job);
  // Waits for the oldest block in flight and emits it.
  Status EmitFront();
  void Compress(Deflater& d, Job& job) const;
  void Worker();
  void StopWorkers();

  const int level_;
  const int threads_;
  Sink sink_;
  BlockObserver observer_;
  uint64_t out_pos_ = 0;  // bytes handed to the sink
  std::string pending_;   // input not yet cut into a block
  std::string dict_;      // last 32 KiB of the previous block
  uLong crc_ = 0;
  uint64_t total_in_ = 0;
  bool header_written_ = false;
  bool finished_ = false;
  std::unique_ptr<Deflater> inline_deflater_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Job>> queue_;  // submitted, in output order
  size_t next_unclaimed_ = 0;               // index into queue_ of the next job for a worker
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace ocibuild::oci
