#include "oci/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <thread>

#include "oci/parallel_gzip.h"
#include "oci/precompressed_files.h"
#include "util/async_sha256.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace ocibuild::oci {
namespace {

constexpr std::string_view kOpaque = ".wh..wh..opq";

// Component-wise order: "a" < "a/b" < "a-b" would be wrong bytewise ('-' < '/'); comparing
// component by component keeps every directory directly before its contents.
bool TarNameLess(std::string_view a, std::string_view b) {
  for (;;) {
    size_t ea = a.find('/');
    size_t eb = b.find('/');
    std::string_view ca = a.substr(0, ea);
    std::string_view cb = b.substr(0, eb);
    if (ca != cb) {
      if (ca == kOpaque) return true;
      if (cb == kOpaque) return false;
      return ca < cb;
    }
    if (ea == std::string_view::npos || eb == std::string_view::npos)
      return ea == std::string_view::npos && eb != std::string_view::npos;
    a.remove_prefix(ea + 1);
    b.remove_prefix(eb + 1);
  }
}

// Compressed bytes go through here: hashed for the digest, counted, handed to the sink.
class Emitter {
 public:
  explicit Emitter(const LayerSink& sink) : sink_(sink) {}
  Status Emit(const void* data, size_t n) {
    if (n == 0) return Ok();
    sha_.Update(data, n);
    size_ += n;
    return sink_(std::string_view(static_cast<const char*>(data), n));
  }
  AsyncSha256& sha() { return sha_; }
  uint64_t size() const { return size_; }

 private:
  const LayerSink& sink_;
  AsyncSha256 sha_;
  uint64_t size_ = 0;
};

class Compressor {
 public:
  virtual ~Compressor() = default;
  virtual Status Write(const char* data, size_t n) = 0;
  virtual Status Finish() = 0;
  // Whether a big file's data gets blocks of its own (PrecompressedFiles::kMinSize): then the
  // data arrives as BeginFile, FileChunk per ParallelGzip::kBlock bytes, EndFile.
  virtual bool SeparatesFiles() const { return false; }
  virtual Status BeginFile() { return Ok(); }
  virtual Status FileChunk(std::string_view data, const struct stat&, size_t) {
    return Write(data.data(), data.size());
  }
  virtual Status EndFile() { return Ok(); }
};

class PlainCompressor : public Compressor {
 public:
  explicit PlainCompressor(Emitter& out) : out_(out) {}
  Status Write(const char* data, size_t n) override { return out_.Emit(data, n); }
  Status Finish() override { return Ok(); }

 private:
  Emitter& out_;
};

// gzip in 1 MiB blocks compressed on worker threads (oci/parallel_gzip.h): the bytes do not
// depend on the number of threads, so layers stay reproducible.
class GzipCompressor : public Compressor {
 public:
  GzipCompressor(Emitter& out, const LayerWriteOptions& opts)
      : out_(out),
        pre_(opts.precompressed),
        earlier_(opts.earlier_blocks),
        record_(opts.record_blocks) {}
  Status Init(int level, int threads) {
    if (level != PrecompressedFiles::kLevel) {
      pre_ = nullptr;
      earlier_ = nullptr;
      record_ = false;
    }
    OCIB_ASSIGN_OR_RETURN(gz_, ParallelGzip::Create(level, threads, [this](std::string_view d) {
                            return out_.Emit(d.data(), d.size());
                          }));
    if (record_)
      gz_->ObserveBlocks([this](uint64_t tag, uint64_t offset, size_t out_len, uint32_t crc) {
        BlockRecord& r = records_[tag - 1];
        r.offset = offset;
        r.out_len = static_cast<uint32_t>(out_len);
        r.crc = crc;
      });
    return Ok();
  }
  Status Write(const char* data, size_t n) override { return gz_->Write(data, n); }
  Status Finish() override { return gz_->Finish(); }
  bool SeparatesFiles() const override { return true; }
  uint64_t spliced() const { return spliced_; }
  uint64_t reused() const { return reused_; }
  std::vector<BlockRecord> TakeRecords() { return std::move(records_); }
  Status BeginFile() override {
    from_ = Source::kAny;
    prev_sha_.clear();
    return gz_->Cut(true);
  }
  Status FileChunk(std::string_view data, const struct stat& st, size_t index) override {
    // The key of this block in LayerBlocks: its input's hash after the previous block's.
    std::string sha, prev_sha = std::move(prev_sha_);
    if (record_ || earlier_ || pre_) sha = Sha256::HexOf(data);
    prev_sha_ = sha;
    uint64_t tag = 0;
    if (record_) {
      records_.push_back(BlockRecord{sha, prev_sha, 0, 0, static_cast<uint32_t>(data.size()), 0});
      tag = records_.size();
    }
    // A block made ahead of time was made of the data as the precompressor read it: taken when
    // that is the data read now (by its SHA-256, not a CRC a step could forge), and, past a
    // file's first block, only when the block before it (its dictionary) also was.
    if (pre_ && (from_ == Source::kAny || from_ == Source::kPrecompressed)) {
      auto block = pre_->Block(st, index);
      if (block && block->in_len == data.size() && block->in_sha == sha) {
        ++spliced_;
        from_ = Source::kPrecompressed;
        return gz_->WriteCompressed(data, std::move(*block), tag);
      }
    }
    from_ = Source::kNone;
    if (earlier_) {
      if (auto block = earlier_->Block(prev_sha, sha, data.size())) {
        ++reused_;
        return gz_->WriteCompressed(data, std::move(*block), tag);
      }
    }
    return gz_->WriteBlock(data, tag);
  }

