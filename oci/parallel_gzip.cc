#include "oci/parallel_gzip.h"

#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>

#include <algorithm>

#include "util/fs.h"

namespace ocibuild::oci {
// deflateInit and ISA-L's level buffer allocate a few hundred KiB: once per thread, not per block.
struct ParallelGzip::Deflater {
  z_stream z{};
  bool init = false;
  std::unique_ptr<struct isal_zstream> isal;
  // Uninitialized (isal_deflate_init resets what it reads): zeroing it cost ~1.5 ms per layer.
  std::unique_ptr<uint8_t[]> isal_level_buf;
  ~Deflater() {
    if (init) deflateEnd(&z);
  }
};

Result<std::unique_ptr<ParallelGzip>> ParallelGzip::Create(int level, int threads, Sink sink) {
  if (level != Z_DEFAULT_COMPRESSION && (level < 1 || level > 9))
    return Error{"gzip: level " + std::to_string(level) + " is not 1..9"};
  std::unique_ptr<ParallelGzip> g(new ParallelGzip(level, std::max(1, threads), std::move(sink)));
  return g;
}

ParallelGzip::ParallelGzip(int level, int threads, Sink sink)
    : level_(level), threads_(threads), sink_(std::move(sink)) {}

ParallelGzip::~ParallelGzip() {
  StopWorkers();
}

void ParallelGzip::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
}

