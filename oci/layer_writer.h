// Writes a layer tarball from a rootfs directory and its metadata store.
//
// The tar is PAX (libarchive "pax restricted": plain ustar headers, with an extended header only
// where ustar cannot say it: long names/links, big ids or sizes, xattrs as SCHILY.xattr.*). It is
// deterministic: entries sorted by path component by component (a directory before its contents,
// an opaque marker first in its directory), no uname/gname, atime or ctime, mtimes truncated to
// seconds and clamped to SOURCE_DATE_EPOCH when given (BuildKit's rewrite-timestamp: only newer
// times are lowered). Owners, modes, device numbers and privileged xattrs come from the store,
// user.* xattrs from disk. Names of one inode after the first become hardlink entries.
//
// The tar streams through gzip (zlib, block-parallel on worker threads) or zstd (libzstd,
// multithreaded) into a sink while SHA-256 of both the tar (diff_id) and the compressed bytes
// (digest) are computed in the same pass.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/digest.h"
#include "oci/layer_blocks.h"
#include "oci/media_types.h"
#include "oci/metastore.h"
#include "oci/safe_path.h"
#include "util/result.h"

namespace ocibuild::oci {

class PrecompressedFiles;

inline constexpr char kMediaTypeLayerTar[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kMediaTypeLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kMediaTypeLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";

// One entry of a layer. `path` is a clean rootfs-relative path ("" is the root directory).
struct LayerChange {
  enum class Kind {
    kPath,      // the file at `path` as it is now on disk + in the store
    kWhiteout,  // `path` was deleted: emits "<dir>/.wh.<name>"
    kOpaque,    // the directory `path` hides everything below it: "<path>/.wh..wh..opq"
  };
  Kind kind = Kind::kPath;
  std::string path;

  bool operator==(const LayerChange&) const = default;
};

// The name an entry gets in the tar ("dir/" for directories is not included here).
std::string TarName(const LayerChange& c);
// Sorts into layer order (see above) and drops duplicates.
void SortChanges(std::vector<LayerChange>& changes);

// Compression: see oci/media_types.h (kUnknown is refused).

struct LayerWriteOptions {
  Compression compression = Compression::kGzip;
  // zlib 1..9 (-1: zlib's default, 6) or zstd 1..19 (0: zstd's default, 3).
  int level = -1;
  // Compression worker threads (gzip and zstd); 0 picks the hardware threads, at most 4. The
  // bytes written do not depend on it.
  int threads = 0;
  // Clamp for mtimes (seconds since the epoch), e.g. from SOURCE_DATE_EPOCH.
  std::optional<int64_t> source_date_epoch;
  // gzip blocks of big files made ahead of time (default level only); the bytes written do
  // not depend on it.
  const PrecompressedFiles* precompressed = nullptr;
  // gzip blocks of big files in layers written before (default level only); the bytes written
  // do not depend on it.
  const LayerBlocks* earlier_blocks = nullptr;
  // Whether LayerResult::blocks tells where this layer's big-file blocks are (default level).
  bool record_blocks = false;
};

// SOURCE_DATE_EPOCH from the environment, if set and a valid non-negative integer; an invalid
// value is an error that quotes it.
Result<std::optional<int64_t>> SourceDateEpochFromEnv();

struct LayerResult {
  Digest digest;      // of the compressed blob
  Digest diff_id;     // of the uncompressed tar
  uint64_t size = 0;  // compressed bytes
  uint64_t uncompressed_size = 0;
  std::string media_type;
  uint64_t entries = 0;
  uint64_t spliced_blocks = 0;  // gzip blocks taken from LayerWriteOptions::precompressed
  uint64_t reused_blocks = 0;   // gzip blocks taken from LayerWriteOptions::earlier_blocks
  // With record_blocks: every block of a big file in this layer (LayerBlocks::AddLayer).
  std::vector<BlockRecord> blocks;
};

using LayerSink = std::function<Status(std::string_view)>;

// Writes the changes (any order; sorted here) of `root` as a layer into `sink`.
Result<LayerResult> WriteLayer(const RootDir& root, const MetaStore& store,
                               std::vector<LayerChange> changes, const LayerWriteOptions& opts,
                               const LayerSink& sink);
// Same, into a new file at `out_path`.
Result<LayerResult> WriteLayerFile(const RootDir& root, const MetaStore& store,
                                   std::vector<LayerChange> changes, const LayerWriteOptions& opts,
                                   const std::string& out_path);

}  // namespace ocibuild::oci
