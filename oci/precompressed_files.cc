#include "oci/precompressed_files.h"

#include <fcntl.h>
#include <unistd.h>

#include "util/sha256.h"

namespace ocibuild::oci {
namespace {

int64_t Ns(const struct timespec& t) {
  return int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

}  // namespace

Result<std::unique_ptr<PrecompressedFiles>> PrecompressedFiles::Create(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    // No O_TMPFILE on this filesystem: a named file, unlinked at once.
    std::string path = JoinPath(dir, ".precompressed");
    fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0) ::unlink(path.c_str());
  }
  if (fd < 0) return SysError("open", JoinPath(dir, "(spill file)"));
  return std::unique_ptr<PrecompressedFiles>(new PrecompressedFiles(UniqueFd(fd)));
}

bool PrecompressedFiles::Same(const Entry& e, const struct stat& st) {
  return e.size == st.st_size && e.mtime_ns == Ns(st.st_mtim) && e.ctime_ns == Ns(st.st_ctim);
}

Status PrecompressedFiles::Add(int fd, const struct stat& st, const std::atomic<bool>& stop) {
  Entry entry{st.st_size, Ns(st.st_mtim), Ns(st.st_ctim), {}};
  std::string buf(ParallelGzip::kBlock, '\0');
  std::string dict;
  for (int64_t off = 0; off < st.st_size; off += static_cast<int64_t>(ParallelGzip::kBlock)) {
    if (stop.load(std::memory_order_relaxed)) return Ok();
    size_t want = static_cast<size_t>(
        std::min<int64_t>(st.st_size - off, static_cast<int64_t>(ParallelGzip::kBlock)));
    auto got = PReadFull(fd, buf.data(), want, off, "a file to precompress");
    // Shrank or unreadable: the layer writer compresses whatever it finds itself.
    if (!got.ok() || *got != want) return Ok();
    std::string_view chunk(buf.data(), want);
    OCIB_ASSIGN_OR_RETURN(GzipBlock block, ParallelGzip::CompressBlock(kLevel, chunk, dict));
    dict.assign(chunk.substr(want > ParallelGzip::kDict ? want - ParallelGzip::kDict : 0));
    Piece p{0, static_cast<uint32_t>(block.out.size()), block.crc, static_cast<uint32_t>(want),
            Sha256::HexOf(chunk)};
    {
      std::lock_guard lock(mu_);
      p.offset = spill_end_;
      spill_end_ += block.out.size();
    }
    OCIB_TRY(PWriteAll(spill_.get(), block.out, static_cast<int64_t>(p.offset),
                       "the spill file of precompressed blocks"));
    entry.pieces.push_back(p);
  }
  struct stat after;
  if (::fstat(fd, &after) != 0 || !Same(entry, after)) return Ok();
  std::lock_guard lock(mu_);
  files_[{st.st_dev, st.st_ino}] = std::move(entry);
  return Ok();
}

bool PrecompressedFiles::Has(const struct stat& st) const {
  std::lock_guard lock(mu_);
  auto it = files_.find({st.st_dev, st.st_ino});
  return it != files_.end() && Same(it->second, st);
}

std::optional<GzipBlock> PrecompressedFiles::Block(const struct stat& st, size_t index) const {
  Piece p;
  {
    std::lock_guard lock(mu_);
    auto it = files_.find({st.st_dev, st.st_ino});
    if (it == files_.end() || !Same(it->second, st) || index >= it->second.pieces.size())
      return std::nullopt;
    p = it->second.pieces[index];
  }
  auto b = ReadGzipBlock(spill_.get(), p.offset, p.out_len, p.crc, p.in_len,
                         "the spill file of precompressed blocks");
  if (b) b->in_sha = p.sha;
  return b;
}

size_t PrecompressedFiles::files() const {
  std::lock_guard lock(mu_);
  return files_.size();
}

}  // namespace ocibuild::oci
