// Build contexts that are not a local directory, as `docker build` takes them: a git
// repository URL (`https://host/repo.git#ref:subdir`, BuildKit's query form too), an http(s)
// URL of a tar archive (any compression) or of a plain Dockerfile, and "-" (a tar archive or a
// Dockerfile on stdin). Each becomes a local directory; the source's time is kept for
// SOURCE_DATE_EPOCH=context (BuildKit: the commit's, the response's Last-Modified, else the
// newest file in the archive).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/fs.h"
#include "util/result.h"

namespace ocibuild::builder {

struct LocalContext {
  std::optional<TempDir> dir;  // owns the fetched tree (none for a local directory)
  std::string root;            // the context directory
  // The source was a Dockerfile by itself (a plain-text URL, stdin): its text, with an empty
  // context.
  std::optional<std::string> dockerfile;
  std::optional<int64_t> epoch;  // for SOURCE_DATE_EPOCH=context; none for a local directory
};

bool IsRemoteContext(std::string_view spec);

// Fetches `spec` into a new directory under `work_dir`; `stdin_fd` is read for "-".
Result<LocalContext> FetchRemoteContext(const std::string& spec, const std::string& work_dir,
                                        int stdin_fd);

// SOURCE_DATE_EPOCH from a remote source (BuildKit's SOURCE_DATE_EPOCH=<stage> with one ADD):
// a git repository's commit time, or an http(s) file's Last-Modified, else the newest file in
// it when it is an archive; none otherwise.
Result<std::optional<int64_t>> RemoteSourceEpoch(const std::string& src,
                                                 const std::string& checksum,
                                                 const std::string& work_dir);

}  // namespace ocibuild::builder
