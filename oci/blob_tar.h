// A minimal, reproducible tar writer for shipping image documents and blobs (OCI layout tars,
// docker load archives). Entries are owned by 0:0 with fixed modes and mtime 0, so the same
// content always yields the same archive. The archive is written to "<path>.tmp-XXXXXX" and
// renamed to path by Finish; a writer destroyed before Finish removes its temporary file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

struct archive;

namespace ocibuild::oci {

class TarWriter {
 public:
  static Result<TarWriter> Create(const std::string& path);
  TarWriter(TarWriter&&) noexcept;
  TarWriter& operator=(TarWriter&&) noexcept;
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;
  ~TarWriter();

  Status AddDirectory(const std::string& name);
  Status AddFile(const std::string& name, std::string_view data);
  // Streams exactly `size` bytes from `fd`; fails if the file is shorter.
  Status AddFileFromFd(const std::string& name, int fd, int64_t size);
  Status Finish();

 private:
  TarWriter() = default;
  Status Header(const std::string& name, bool dir, int64_t size);
  Error ArchiveError(const std::string& what) const;
  void Abort();

  struct archive* a_ = nullptr;
  std::string path_;
  std::string tmp_;
};

}  // namespace ocibuild::oci
