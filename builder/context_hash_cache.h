// Content hashes of build-context files, remembered by what lstat says of each file, so that a
// rebuild reads only the files that changed (BuildKit keeps the same per-file digests with its
// local source's snapshot). Without it every build hashed every file its COPY steps select: a
// no-change rebuild of a 250 MB context spent ~2 s of its 2.5 s reading.
//
// A hash is reused only while the file's device, inode, size, mtime and ctime are what they were
// when it was read. ctime cannot be set from user space and moves on every write, so a changed
// file shows. One case does not: a file written again within the same timestamp tick as it was
// read. Hashes of files changed in the last kRacySeconds before they were read are therefore kept
// for this build only, never written to disk (git's "racily clean" rule, with a margin for
// filesystems whose timestamps have whole-second granularity).
//
// Stages build concurrently and each COPY asks for hashes: all methods take a lock.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "util/result.h"

namespace ocibuild::builder {

struct FileStamp {
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;

  static FileStamp Of(const struct stat& st);
  bool operator==(const FileStamp&) const = default;
};

class ContextHashCache {
 public:
  static constexpr int64_t kRacySeconds = 2;
  // Entries kept in the file at most (those used by the last build first).
  static constexpr size_t kMaxEntries = 200'000;

  // In memory only (remote contexts: their files are new every time).
  ContextHashCache() = default;
  // Backed by `file` (read now if it exists and is intact; a damaged file is ignored).
  explicit ContextHashCache(std::string file);

  // The remembered hash of context path `rel` if its stamp is unchanged.
  std::optional<std::string> Find(const std::string& rel, const FileStamp& stamp);
  // Records the hash of `rel`; `stamp` is what lstat gave before the file was read, and
  // `stat_ns` the time (CLOCK_REALTIME) just before that lstat.
  void Record(const std::string& rel, const FileStamp& stamp, const std::string& hex,
              int64_t stat_ns);
  static int64_t Now();
  // Writes the entries worth keeping to the file (temp name + rename); a no-op in memory only
  // or when nothing changed. Entries this build did not look at are kept after those it did.
  Status Save() const;

  size_t size() const;

 private:
  struct Entry {
    FileStamp stamp;
    std::string hex;
    bool persist = false;  // not racy
    bool used = false;     // looked up or recorded by this build
  };
  std::string file_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  bool dirty_ = false;
};

// The file that keeps the hashes of the local context `context_dir` under the state root:
// context-hashes/<digest of its real path>. Only the kMaxContexts most recently used contexts'
// files are kept.
constexpr size_t kMaxContexts = 32;
Result<std::string> ContextHashFile(const std::string& state_root, const std::string& context_dir);

}  // namespace ocibuild::builder