uint32_t ParallelGzip::Crc32(std::string_view data) {
  return crc32_gzip_refl(0, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

std::optional<GzipBlock> ReadGzipBlock(int fd, uint64_t offset, size_t out_len, uint32_t crc,
                                       size_t in_len, const std::string& what) {
  GzipBlock b;
  b.out.resize(out_len);
  auto got = PReadFull(fd, b.out.data(), b.out.size(), static_cast<int64_t>(offset), what);
  if (!got.ok() || *got != b.out.size()) return std::nullopt;
  b.crc = crc;
  b.in_len = in_len;
  return b;
}

Result<GzipBlock> ParallelGzip::CompressBlock(int level, std::string_view in,
                                              std::string_view dict) {
  ParallelGzip g(level, 1, nullptr);
  Deflater d;
  Job job;
  job.in.assign(in);
  job.in_len = in.size();
  job.dict.assign(dict.substr(dict.size() > kDict ? dict.size() - kDict : 0));
  g.Compress(d, job);
  OCIB_TRY(job.status);
  return GzipBlock{std::move(job.out), static_cast<uint32_t>(job.crc), job.in_len};
}

void ParallelGzip::Compress(Deflater& d, Job& job) const {
  job.crc = Crc32(job.in);
  if (level_ == Z_DEFAULT_COMPRESSION) {
    CompressIsal(d, job);
  } else {
    CompressZlib(d, job);
  }
  job.in = std::string();  // release the input early: memory stays at the blocks in flight
  job.dict = std::string();
}

void ParallelGzip::CompressIsal(Deflater& d, Job& job) const {
  constexpr uint32_t kIsalLevel = 3;
  if (!d.isal) {
    d.isal = std::make_unique<struct isal_zstream>();
    d.isal_level_buf.reset(new uint8_t[ISAL_DEF_LVL3_DEFAULT]);
  }
  struct isal_zstream& z = *d.isal;
  isal_deflate_init(&z);
  z.level = kIsalLevel;
  z.level_buf = d.isal_level_buf.get();
  z.level_buf_size = static_cast<uint32_t>(ISAL_DEF_LVL3_DEFAULT);
  z.gzip_flag = IGZIP_DEFLATE;  // raw deflate: one gzip header and trailer around all blocks
  z.flush = job.last ? NO_FLUSH : SYNC_FLUSH;
  z.end_of_stream = job.last ? 1 : 0;
  if (!job.dict.empty() &&
      isal_deflate_set_dict(&z, reinterpret_cast<uint8_t*>(job.dict.data()),
                            static_cast<uint32_t>(job.dict.size())) != COMP_OK) {
    job.status = Error{"gzip: isal_deflate_set_dict failed"};
    return;
  }
  job.out.resize(job.in.size() + job.in.size() / 8 + 1024);
  z.next_in = reinterpret_cast<uint8_t*>(job.in.data());
  z.avail_in = static_cast<uint32_t>(job.in.size());
  size_t used = 0;
  for (;;) {
    if (used == job.out.size()) job.out.resize(job.out.size() * 2);
    z.next_out = reinterpret_cast<uint8_t*>(job.out.data() + used);
    z.avail_out = static_cast<uint32_t>(job.out.size() - used);
    int rc = isal_deflate(&z);
    used = job.out.size() - z.avail_out;
    if (rc != COMP_OK) {
      job.status = Error{"gzip: isal_deflate failed (" + std::to_string(rc) + ")"};
      return;
    }
    // Done when the stream ended (last block) or the flush completed with output room to spare.
    if (job.last
            ? z.internal_state.state == ZSTATE_END
            : (z.avail_in == 0 && z.avail_out != 0 && z.internal_state.state == ZSTATE_NEW_HDR))
      break;
  }
  job.out.resize(used);
}

void ParallelGzip::CompressZlib(Deflater& d, Job& job) const {
  if (!d.init) {
    // Raw deflate (windowBits -15): the gzip header and trailer are written once, around all
    // blocks.
    if (deflateInit2(&d.z, level_, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      job.status = Error{"gzip: deflateInit2 failed (level " + std::to_string(level_) + ")"};
      return;
    }
    d.init = true;
  } else if (deflateReset(&d.z) != Z_OK) {
    job.status = Error{"gzip: deflateReset failed"};
    return;
  }
  if (!job.dict.empty() &&
      deflateSetDictionary(&d.z, reinterpret_cast<const Bytef*>(job.dict.data()),
                           static_cast<uInt>(job.dict.size())) != Z_OK) {
    job.status = Error{"gzip: deflateSetDictionary failed"};
    return;
  }
  // Room for the block in one go: the bound plus the sync-flush marker.
  job.out.resize(deflateBound(&d.z, static_cast<uLong>(job.in.size())) + 64);
  d.z.next_in = reinterpret_cast<Bytef*>(job.in.data());
  d.z.avail_in = static_cast<uInt>(job.in.size());
  size_t used = 0;
  const int flush = job.last ? Z_FINISH : Z_SYNC_FLUSH;
  for (;;) {
    if (used == job.out.size()) job.out.resize(job.out.size() * 2);
    d.z.next_out = reinterpret_cast<Bytef*>(job.out.data() + used);
    d.z.avail_out = static_cast<uInt>(job.out.size() - used);
    int rc = deflate(&d.z, flush);
    used = job.out.size() - d.z.avail_out;
    if (rc == Z_STREAM_ERROR) {
      job.status = Error{"gzip: deflate failed"};
      return;
    }
    // Done when the stream ended (last block) or the flush completed with output room to spare.
    if (job.last ? rc == Z_STREAM_END : (d.z.avail_in == 0 && d.z.avail_out != 0)) break;
  }
  job.out.resize(used);
}

void ParallelGzip::Worker() {
  Deflater d;
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return stop_ || next_unclaimed_ < queue_.size(); });
      if (stop_) return;
      job = queue_[next_unclaimed_++];
    }
    if (!job->precompressed) Compress(d, *job);
    {
      std::lock_guard<std::mutex> lock(mu_);
      job->done = true;
    }
    cv_.notify_all();
  }
}

Status ParallelGzip::ToSink(std::string_view data) {
  out_pos_ += data.size();
  return sink_(data);
}

Status ParallelGzip::Emit(Job& job) {
  OCIB_TRY(job.status);
  crc_ = crc32_combine(crc_, job.crc, static_cast<z_off_t>(job.in_len));
  if (job.tag != 0 && observer_)
    observer_(job.tag, out_pos_, job.out.size(), static_cast<uint32_t>(job.crc));
  return ToSink(job.out);
}

Status ParallelGzip::EmitFront() {
  std::shared_ptr<Job> job;
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.front()->done; });
    job = std::move(queue_.front());
    queue_.pop_front();
    --next_unclaimed_;
  }
  return Emit(*job);
}

void ParallelGzip::AdvanceDict(std::string_view in) {
  if (in.size() >= kDict) {
    dict_.assign(in.substr(in.size() - kDict));
  } else {
    dict_ += in;
    if (dict_.size() > kDict) dict_.erase(0, dict_.size() - kDict);
  }
}

