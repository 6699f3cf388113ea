// The build context: the directory sent to the build, seen through .dockerignore. Resolves
// COPY/ADD sources (wildcards, directories, the context root) and hashes what they select, so
// the layer cache can tell whether a COPY must run again.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "builder/context_hash_cache.h"
#include "dockerfile-parser/dockerignore.h"
#include "oci/safe_path.h"
#include "util/result.h"

namespace ocibuild::builder {

// One source selected by a COPY/ADD argument.
struct SourceMatch {
  std::string rel;  // clean path relative to the source's root ("." for the root itself)
  bool is_dir = false;
  // COPY --parents: `rel` is the directory before the "/./" pivot (the root without one) and
  // what matches `include` below it is copied with its path relative to `rel`.
  std::optional<std::string> include;
};

// Resolves one COPY/ADD source in `root` as BuildKit's copy does: a path (a leading '/' means
// the root; symlinks on the way are followed in-root), or a pattern with Go filepath.Match
// wildcards in some components. A pattern may match nothing (BuildKit allows empty wildcards:
// `COPY package.json yarn.lock* ./`); a path that does not exist is an ENOENT error.
// `ignored` leaves out what .dockerignore excludes; `not_found` makes the ENOENT error.
Result<std::vector<SourceMatch>> ResolveSource(
    const oci::RootDir& root, std::string_view source,
    const std::function<bool(std::string_view)>& ignored,
    const std::function<Error(const std::string& rel)>& not_found);

// COPY --parents: splits the source at its first "/./" (the part after it is what keeps its
// path; without one, the whole path does), resolves the part before it (wildcards allowed), and
// requires the path to exist unless either part has wildcards.
Result<std::vector<SourceMatch>> ResolveParentsSource(
    const oci::RootDir& root, std::string_view source,
    const std::function<bool(std::string_view)>& ignored,
    const std::function<Error(const std::string& rel)>& not_found);

class BuildContext {
 public:
  // Ignore file: "<Dockerfile>.dockerignore" beside the Dockerfile when it exists, otherwise
  // "<context>/.dockerignore".
  static Result<BuildContext> Open(const std::string& dir, const std::string& dockerfile_path);

  const std::string& dir() const { return dir_; }
  const std::string& ignore_file() const { return ignore_file_; }
  bool Ignored(std::string_view rel) const {
    return !rel.empty() && rel != "." && ignore_.Matches(rel);
  }

  // ResolveSource (or ResolveParentsSource) in the context, with .dockerignore applied; a
  // missing path is an error naming it, as BuildKit reports it.
  Result<std::vector<SourceMatch>> Resolve(std::string_view source, bool parents = false) const;

  // Context-relative paths of everything under `rel` (itself included), not ignored, sorted;
  // directories end up before their contents.
  Result<std::vector<std::string>> Walk(const std::string& rel) const;

  // A digest over the names, types, modes, link targets and contents of everything `matches`
  // select (for --parents matches, what their pattern selects), with `excludes` (COPY
  // --exclude) applied. File contents are hashed once per
  // (path, device, inode, size, mtime, ctime) and remembered (see context_hash_cache.h).
  Result<std::string> Digest(const std::vector<SourceMatch>& matches,
                             const std::vector<std::string>& excludes) const;

  // Keeps the file hashes in `file` between builds (a local context's; read now). SaveHashes
  // writes them back after the build.
  void UseHashFile(const std::string& file);
  Status SaveHashes() const { return hashes_->Save(); }

 private:
  // Walk with each entry's lstat (the walk's root: stat, followed in-root).
  Result<std::vector<std::pair<std::string, struct stat>>> WalkStat(const std::string& rel) const;

  std::string dir_;
  std::string ignore_file_;
  dockerfile::Dockerignore ignore_;
  // Shared by copies of the context; locked inside (stages hash concurrently).
  std::shared_ptr<ContextHashCache> hashes_ = std::make_shared<ContextHashCache>();
};

}  // namespace ocibuild::builder