 private:
  enum class Source { kAny, kNone, kPrecompressed };
  Emitter& out_;
  const PrecompressedFiles* pre_;
  const LayerBlocks* earlier_;
  bool record_;
  Source from_ = Source::kAny;  // of the file's blocks so far
  std::string prev_sha_;        // of the file's previous block, when hashed
  uint64_t spliced_ = 0;
  uint64_t reused_ = 0;
  std::vector<BlockRecord> records_;  // a block's tag is its index + 1
  std::unique_ptr<ParallelGzip> gz_;
};

class ZstdCompressor : public Compressor {
 public:
  explicit ZstdCompressor(Emitter& out) : out_(out), buf_(ZSTD_CStreamOutSize() * 4, '\0') {}
  ~ZstdCompressor() override { ZSTD_freeCCtx(cctx_); }
  Status Init(int level, int threads) {
    cctx_ = ZSTD_createCCtx();
    if (!cctx_) return Error{"zstd: ZSTD_createCCtx failed"};
    size_t rc = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level);
    if (ZSTD_isError(rc)) return Error{std::string("zstd: level: ") + ZSTD_getErrorName(rc)};
    // Multithreading only changes speed: zstd's output for a given level does not depend on
    // the number of workers (>= 1), so layers stay reproducible across machines.
    rc = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_nbWorkers, threads);
    if (ZSTD_isError(rc)) return Error{std::string("zstd: workers: ") + ZSTD_getErrorName(rc)};
    return Ok();
  }
  Status Write(const char* data, size_t n) override { return Run(data, n, ZSTD_e_continue); }
  Status Finish() override { return Run(nullptr, 0, ZSTD_e_end); }

 private:
  Status Run(const char* data, size_t n, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{data, n, 0};
    for (;;) {
      ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
      size_t rc = ZSTD_compressStream2(cctx_, &out, &in, mode);
      if (ZSTD_isError(rc)) return Error{std::string("zstd: ") + ZSTD_getErrorName(rc)};
      OCIB_TRY(out_.Emit(buf_.data(), out.pos));
      if (mode == ZSTD_e_end ? rc == 0 : in.pos == in.size) return Ok();
    }
  }
  Emitter& out_;
  ZSTD_CCtx* cctx_ = nullptr;
  std::string buf_;
};

// libarchive's write callback: coalesces its small writes, hashes the tar, feeds the compressor.
// Between BeginFile and EndFile the bytes are a big file's data, cut into chunks from its start.
struct TarSink {
  Compressor* comp;
  AsyncSha256 sha;
  uint64_t size = 0;
  std::string pending;
  Status status;
  const struct stat* file = nullptr;  // set between BeginFile and EndFile
  size_t chunk_index = 0;

  Status Flush() {
    if (pending.empty()) return Ok();
    Status st = file ? comp->FileChunk(pending, *file, chunk_index++)
                     : comp->Write(pending.data(), pending.size());
    pending.clear();
    return st;
  }
  Status BeginFile(const struct stat& st) {
    OCIB_TRY(Flush());
    OCIB_TRY(comp->BeginFile());
    file = &st;
    chunk_index = 0;
    return Ok();
  }
  Status EndFile() {
    Status flushed = Flush();
    file = nullptr;
    OCIB_TRY(flushed);
    return comp->EndFile();
  }
  // A file's chunk is complete at ParallelGzip::kBlock bytes; other bytes are passed on in
  // batches of 256 KiB.
  size_t Batch() const { return file ? ParallelGzip::kBlock : size_t{256} << 10; }
};