Status ParallelGzip::WriteHeaderOnce() {
  if (header_written_) return Ok();
  // The gzip header zlib writes for windowBits 31: no name, mtime 0, OS "Unix", and the
  // extra-flags byte for the level (0 for ISA-L, as igzip writes it).
  const char xfl = level_ == 9 ? 2 : (level_ == 1 ? 4 : 0);
  const char header[10] = {'\x1f', '\x8b', 8, 0, 0, 0, 0, 0, xfl, 3};
  header_written_ = true;
  return ToSink(std::string_view(header, sizeof header));
}

Status ParallelGzip::Submit(bool last, uint64_t tag) {
  auto job = std::make_shared<Job>();
  job->tag = tag;
  job->in = std::move(pending_);
  pending_ = std::string();
  job->in_len = job->in.size();
  job->dict = dict_;
  job->last = last;
  AdvanceDict(job->in);
  return Enqueue(std::move(job), last);
}

Status ParallelGzip::Enqueue(std::shared_ptr<Job> job, bool last) {
  OCIB_TRY(WriteHeaderOnce());
  // A single block in all, or a single thread: compress right here and start no thread.
  if (threads_ == 1 || (last && workers_.empty())) {
    // Blocks already in flight go first (there are none with one thread).
    while (!queue_.empty()) OCIB_TRY(EmitFront());
    if (!job->precompressed) {
      if (!inline_deflater_) inline_deflater_ = std::make_unique<Deflater>();
      Compress(*inline_deflater_, *job);
    }
    return Emit(*job);
  }
  if (workers_.empty())
    for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { Worker(); });
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(job));
  }
  cv_.notify_all();
  // Bounded memory: at most two blocks per worker in flight; all of them at the end.
  while (!queue_.empty() && (last || queue_.size() >= static_cast<size_t>(2 * threads_)))
    OCIB_TRY(EmitFront());
  return Ok();
}

Status ParallelGzip::Cut(bool fresh_dict) {
  if (finished_) return Error{"gzip: write after finish"};
  if (!pending_.empty()) OCIB_TRY(Submit(false));
  if (fresh_dict) dict_.clear();
  return Ok();
}

Status ParallelGzip::WriteCompressed(std::string_view in, GzipBlock block, uint64_t tag) {
  if (finished_) return Error{"gzip: write after finish"};
  OCIB_TRY(Cut(false));
  if (block.in_len != in.size()) return Error{"gzip: a precompressed block of the wrong length"};
  auto job = std::make_shared<Job>();
  job->in_len = in.size();
  job->out = std::move(block.out);
  job->crc = block.crc;
  job->precompressed = true;
  job->tag = tag;
  total_in_ += in.size();
  AdvanceDict(in);
  return Enqueue(std::move(job), false);
}

Status ParallelGzip::Write(const char* data, size_t n) {
  if (finished_) return Error{"gzip: write after finish"};
  total_in_ += n;
  while (n > 0) {
    if (pending_.capacity() < kBlock) pending_.reserve(kBlock);
    size_t take = std::min(n, kBlock - pending_.size());
    pending_.append(data, take);
    data += take;
    n -= take;
    if (pending_.size() == kBlock) OCIB_TRY(Submit(false));
  }
  return Ok();
}

Status ParallelGzip::WriteBlock(std::string_view in, uint64_t tag) {
  if (finished_) return Error{"gzip: write after finish"};
  if (in.size() > kBlock) return Error{"gzip: a block of more than 1 MiB"};
  OCIB_TRY(Cut(false));
  if (in.empty()) return Ok();
  total_in_ += in.size();
  pending_.assign(in);
  return Submit(false, tag);
}

Status ParallelGzip::Finish() {
  if (finished_) return Error{"gzip: finished twice"};
  finished_ = true;
  OCIB_TRY(Submit(true));
  StopWorkers();
  unsigned char trailer[8];
  uint64_t total = total_in_;
  for (int i = 0; i < 4; ++i) trailer[i] = static_cast<unsigned char>(crc_ >> (8 * i));
  for (int i = 0; i < 4; ++i) trailer[4 + i] = static_cast<unsigned char>(total >> (8 * i));
  return ToSink(std::string_view(reinterpret_cast<const char*>(trailer), sizeof trailer));
}

}  // namespace ocibuild::oci
