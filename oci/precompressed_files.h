// Gzip blocks of files compressed ahead of time: while a RUN step still runs, the big files it
// wrote are compressed on CPU the step leaves idle, and the layer written after the step splices
// the blocks in instead of compressing that data again (see ParallelGzip::WriteCompressed).
//
// In a gzip layer the data of a file of at least kMinSize bytes is a run of blocks of its own:
// a fresh dictionary where the data starts, a block per ParallelGzip::kBlock bytes from there.
// Such a block depends on the file's bytes alone, so it can be made before the layer exists;
// the layer's bytes are the same whether or not a block was made ahead. Blocks are kept in an
// unlinked spill file (not in memory) and found by the file's identity: device, inode, size,
// mtime and ctime as they were when it was read. The layer writer takes a block only when its
// length and the SHA-256 of its input also match the data it reads (a file rewritten through a
// shared mapping keeps its stat, and a CRC can be forged), so a file changed in a way the stat
// missed costs a recompression, never a wrong layer.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "oci/parallel_gzip.h"
#include "util/fs.h"
#include "util/result.h"

namespace ocibuild::oci {

class PrecompressedFiles {
 public:
  static constexpr uint64_t kMinSize = 256 << 10;
  // The only gzip level blocks are made for: the default (ISA-L) one.
  static constexpr int kLevel = -1;

  // The spill file is made (and unlinked at once) in `dir`.
  static Result<std::unique_ptr<PrecompressedFiles>> Create(const std::string& dir);

  // Compresses the regular file open as `fd`, whose fstat is `st`. Keeps nothing when `stop` is
  // set before the end or the file changed while it was read.
  Status Add(int fd, const struct stat& st, const std::atomic<bool>& stop);
  // Whether blocks of the file as `st` describes it are here.
  bool Has(const struct stat& st) const;
  // Block `index` of that file, if it was made from the file as `st` describes it.
  std::optional<GzipBlock> Block(const struct stat& st, size_t index) const;
  size_t files() const;

 private:
  struct Piece {
    uint64_t offset = 0;  // in the spill file
    uint32_t out_len = 0;
    uint32_t crc = 0;
    uint32_t in_len = 0;
    std::string sha;  // of the input: the layer writer checks it where it hashes the data
  };
  struct Entry {
    int64_t size = 0, mtime_ns = 0, ctime_ns = 0;
    std::vector<Piece> pieces;
  };
  static bool Same(const Entry& e, const struct stat& st);

  explicit PrecompressedFiles(UniqueFd spill) : spill_(std::move(spill)) {}

  UniqueFd spill_;
  mutable std::mutex mu_;
  uint64_t spill_end_ = 0;
  std::map<std::pair<dev_t, ino_t>, Entry> files_;
};

}  // namespace ocibuild::oci
