#include "oci/parallel_gzip.h"

#include <zlib.h>

#include <map>

#include <gtest/gtest.h>

namespace ocibuild::oci {
namespace {

// gunzip with zlib (windowBits 31: gzip wrapper, CRC and length checked).
std::string Gunzip(const std::string& gz) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 31), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  z.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buf[65536];
  int rc;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
  } while (rc == Z_OK);
  EXPECT_EQ(rc, Z_STREAM_END) << (z.msg ? z.msg : "");
  EXPECT_EQ(z.avail_in, 0u) << "bytes after the gzip member";
  inflateEnd(&z);
  return out;
}

// Compressible but not trivial: text-like lines with a counter.
std::string Input(size_t n) {
  std::string s;
  s.reserve(n + 64);
  for (size_t i = 0; s.size() < n; ++i)
    s += "line " + std::to_string(i * 2654435761u % 100000) + " of the layer\n";
  s.resize(n);
  return s;
}

std::string Compress(const std::string& in, int threads, size_t chunk, int level = -1) {
  std::string out;
  auto gz = ParallelGzip::Create(level, threads, [&](std::string_view d) {
    out.append(d);
    return Ok();
  });
  EXPECT_TRUE(gz.ok());
  for (size_t off = 0; off < in.size(); off += chunk) {
    Status st = (*gz)->Write(in.data() + off, std::min(chunk, in.size() - off));
    EXPECT_TRUE(st.ok()) << st.error().message;
  }
  Status st = (*gz)->Finish();
  EXPECT_TRUE(st.ok()) << st.error().message;
  return out;
}

TEST(ParallelGzip, RoundTripsAtBlockEdges) {
  const size_t b = ParallelGzip::kBlock;
  for (size_t n : {size_t{0}, size_t{1}, size_t{1000}, b - 1, b, b + 1, 2 * b, 5 * b + 12345}) {
    std::string in = Input(n);
    for (int threads : {1, 2, 3}) {
      std::string gz = Compress(in, threads, 100000);
      EXPECT_EQ(Gunzip(gz), in) << n << " bytes, " << threads << " threads";
    }
  }
}

// Reproducible layers: the bytes depend on neither the thread count nor how the input is cut
// into writes.
TEST(ParallelGzip, SameBytesWhateverTheThreadsAndWrites) {
  std::string in = Input(7 * ParallelGzip::kBlock / 2);
  std::string one = Compress(in, 1, in.size());
  EXPECT_EQ(Compress(in, 2, 4096), one);
  EXPECT_EQ(Compress(in, 4, 1 << 20), one);
  EXPECT_EQ(Compress(in, 3, 777777), one);
  // The dictionary carries over between blocks: about as small as one zlib stream.
  EXPECT_LT(one.size(), in.size() / 3);
  // zlib at an explicit level: the same properties.
  std::string six = Compress(in, 1, in.size(), 6);
  EXPECT_EQ(Compress(in, 3, 4096, 6), six);
  EXPECT_EQ(Gunzip(six), in);
  EXPECT_EQ(Gunzip(Compress(in, 2, 65536, 1)), in);
  EXPECT_EQ(Gunzip(Compress(in, 2, 65536, 9)), in);
}

// A file's data as its own run of blocks (a fresh dictionary at its start, 1 MiB blocks from
// there): blocks compressed ahead of time and spliced in give the very bytes the stream makes
// itself, and decompress to the input.
TEST(ParallelGzip, PrecompressedBlocksSpliceIntoTheSameBytes) {
  const size_t b = ParallelGzip::kBlock;
  std::string head = Input(300000), file = Input(2 * b + 4321), tail = Input(70000);
  for (int level : {-1, 6}) {
    for (int threads : {1, 2}) {
      auto run = [&](bool spliced) {
        std::string out;
        auto gz = ParallelGzip::Create(level, threads, [&](std::string_view d) {
          out.append(d);
          return Ok();
        });
        EXPECT_TRUE(gz.ok());
        EXPECT_TRUE((*gz)->Write(head.data(), head.size()).ok());
        EXPECT_TRUE((*gz)->Cut(true).ok());
        std::string dict;
        for (size_t off = 0; off < file.size(); off += b) {
          std::string_view chunk = std::string_view(file).substr(off, b);
          if (spliced) {
            auto blk = ParallelGzip::CompressBlock(level, chunk, dict);
            EXPECT_TRUE(blk.ok());
            EXPECT_EQ(blk->crc, ParallelGzip::Crc32(chunk));
            EXPECT_TRUE((*gz)->WriteCompressed(chunk, std::move(*blk)).ok());
          } else {
            EXPECT_TRUE((*gz)->Write(chunk.data(), chunk.size()).ok());
            EXPECT_TRUE((*gz)->Cut(false).ok());
          }
          dict.assign(chunk.substr(
              chunk.size() > ParallelGzip::kDict ? chunk.size() - ParallelGzip::kDict : 0));
        }
        EXPECT_TRUE((*gz)->Write(tail.data(), tail.size()).ok());
        EXPECT_TRUE((*gz)->Finish().ok());
        return out;
      };
      std::string plain = run(false);
      EXPECT_EQ(run(true), plain) << "level " << level << ", " << threads << " threads";
      EXPECT_EQ(Gunzip(plain), head + file + tail);
    }
  }
  // A block that does not match its input length is refused, not spliced.
  auto gz = ParallelGzip::Create(-1, 1, [](std::string_view) { return Ok(); });
  ASSERT_TRUE(gz.ok());
  auto blk = ParallelGzip::CompressBlock(-1, "abc", "");
  ASSERT_TRUE(blk.ok());
  EXPECT_FALSE((*gz)->WriteCompressed("abcd", std::move(*blk)).ok());
}