la_ssize_t TarWrite(struct archive*, void* ctx, const void* buf, size_t n) {
  auto* s = static_cast<TarSink*>(ctx);
  if (!s->status.ok()) return -1;
  s->sha.Update(buf, n);
  s->size += n;
  const char* p = static_cast<const char*>(buf);
  for (size_t left = n; left > 0;) {
    size_t take = s->file ? std::min(left, s->Batch() - s->pending.size()) : left;
    s->pending.append(p, take);
    p += take;
    left -= take;
    if (s->pending.size() >= s->Batch()) {
      s->status = s->Flush();
      if (!s->status.ok()) return -1;
    }
  }
  return static_cast<la_ssize_t>(n);
}

using ArchivePtr = std::unique_ptr<struct archive, int (*)(struct archive*)>;
using EntryPtr = std::unique_ptr<struct archive_entry, void (*)(struct archive_entry*)>;

class TarBuilder {
 public:
  TarBuilder(const RootDir& root, const MetaStore& store, const LayerWriteOptions& opts,
             struct archive* a, TarSink& sink)
      : root_(root), store_(store), opts_(opts), a_(a), sink_(sink) {}

  Status Add(const LayerChange& c);

 private:
  Status WriteHeader(struct archive_entry* e, const std::string& what) {
    int rc = archive_write_header(a_, e);
    if (rc != ARCHIVE_OK) {
      if (!sink_.status.ok()) return sink_.status;
      // A name that is not text in the C locale (UTF-8 file names such as ca-certificates'
      // links) is written as raw bytes with hdrcharset=BINARY, as Go's tar writes names.
      const char* why = archive_error_string(a_);
      if (rc == ARCHIVE_WARN && why && std::string_view(why).starts_with("Can't translate"))
        return Ok();
      return Error{"writing tar header of " + what + ": " + archive_error_string(a_)};
    }
    return Ok();
  }
  Status AddFile(const std::string& path);
  Status WriteData(int fd, int64_t size, const std::string& path);
  Result<int> Parent(const std::string& path, std::string* name);
  int64_t Clamp(int64_t t) const {
    return opts_.source_date_epoch && t > *opts_.source_date_epoch ? *opts_.source_date_epoch : t;
  }

  const RootDir& root_;
  const MetaStore& store_;
  const LayerWriteOptions& opts_;
  struct archive* a_;
  TarSink& sink_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
  std::string cached_dir_;
  UniqueFd cached_fd_;
  // Made on the first file with data, and left uninitialized: zeroing 1 MiB (and faulting its
  // pages in) cost ~2 ms of every commit, most of which write no file data at all.
  static constexpr size_t kBuf = 1 << 20;
  std::unique_ptr<char[]> buf_;
};

Result<int> TarBuilder::Parent(const std::string& path, std::string* name) {
  auto [dir, base] = SplitParent(path);
  *name = std::string(base);
  if (cached_fd_.valid() && dir == cached_dir_) return cached_fd_.get();
  OCIB_ASSIGN_OR_RETURN(cached_fd_, root_.OpenAt(dir, O_PATH | O_DIRECTORY));
  cached_dir_ = std::string(dir);
  return cached_fd_.get();
}

Status TarBuilder::Add(const LayerChange& c) {
  if (c.kind == LayerChange::Kind::kPath) {
    if (c.path.empty()) return Ok();  // the root itself is not an entry of a layer
    return AddFile(c.path);
  }
  EntryPtr e(archive_entry_new(), archive_entry_free);
  std::string name = TarName(c);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0);
  archive_entry_set_size(e.get(), 0);
  archive_entry_set_mtime(e.get(), 0, 0);
  return WriteHeader(e.get(), name);
}

