#include "oci/blob_tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace ocibuild::oci {

Result<TarWriter> TarWriter::Create(const std::string& path) {
  TarWriter w;
  w.path_ = path;
  std::string tmpl = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return SysError("mkstemp", tmpl);
  ::close(fd);
  w.tmp_ = tmpl;
  w.a_ = archive_write_new();
  if (!w.a_) return Error{"archive_write_new: out of memory"};
  // pax keeps long names and large sizes exact; "restricted" only adds pax headers when needed,
  // so plain archives stay ustar-compatible for older readers.
  if (archive_write_set_format_pax_restricted(w.a_) != ARCHIVE_OK ||
      archive_write_open_filename(w.a_, w.tmp_.c_str()) != ARCHIVE_OK) {
    return w.ArchiveError("opening " + w.tmp_);
  }
  return w;
}

TarWriter::TarWriter(TarWriter&& o) noexcept
    : a_(std::exchange(o.a_, nullptr)), path_(std::move(o.path_)), tmp_(std::move(o.tmp_)) {
  o.tmp_.clear();
}

TarWriter& TarWriter::operator=(TarWriter&& o) noexcept {
  if (this != &o) {
    Abort();
    a_ = std::exchange(o.a_, nullptr);
    path_ = std::move(o.path_);
    tmp_ = std::move(o.tmp_);
    o.tmp_.clear();
  }
  return *this;
}

TarWriter::~TarWriter() {
  Abort();
}

void TarWriter::Abort() {
  if (a_) {
    archive_write_free(a_);
    a_ = nullptr;
  }
  if (!tmp_.empty()) {
    ::unlink(tmp_.c_str());
    tmp_.clear();
  }
}

Error TarWriter::ArchiveError(const std::string& what) const {
  const char* msg = a_ ? archive_error_string(a_) : nullptr;
  return Error{"writing " + path_ + ": " + what + ": " + (msg ? msg : "unknown libarchive error")};
}

Status TarWriter::Header(const std::string& name, bool dir, int64_t size) {
  if (!a_) return Error{"writing " + path_ + ": archive already finished"};
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, name.c_str());
  archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
  archive_entry_set_perm(e, dir ? 0755 : 0644);
  archive_entry_set_size(e, dir ? 0 : size);
  archive_entry_set_uid(e, 0);
  archive_entry_set_gid(e, 0);
  archive_entry_set_mtime(e, 0, 0);
  int r = archive_write_header(a_, e);
  archive_entry_free(e);
  if (r != ARCHIVE_OK) return ArchiveError("header for " + name);
  return Ok();
}

Status TarWriter::AddDirectory(const std::string& name) {
  return Header(name.ends_with('/') ? name : name + "/", true, 0);
}

Status TarWriter::AddFile(const std::string& name, std::string_view data) {
  OCIB_TRY(Header(name, false, static_cast<int64_t>(data.size())));
  if (!data.empty() &&
      archive_write_data(a_, data.data(), data.size()) != static_cast<la_ssize_t>(data.size()))
    return ArchiveError("data of " + name);
  return Ok();
}

Status TarWriter::AddFileFromFd(const std::string& name, int fd, int64_t size) {
  OCIB_TRY(Header(name, false, size));
  std::vector<char> buf(1 << 16);
  int64_t left = size;
  while (left > 0) {
    size_t want = static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(buf.size())));
    ssize_t n = ::read(fd, buf.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read", name);
    }
    if (n == 0) {
      return Error{"writing " + path_ + ": " + name + " ended " + std::to_string(left) +
                   " bytes early"};
    }
    if (archive_write_data(a_, buf.data(), static_cast<size_t>(n)) != n)
      return ArchiveError("data of " + name);
    left -= n;
  }
  return Ok();
}

Status TarWriter::Finish() {
  if (!a_) return Error{"writing " + path_ + ": archive already finished"};
  if (archive_write_close(a_) != ARCHIVE_OK) return ArchiveError("closing");
  archive_write_free(a_);
  a_ = nullptr;
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) return SysError("rename", tmp_ + " -> " + path_);
  tmp_.clear();
  return Ok();
}

}  // namespace ocibuild::oci