// A tagged block is the block Write + Cut(false) make, and the observer is told where its bytes
// are in the output: the bytes CompressBlock makes of it.
TEST(ParallelGzip, TaggedBlocksAreFoundInTheOutput) {
  const size_t b = ParallelGzip::kBlock;
  std::string head = Input(300000), file = Input(2 * b + 4321), tail = Input(70000);
  for (int threads : {1, 2}) {
    auto run = [&](bool tagged, std::map<uint64_t, std::pair<uint64_t, size_t>>* seen) {
      std::string out;
      auto gz = ParallelGzip::Create(-1, threads, [&](std::string_view d) {
        out.append(d);
        return Ok();
      });
      EXPECT_TRUE(gz.ok());
      (*gz)->ObserveBlocks([&](uint64_t tag, uint64_t offset, size_t len, uint32_t) {
        (*seen)[tag] = {offset, len};
      });
      EXPECT_TRUE((*gz)->Write(head.data(), head.size()).ok());
      EXPECT_TRUE((*gz)->Cut(true).ok());
      uint64_t tag = 0;
      for (size_t off = 0; off < file.size(); off += b) {
        std::string_view chunk = std::string_view(file).substr(off, b);
        if (tagged) {
          EXPECT_TRUE((*gz)->WriteBlock(chunk, ++tag).ok());
        } else {
          EXPECT_TRUE((*gz)->Write(chunk.data(), chunk.size()).ok());
          EXPECT_TRUE((*gz)->Cut(false).ok());
        }
      }
      EXPECT_TRUE((*gz)->Write(tail.data(), tail.size()).ok());
      EXPECT_TRUE((*gz)->Finish().ok());
      return out;
    };
    std::map<uint64_t, std::pair<uint64_t, size_t>> none, seen;
    std::string plain = run(false, &none);
    EXPECT_TRUE(none.empty());
    EXPECT_EQ(run(true, &seen), plain) << threads << " threads";
    ASSERT_EQ(seen.size(), 3u);
    std::string dict;
    for (uint64_t tag = 1; tag <= 3; ++tag) {
      std::string_view chunk = std::string_view(file).substr((tag - 1) * b, b);
      auto blk = ParallelGzip::CompressBlock(-1, chunk, dict);
      ASSERT_TRUE(blk.ok());
      auto [offset, len] = seen[tag];
      EXPECT_EQ(plain.substr(offset, len), blk->out) << "block " << tag;
      dict.assign(chunk.substr(
          chunk.size() > ParallelGzip::kDict ? chunk.size() - ParallelGzip::kDict : 0));
    }
  }
  auto gz = ParallelGzip::Create(-1, 1, [](std::string_view) { return Ok(); });
  ASSERT_TRUE(gz.ok());
  EXPECT_FALSE((*gz)->WriteBlock(std::string(b + 1, 'x'), 1).ok());
}

TEST(ParallelGzip, Crc32IsZlibs) {
  std::string in = Input(100001);
  EXPECT_EQ(ParallelGzip::Crc32(in),
            crc32(0L, reinterpret_cast<const Bytef*>(in.data()), static_cast<uInt>(in.size())));
}

TEST(ParallelGzip, SinkErrorsStopTheStream) {
  std::string in = Input(4 * ParallelGzip::kBlock);
  int calls = 0;
  auto gz = ParallelGzip::Create(-1, 2, [&](std::string_view) -> Status {
    if (++calls == 2) return Error{"disk full"};
    return Ok();
  });
  ASSERT_TRUE(gz.ok());
  Status st = (*gz)->Write(in.data(), in.size());
  if (st.ok()) st = (*gz)->Finish();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "disk full");
}

TEST(ParallelGzip, RejectsBadLevels) {
  auto sink = [](std::string_view) { return Ok(); };
  EXPECT_FALSE(ParallelGzip::Create(10, 1, sink).ok());
  EXPECT_FALSE(ParallelGzip::Create(0, 1, sink).ok());
}

}  // namespace
}  // namespace ocibuild::oci