Status TarBuilder::AddFile(const std::string& path) {
  std::string name;
  OCIB_ASSIGN_OR_RETURN(int dirfd, Parent(path, &name));
  struct stat st;
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return SysError("fstatat", path);
  FileMeta meta = store_.Effective(st);
  mode_t type = st.st_mode & S_IFMT;
  mode_t stored_type = meta.mode & S_IFMT;
  bool placeholder = S_ISREG(st.st_mode) && stored_type != 0 && stored_type != S_IFREG;
  if (placeholder) type = stored_type;
  if (type == S_IFSOCK) return Ok();  // tar has no way to carry a socket

  EntryPtr e(archive_entry_new(), archive_entry_free);
  std::string tar_name = path;
  if (type == S_IFDIR) tar_name += '/';
  archive_entry_set_pathname(e.get(), tar_name.c_str());
  archive_entry_set_filetype(e.get(), type);
  archive_entry_set_perm(e.get(), meta.mode & 07777);
  archive_entry_set_uid(e.get(), meta.uid);
  archive_entry_set_gid(e.get(), meta.gid);
  archive_entry_set_mtime(e.get(), Clamp(st.st_mtim.tv_sec), 0);
  archive_entry_set_size(e.get(), 0);

  if (type != S_IFDIR && st.st_nlink > 1) {
    auto [it, first] = links_.emplace(std::make_pair(st.st_dev, st.st_ino), path);
    if (!first) {
      archive_entry_set_hardlink(e.get(), it->second.c_str());
      return WriteHeader(e.get(), path);
    }
  }

  UniqueFd fd;
  if (type == S_IFREG || type == S_IFDIR) {
    int flags = type == S_IFDIR ? O_RDONLY | O_DIRECTORY : O_RDONLY | O_NONBLOCK;
    int f = ::openat(dirfd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
    if (f < 0) return SysError("openat", path);
    fd.reset(f);
  }
  if (type == S_IFLNK) {
    std::string target(st.st_size > 0 ? st.st_size + 1 : 256, '\0');
    ssize_t n = ::readlinkat(dirfd, name.c_str(), target.data(), target.size());
    if (n < 0) return SysError("readlinkat", path);
    target.resize(static_cast<size_t>(n));
    archive_entry_set_symlink(e.get(), target.c_str());
  }
  if (type == S_IFCHR || type == S_IFBLK) {
    archive_entry_set_rdevmajor(e.get(), major(meta.rdev));
    archive_entry_set_rdevminor(e.get(), minor(meta.rdev));
  }

  std::map<std::string, std::string> xattrs;
  if (fd.valid() && !placeholder) {
    char names[65536];
    ssize_t n = ::flistxattr(fd.get(), names, sizeof names);
    for (ssize_t i = 0; n > 0 && i < n;) {
      std::string key(names + i);
      i += static_cast<ssize_t>(key.size()) + 1;
      // Only user.* on disk belong to the image; security.selinux and the like are the host's.
      if (!StartsWith(key, "user.")) continue;
      ssize_t vn = ::fgetxattr(fd.get(), key.c_str(), nullptr, 0);
      if (vn < 0) continue;
      std::string val(static_cast<size_t>(vn), '\0');
      vn = ::fgetxattr(fd.get(), key.c_str(), val.data(), val.size());
      if (vn < 0) continue;
      val.resize(static_cast<size_t>(vn));
      xattrs[key] = std::move(val);
    }
  }
  for (const auto& [k, v] : meta.xattrs) xattrs[k] = v;
  for (const auto& [k, v] : xattrs)
    archive_entry_xattr_add_entry(e.get(), k.c_str(), v.data(), v.size());

  bool data = type == S_IFREG && !placeholder;
  int64_t size = data ? st.st_size : 0;
  archive_entry_set_size(e.get(), size);
  OCIB_TRY(WriteHeader(e.get(), path));
  if (!data) return Ok();
  bool separate =
      sink_.comp->SeparatesFiles() && static_cast<uint64_t>(size) >= PrecompressedFiles::kMinSize;
  if (separate) OCIB_TRY(sink_.BeginFile(st));
  OCIB_TRY(WriteData(fd.get(), size, path));
  if (separate) OCIB_TRY(sink_.EndFile());
  return Ok();
}

Status TarBuilder::WriteData(int fd, int64_t size, const std::string& path) {
  int64_t left = size;
  if (left > 0 && !buf_) buf_.reset(new char[kBuf]);
  while (left > 0) {
    ssize_t n = ::read(fd, buf_.get(), static_cast<size_t>(std::min<int64_t>(left, kBuf)));
    if (n < 0) {
      if (errno == EINTR) continue;
      return SysError("read", path);
    }
    // A file that shrank since the stat: libarchive pads the entry with zeros at finish.
    if (n == 0) break;
    if (archive_write_data(a_, buf_.get(), static_cast<size_t>(n)) < 0) {
      if (!sink_.status.ok()) return sink_.status;
      return Error{"writing tar data of " + path + ": " + archive_error_string(a_)};
    }
    left -= n;
  }
  return Ok();
}

int DefaultThreads(const LayerWriteOptions& opts) {
  if (opts.threads > 0) return opts.threads;
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
}

}  // namespace

