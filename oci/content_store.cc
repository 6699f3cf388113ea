#include "oci/content_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/fs.h"

namespace ocibuild::oci {

namespace {

Error NotFound(const Digest& d, const std::string& where) {
  return Error{"blob " + d.str() + " not found in " + where, ENOENT};
}

// Writes to <dir>/.tmp-XXXXXX; the blob directory is on the same filesystem as the final
// path, so the rename in Commit is atomic.
class FileBlobWriter : public BlobWriter {
 public:
  FileBlobWriter(const DirContentStore* store, std::string tmp, UniqueFd fd)
      : store_(store), tmp_(std::move(tmp)), fd_(std::move(fd)) {}
  ~FileBlobWriter() override {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }

  Status Write(std::string_view data) override {
    if (tmp_.empty()) return Error{"blob writer: write after commit"};
    OCIB_TRY(WriteAll(fd_.get(), data, tmp_));
    hash_.Update(data);
    written_ += static_cast<int64_t>(data.size());
    return Ok();
  }

  Result<Digest> Commit(const std::optional<Digest>& expected,
                        std::optional<int64_t> expected_size) override {
    if (tmp_.empty()) return Error{"blob writer: already committed"};
    Result<Digest> r = Finish(expected, expected_size);
    if (!r.ok()) ::unlink(tmp_.c_str());
    tmp_.clear();
    return r;
  }

  int64_t written() const override { return written_; }

 private:
  Result<Digest> Finish(const std::optional<Digest>& expected,
                        std::optional<int64_t> expected_size) {
    Digest got = Digest::Sha256Hex(hash_.FinishHex());
    if (expected && expected->algorithm() != "sha256") {
      return Error{"blob " + expected->str() + ": only sha256 content can be stored"};
    }
    if (expected_size && *expected_size != written_) {
      return Error{"blob size mismatch for " + (expected ? expected->str() : got.str()) +
                   ": expected " + std::to_string(*expected_size) + " bytes, got " +
                   std::to_string(written_)};
    }
    if (expected && *expected != got) {
      return Error{"blob digest mismatch: expected " + expected->str() + ", got " + got.str() +
                   " (" + std::to_string(written_) + " bytes)"};
    }
    if (::fchmod(fd_.get(), 0644) != 0) return SysError("fchmod", tmp_);
    if (::fsync(fd_.get()) != 0) return SysError("fsync", tmp_);
    fd_.reset();
    std::string dst = store_->BlobPath(got);
    if (::rename(tmp_.c_str(), dst.c_str()) != 0) return SysError("rename", tmp_ + " -> " + dst);
    return got;
  }

  const DirContentStore* store_;
  std::string tmp_;
  UniqueFd fd_;
  Sha256 hash_;
  int64_t written_ = 0;
};

}  // namespace

Result<DirContentStore> DirContentStore::Open(const std::string& root) {
  OCIB_TRY(MakeDirs(JoinPath(root, "blobs/sha256")));
  return DirContentStore(root);
}

std::string DirContentStore::BlobPath(const Digest& d) const {
  return JoinPath(root_, "blobs/" + d.algorithm() + "/" + d.hex());
}

Result<bool> DirContentStore::Has(const Digest& d) const {
  struct stat st;
  std::string p = BlobPath(d);
  if (::stat(p.c_str(), &st) == 0) return S_ISREG(st.st_mode);
  if (errno == ENOENT) return false;
  return SysError("stat", p);
}

Result<int64_t> DirContentStore::Size(const Digest& d) const {
  struct stat st;
  std::string p = BlobPath(d);
  if (::stat(p.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound(d, root_);
    return SysError("stat", p);
  }
  return static_cast<int64_t>(st.st_size);
}

Result<UniqueFd> DirContentStore::Open(const Digest& d) const {
  std::string p = BlobPath(d);
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return NotFound(d, root_);
    return SysError("open", p);
  }
  return UniqueFd(fd);
}

Result<std::unique_ptr<BlobWriter>> DirContentStore::NewWriter() {
  std::string tmpl = JoinPath(root_, "blobs/sha256/.tmp-XXXXXX");
  int fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
  if (fd < 0) return SysError("mkstemp", tmpl);
  return std::unique_ptr<BlobWriter>(new FileBlobWriter(this, tmpl, UniqueFd(fd)));
}

Result<std::string> ReadBlob(const ContentStore& store, const Digest& d, int64_t max_size) {
  OCIB_ASSIGN_OR_RETURN(int64_t size, store.Size(d));
  if (size > max_size) {
    return Error{"blob " + d.str() + " is " + std::to_string(size) + " bytes, more than the " +
                 std::to_string(max_size) + " allowed here"};
  }
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, store.Open(d));
  std::string out;
  out.reserve(static_cast<size_t>(size));
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read", "blob " + d.str());
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (static_cast<int64_t>(out.size()) > max_size)
      return Error{"blob " + d.str() + " grew past " + std::to_string(max_size) + " bytes"};
  }
  if (d.algorithm() == "sha256") {
    Digest got = Digest::OfBytes(out);
    if (got != d) return Error{"blob " + d.str() + " is corrupt: content hashes to " + got.str()};
  }
  return out;
}

Result<Descriptor> PutBlob(ContentStore& store, std::string_view media_type,
                           std::string_view bytes) {
  Descriptor desc = DescribeBytes(media_type, bytes);
  OCIB_ASSIGN_OR_RETURN(bool have, store.Has(desc.digest));
  if (have) return desc;
  OCIB_ASSIGN_OR_RETURN(auto w, store.NewWriter());
  OCIB_TRY(w->Write(bytes));
  OCIB_TRY(w->Commit(desc.digest, desc.size));
  return desc;
}

namespace {

Status Pump(int fd, const std::string& what, BlobWriter& w) {
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read", what);
    }
    if (n == 0) return Ok();
    OCIB_TRY(w.Write(std::string_view(buf, static_cast<size_t>(n))));
  }
}

}  // namespace

Result<Descriptor> PutFile(ContentStore& store, std::string_view media_type,
                           const std::string& path) {
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_RDONLY));
  OCIB_ASSIGN_OR_RETURN(auto w, store.NewWriter());
  OCIB_TRY(Pump(fd.get(), path, *w));
  Descriptor d;
  d.media_type = std::string(media_type);
  d.size = w->written();
  OCIB_ASSIGN_OR_RETURN(d.digest, w->Commit());
  return d;
}

Status CopyBlob(const ContentStore& from, ContentStore& to, const Descriptor& d) {
  OCIB_ASSIGN_OR_RETURN(bool have, to.Has(d.digest));
  if (have) return Ok();
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, from.Open(d.digest));
  OCIB_ASSIGN_OR_RETURN(auto w, to.NewWriter());
  OCIB_TRY(Pump(fd.get(), "blob " + d.digest.str(), *w));
  OCIB_TRY(w->Commit(d.digest, d.size));
  return Ok();
}

}  // namespace ocibuild::oci
