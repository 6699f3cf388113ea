#include "oci/layer_stream.h"

#include <isa-l/igzip_lib.h>
#include <unistd.h>
#include <zstd.h>

#include <cstring>

namespace ocibuild::oci {
namespace {

constexpr size_t kBlock = 1 << 20;
constexpr size_t kQueueDepth = 8;

std::string IsalInflateError(int rc) {
  switch (rc) {
    case ISAL_INVALID_BLOCK:
      return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
      return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
      return "invalid distance too far back";
    case ISAL_INVALID_WRAPPER:
      return "incorrect header check";
    case ISAL_UNSUPPORTED_METHOD:
      return "unknown compression method";
    case ISAL_INCORRECT_CHECKSUM:
      return "incorrect data check";
  }
  return "inflate failed (" + std::to_string(rc) + ")";
}

}  // namespace

std::unique_ptr<DecompressingReader> DecompressingReader::Start(int fd, std::string what) {
  std::unique_ptr<DecompressingReader> r(new DecompressingReader(fd, std::move(what)));
  r->thread_ = std::thread([p = r.get()] { p->Run(); });
  return r;
}

DecompressingReader::~DecompressingReader() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void DecompressingReader::Run() {
  Status st = Produce();
  std::lock_guard<std::mutex> lock(mu_);
  if (!st.ok()) {
    failed_ = true;
    error_ = std::move(st).error();
  }
  done_ = true;
  cv_.notify_all();
}

bool DecompressingReader::Push(std::string block) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return cancelled_ || queue_.size() < kQueueDepth; });
  if (cancelled_) return false;
  queue_.push_back(std::move(block));
  cv_.notify_all();
  return true;
}

long DecompressingReader::Next(const void** data) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return !queue_.empty() || done_; });
  if (queue_.empty()) {
    *data = nullptr;
    return failed_ ? -1 : 0;
  }
  current_ = std::move(queue_.front());
  queue_.pop_front();
  cv_.notify_all();
  *data = current_.data();
  return static_cast<long>(current_.size());
}

Status DecompressingReader::Produce() {
  std::string in(kBlock, '\0');
  size_t have = 0;
  bool eof = false;
  auto fill = [&]() -> Status {
    while (have < in.size() && !eof) {
      ssize_t n = ::read(fd_, in.data() + have, in.size() - have);
      if (n < 0) {
        if (errno == EINTR) continue;
        return SysError("read", what_);
      }
      if (n == 0) eof = true;
      have += static_cast<size_t>(n);
    }
    return Ok();
  };
  OCIB_TRY(fill());
  const auto* u = reinterpret_cast<const unsigned char*>(in.data());
  if (have >= 2 && u[0] == 0x1f && u[1] == 0x8b) {
    format_ = StreamFormat::kGzip;
  } else if (have >= 4 && u[0] == 0x28 && u[1] == 0xb5 && u[2] == 0x2f && u[3] == 0xfd) {
    format_ = StreamFormat::kZstd;
  }

  if (format_ == StreamFormat::kPlain) {
    for (;;) {
      if (have == 0) return Ok();
      in.resize(have);
      if (!Push(std::move(in))) return Ok();
      in.assign(kBlock, '\0');
      have = 0;
      if (eof) return Ok();
      OCIB_TRY(fill());
    }
  }

  if (format_ == StreamFormat::kGzip) {
    // ISA-L's inflate: about three times zlib's speed, and unpacking is where a build waits for
    // its base image. ISAL_GZIP parses the header and checks the CRC and length.
    auto z = std::make_unique<struct inflate_state>();
    isal_inflate_init(z.get());
    z->crc_flag = ISAL_GZIP;
    size_t pos = 0;
    std::string out(kBlock, '\0');
    bool member_done = false;
    for (;;) {
      if (pos == have) {
        if (eof) break;
        have = 0;
        pos = 0;
        OCIB_TRY(fill());
        if (have == 0) break;
      }
      if (member_done) {
        // Concatenated gzip members form one stream (RFC 1952 2.2); anything else after a
        // member (zero padding from some writers) is ignored, as gzip -d does.
        if (static_cast<unsigned char>(in[pos]) != 0x1f) break;
        isal_inflate_reset(z.get());
        z->crc_flag = ISAL_GZIP;
        member_done = false;
      }
      z->next_in = reinterpret_cast<uint8_t*>(in.data() + pos);
      z->avail_in = static_cast<uint32_t>(have - pos);
      z->next_out = reinterpret_cast<uint8_t*>(out.data());
      z->avail_out = static_cast<uint32_t>(out.size());
      int rc = isal_inflate(z.get());
      if (rc < 0) return Error{what_ + ": gzip: " + IsalInflateError(rc)};
      size_t consumed = have - z->avail_in - pos;
      pos = have - z->avail_in;
      size_t produced = out.size() - z->avail_out;
      if (z->block_state == ISAL_BLOCK_FINISH) member_done = true;
      if (produced > 0) {
        out.resize(produced);
        if (!Push(std::move(out))) return Ok();
        out.assign(kBlock, '\0');
      } else if (consumed == 0 && !member_done && pos != have) {
        return Error{what_ + ": gzip: inflate made no progress"};
      }
    }
    if (!member_done) return Error{what_ + ": gzip: unexpected end of stream"};
    return Ok();
  }

  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (!dctx) return Error{what_ + ": ZSTD_createDCtx failed"};
  struct Closer {
    ZSTD_DCtx* d;
    ~Closer() { ZSTD_freeDCtx(d); }
  } closer{dctx};
  size_t pos = 0;
  size_t last_rc = 0;
  std::string out(ZSTD_DStreamOutSize() * 8, '\0');
  for (;;) {
    if (pos == have) {
      if (eof) break;
      have = 0;
      pos = 0;
      OCIB_TRY(fill());
      if (have == 0) break;
    }
    ZSTD_inBuffer ib{in.data(), have, pos};
    ZSTD_outBuffer ob{out.data(), out.size(), 0};
    last_rc = ZSTD_decompressStream(dctx, &ob, &ib);
    if (ZSTD_isError(last_rc)) return Error{what_ + ": zstd: " + ZSTD_getErrorName(last_rc)};
    pos = ib.pos;
    if (ob.pos > 0) {
      std::string block(out.data(), ob.pos);
      if (!Push(std::move(block))) return Ok();
    }
  }
  if (last_rc != 0) return Error{what_ + ": zstd: unexpected end of stream"};
  return Ok();
}

}  // namespace ocibuild::oci