std::string TarName(const LayerChange& c) {
  switch (c.kind) {
    case LayerChange::Kind::kPath:
      return c.path;
    case LayerChange::Kind::kOpaque:
      return c.path.empty() ? std::string(kOpaque) : c.path + "/" + std::string(kOpaque);
    case LayerChange::Kind::kWhiteout: {
      auto [dir, base] = SplitParent(c.path);
      std::string wh = ".wh." + std::string(base);
      return dir.empty() ? wh : std::string(dir) + "/" + wh;
    }
  }
  return c.path;
}

void SortChanges(std::vector<LayerChange>& changes) {
  std::vector<std::pair<std::string, LayerChange>> keyed;
  keyed.reserve(changes.size());
  for (auto& c : changes) keyed.emplace_back(TarName(c), std::move(c));
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return TarNameLess(a.first, b.first); });
  keyed.erase(std::unique(keyed.begin(), keyed.end(),
                          [](const auto& a, const auto& b) { return a.first == b.first; }),
              keyed.end());
  changes.clear();
  for (auto& [k, c] : keyed) changes.push_back(std::move(c));
}

Result<std::optional<int64_t>> SourceDateEpochFromEnv() {
  const char* v = std::getenv("SOURCE_DATE_EPOCH");
  if (!v || !*v) return std::optional<int64_t>();
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(v, &end, 10);
  if (errno != 0 || *end != '\0' || n < 0)
    return Error{"SOURCE_DATE_EPOCH=\"" + std::string(v) +
                 "\": not a non-negative integer number of seconds"};
  return std::optional<int64_t>(n);
}

Result<LayerResult> WriteLayer(const RootDir& root, const MetaStore& store,
                               std::vector<LayerChange> changes, const LayerWriteOptions& opts,
                               const LayerSink& sink) {
  SortChanges(changes);
  Emitter emitter(sink);
  std::unique_ptr<Compressor> comp;
  GzipCompressor* gzip = nullptr;
  LayerResult result;
  switch (opts.compression) {
    case Compression::kNone:
      comp = std::make_unique<PlainCompressor>(emitter);
      result.media_type = kMediaTypeLayerTar;
      break;
    case Compression::kGzip: {
      auto gz = std::make_unique<GzipCompressor>(emitter, opts);
      OCIB_TRY(gz->Init(opts.level, DefaultThreads(opts)));
      gzip = gz.get();
      comp = std::move(gz);
      result.media_type = kMediaTypeLayerGzip;
      break;
    }
    case Compression::kZstd: {
      auto zs = std::make_unique<ZstdCompressor>(emitter);
      OCIB_TRY(zs->Init(opts.level > 0 ? opts.level : 3, DefaultThreads(opts)));
      comp = std::move(zs);
      result.media_type = kMediaTypeLayerZstd;
      break;
    }
    case Compression::kUnknown:
      return Error{"layer writer: no compression chosen"};
  }
  TarSink tar_sink{comp.get()};
  ArchivePtr a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  // No 10 KiB blocking: the tar ends right after its two zero blocks.
  archive_write_set_bytes_per_block(a.get(), 0);
  if (archive_write_open2(a.get(), &tar_sink, nullptr, TarWrite, nullptr, nullptr) != ARCHIVE_OK)
    return Error{std::string("starting tar writer: ") + archive_error_string(a.get())};
  TarBuilder builder(root, store, opts, a.get(), tar_sink);
  for (const auto& c : changes) {
    Status st = builder.Add(c);
    if (!st.ok()) return std::move(st).error().Context("writing layer of " + root.path());
    ++result.entries;
  }
  if (archive_write_close(a.get()) != ARCHIVE_OK) {
    if (!tar_sink.status.ok()) return tar_sink.status.error();
    return Error{std::string("finishing tar: ") + archive_error_string(a.get())};
  }
  OCIB_TRY(tar_sink.Flush());
  OCIB_TRY(comp->Finish());
  result.diff_id = Digest::Sha256Hex(tar_sink.sha.FinishHex());
  result.uncompressed_size = tar_sink.size;
  result.digest = opts.compression == Compression::kNone
                      ? result.diff_id
                      : Digest::Sha256Hex(emitter.sha().FinishHex());
  result.size = emitter.size();
  if (gzip) {
    result.spliced_blocks = gzip->spliced();
    result.reused_blocks = gzip->reused();
    result.blocks = gzip->TakeRecords();
  }
  return result;
}

Result<LayerResult> WriteLayerFile(const RootDir& root, const MetaStore& store,
                                   std::vector<LayerChange> changes, const LayerWriteOptions& opts,
                                   const std::string& out_path) {
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  return WriteLayer(root, store, std::move(changes), opts,
                    [&](std::string_view data) { return WriteAll(fd.get(), data, out_path); });
}

}  // namespace ocibuild::oci
