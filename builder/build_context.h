// The build context: the directory sent to the build, seen through .dockerignore. Resolves
// COPY/ADD sources (wildcards, directories, the context root) and hashes what they select, so
// the layer cache can tell whether a COPY must run again.
#pragma once

#include <sys/stat.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "dockerfile-parser/dockerignore.h"
#include "util/result.h"

namespace ocibuild::builder {

// One source selected by a COPY/ADD argument.
struct SourceMatch {
  std::string rel;   // clean context-relative path ("." for the context root)
  bool is_dir = false;
};

class BuildContext {
 public:
  // Ignore file: "<Dockerfile>.dockerignore" beside the Dockerfile when it exists, otherwise
  // "<context>/.dockerignore".
  static Result<BuildContext> Open(const std::string& dir, const std::string& dockerfile_path);

  const std::string& dir() const { return dir_; }
  const std::string& ignore_file() const { return ignore_file_; }
  bool Ignored(std::string_view rel) const { return !rel.empty() && rel != "." && ignore_.Matches(rel); }

  // Resolves one COPY/ADD source: a path (a leading '/' means the context root) or a pattern
  // with Go filepath.Match wildcards, matched component by component. Symlinks are followed
  // only inside the context. No match is an error naming the source, as BuildKit reports it.
  Result<std::vector<SourceMatch>> Resolve(std::string_view source) const;

  // Context-relative paths of everything under `rel` (itself included), not ignored, sorted;
  // directories end up before their contents.
  Result<std::vector<std::string>> Walk(const std::string& rel) const;

  // A digest over the names, types, modes, link targets and contents of everything `matches`
  // select, with `excludes` (COPY --exclude) applied. File contents are hashed once per
  // (path, inode, size, mtime, ctime) and remembered, so rebuilds only read changed files.
  Result<std::string> Digest(const std::vector<SourceMatch>& matches,
                             const std::vector<std::string>& excludes) const;

 private:
  std::string dir_;
  std::string ignore_file_;
  dockerfile::Dockerignore ignore_;
  mutable std::map<std::string, std::pair<std::string, std::string>> hash_cache_;
};

}  // namespace ocibuild::builder
