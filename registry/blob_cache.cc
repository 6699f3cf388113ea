#include "registry/blob_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "util/fs.h"
#include "util/sha256.h"

namespace ocibuild::registry {
namespace {

class CacheWriter final : public oci::BlobWriter {
 public:
  CacheWriter(const BlobCache& cache, std::string tmp, UniqueFd fd)
      : cache_(cache), tmp_(std::move(tmp)), fd_(std::move(fd)) {}
  ~CacheWriter() override {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }

  Status Write(std::string_view data) override {
    if (tmp_.empty()) return Error{"write to a committed blob writer"};
    OCIB_TRY(WriteAll(fd_.get(), data, tmp_));
    hash_.Update(data);
    written_ += static_cast<int64_t>(data.size());
    return Ok();
  }

  Result<oci::Digest> Commit(const std::optional<oci::Digest>& expected,
                             std::optional<int64_t> expected_size) override {
    if (tmp_.empty()) return Error{"blob writer committed twice"};
    oci::Digest got = oci::Digest::Sha256Hex(hash_.FinishHex());
    if (expected_size && *expected_size != written_)
      return Error{"blob " + (expected ? expected->str() : got.str()) + ": size " +
                   std::to_string(written_) + ", expected " + std::to_string(*expected_size)};
    if (expected && *expected != got)
      return Error{"blob " + expected->str() + ": content has digest " + got.str()};
    if (::fdatasync(fd_.get()) != 0) return SysError("fdatasync", tmp_);
    fd_.reset();
    std::string dst = cache_.BlobPath(got);
    if (::rename(tmp_.c_str(), dst.c_str()) != 0) return SysError("rename", tmp_ + " to " + dst);
    tmp_.clear();
    return got;
  }

  int64_t written() const override { return written_; }

 private:
  const BlobCache& cache_;
  std::string tmp_;
  UniqueFd fd_;
  Sha256 hash_;
  int64_t written_ = 0;
};

}  // namespace

Result<FileLock> LockFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) return SysError("open", path);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return SysError("flock", path);
  }
  return FileLock(std::move(fd));
}

std::string DefaultCacheRoot(const std::map<std::string, std::string>& env) {
  auto get = [&](const char* k) {
    auto it = env.find(k);
    return it == env.end() ? std::string() : it->second;
  };
  if (!get("XDG_CACHE_HOME").empty()) return JoinPath(get("XDG_CACHE_HOME"), "ocibuild");
  if (!get("HOME").empty()) return JoinPath(get("HOME"), ".cache/ocibuild");
  return "";
}

Result<std::unique_ptr<BlobCache>> BlobCache::Open(const std::string& root) {
  if (root.empty()) return Error{"blob cache: no directory (set XDG_CACHE_HOME or HOME)"};
  for (const char* sub : {"blobs/sha256", "tmp", "locks"}) OCIB_TRY(MakeDirs(JoinPath(root, sub)));
  return std::unique_ptr<BlobCache>(new BlobCache(root));
}

std::string BlobCache::BlobPath(const oci::Digest& d) const {
  return JoinPath(root_, "blobs/" + d.algorithm() + "/" + d.hex());
}

Result<bool> BlobCache::Has(const oci::Digest& d) const {
  struct stat st {};
  if (::stat(BlobPath(d).c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  return SysError("stat", BlobPath(d));
}

Result<int64_t> BlobCache::Size(const oci::Digest& d) const {
  struct stat st {};
  if (::stat(BlobPath(d).c_str(), &st) != 0) {
    int e = errno;
    return Error{"blob " + d.str() + " in cache " + root_ + ": " + std::strerror(e), e};
  }
  return static_cast<int64_t>(st.st_size);
}

Result<UniqueFd> BlobCache::Open(const oci::Digest& d) const {
  UniqueFd fd(::open(BlobPath(d).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    int e = errno;
    return Error{"blob " + d.str() + " in cache " + root_ + ": " + std::strerror(e), e};
  }
  return fd;
}

Result<std::unique_ptr<oci::BlobWriter>> BlobCache::NewWriter() {
  std::string tmpl = JoinPath(root_, "tmp/blob-XXXXXX");
  UniqueFd fd(::mkostemp(tmpl.data(), O_CLOEXEC));
  if (!fd) return SysError("mkostemp", tmpl);
  ::fchmod(fd.get(), 0644);
  return std::unique_ptr<oci::BlobWriter>(new CacheWriter(*this, tmpl, std::move(fd)));
}

Result<FileLock> BlobCache::LockDigest(const oci::Digest& d) const {
  return LockFile(JoinPath(root_, "locks/" + d.algorithm() + "-" + d.hex() + ".lock"));
}

}  // namespace ocibuild::registry
