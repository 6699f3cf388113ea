#include "oci/layer_writer.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

#include <gtest/gtest.h>

#include "oci/content_store.h"
#include "oci/layer_applier.h"
#include "oci/layer_blocks.h"
#include "oci/layer_testing.h"
#include "oci/parallel_gzip.h"
#include "oci/precompressed_files.h"
#include "oci/snapshot.h"
#include "util/fs.h"
#include "util/sha256.h"

namespace ocibuild::oci {
namespace {

using testing::Device;
using testing::Dir;
using testing::Fifo;
using testing::File;
using testing::Hardlink;
using testing::MakeTar;
using testing::ReadTar;
using testing::Symlink;
using testing::TarEntry;

std::vector<LayerChange> WholeTree(const RootDir& root, const MetaStore& store) {
  auto snap = Snapshot::Take(root, store);
  EXPECT_TRUE(snap.ok());
  std::vector<LayerChange> out;
  for (auto& p : snap->Paths()) out.push_back({LayerChange::Kind::kPath, p});
  return out;
}

class WriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("ocibuild-write-");
    ASSERT_TRUE(d.ok());
    dir_ = std::make_unique<TempDir>(std::move(*d));
    rootfs_ = dir_->path() + "/rootfs";
    ASSERT_EQ(::mkdir(rootfs_.c_str(), 0755), 0);
    root_ = std::make_unique<RootDir>(std::move(*RootDir::Open(rootfs_)));
  }
  void Apply(const std::vector<TarEntry>& entries) {
    UniqueFd fd(testing::FdOf(dir_->path(), MakeTar(entries)));
    auto r = ApplyLayer(*root_, store_, fd.get());
    ASSERT_TRUE(r.ok()) << r.error().message;
  }
  Result<LayerResult> Write(std::vector<LayerChange> changes, LayerWriteOptions opts,
                            std::string* blob) {
    blob->clear();
    return WriteLayer(*root_, store_, std::move(changes), opts, [&](std::string_view d) {
      blob->append(d);
      return Ok();
    });
  }
  std::unique_ptr<TempDir> dir_;
  std::string rootfs_;
  std::unique_ptr<RootDir> root_;
  MetaStore store_;
};

TEST(SortChanges, DirectoryBeforeContentsOpaqueFirst) {
  std::vector<LayerChange> c = {
      {LayerChange::Kind::kPath, "a-b"},      {LayerChange::Kind::kPath, "a/b"},
      {LayerChange::Kind::kPath, "a/!x"},     {LayerChange::Kind::kOpaque, "a"},
      {LayerChange::Kind::kWhiteout, "a/zz"}, {LayerChange::Kind::kPath, "a"},
      {LayerChange::Kind::kPath, "a/b"}};
  SortChanges(c);
  std::vector<std::string> names;
  for (auto& x : c) names.push_back(TarName(x));
  EXPECT_EQ(names,
            (std::vector<std::string>{"a", "a/.wh..wh..opq", "a/!x", "a/.wh.zz", "a/b", "a-b"}));
}

TEST_F(WriterTest, ReEmitsWhatWasUnpacked) {
  std::string long_dir(120, 'd');
  std::string long_name = long_dir + "/" + std::string(200, 'n');
  TarEntry ping = File("bin/ping", "ping", 04755, 0, 0);
  ping.xattrs["security.capability"] = std::string("\x01\x00\x00\x02\x00\x20\x00\x00", 8);
  ping.xattrs["user.origin"] = "debian";
  std::vector<TarEntry> in = {Dir("bin/"),
                              ping,
                              Hardlink("bin/ping6", "bin/ping"),
                              Dir("dev/"),
                              Device("dev/null", S_IFCHR, 1, 3, 0666),
                              Device("dev/sda", S_IFBLK, 8, 0, 0660),
                              Dir("etc/", 0755),
                              File("etc/shadow", "root:*:", 0640, 0, 42),
                              Dir(long_dir + "/"),
                              File(long_name, "long"),
                              Dir("home/", 0755),
                              Dir("home/app/", 0700, 1000, 1000),
                              Symlink("lib", "usr/lib"),
                              Dir("run/"),
                              Fifo("run/initctl", 0600),
                              Dir("tmp/", 01777),
                              Dir("usr/"),
                              Dir("usr/lib/")};
  Apply(in);
  std::string blob;
  auto r = Write(WholeTree(*root_, store_), {}, &blob);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto out = ReadTar(blob);
  ASSERT_TRUE(out.ok()) << out.error().message;
  ASSERT_EQ(out->size(), in.size());
  auto by_name = [](const TarEntry& a, const TarEntry& b) { return a.name < b.name; };
  std::vector<TarEntry> want = in;
  std::sort(want.begin(), want.end(), by_name);
  std::vector<TarEntry> got = *out;
  std::sort(got.begin(), got.end(), by_name);
  for (size_t i = 0; i < want.size(); ++i) {
    want[i].mtime = got[i].mtime = 0;
    if (!want[i].hardlink.empty()) {
      // A hardlink header carries only the link; the inode's metadata is the target's.
      EXPECT_EQ(got[i].hardlink, want[i].hardlink);
      continue;
    }
    EXPECT_EQ(got[i], want[i]) << want[i].name;
  }
}

TEST_F(WriterTest, DigestsAreOfTheBlobAndOfTheTarAndReproducible) {
  Apply({Dir("a/"), File("a/f", std::string(300000, 'z')), File("b", "b")});
  for (Compression comp : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    LayerWriteOptions opts;
    opts.compression = comp;
    std::string blob, again;
    auto r = Write(WholeTree(*root_, store_), opts, &blob);
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto r2 = Write(WholeTree(*root_, store_), opts, &again);
    ASSERT_TRUE(r2.ok());
    EXPECT_EQ(blob, again);
    EXPECT_EQ(r->digest.str(), "sha256:" + Sha256::HexOf(blob));
    EXPECT_EQ(r->size, blob.size());
    EXPECT_EQ(r->entries, 3u);
    // diff_id: the tar itself, recovered by a plain libarchive round trip of the entries.
    auto entries = ReadTar(blob);
    ASSERT_TRUE(entries.ok());
    EXPECT_EQ(entries->size(), 3u);
    if (comp == Compression::kNone) {
      EXPECT_EQ(r->diff_id, r->digest);
    }
    EXPECT_EQ(r->media_type, comp == Compression::kGzip   ? kMediaTypeLayerGzip
                             : comp == Compression::kZstd ? kMediaTypeLayerZstd
                                                          : kMediaTypeLayerTar);
  }
  // diff_id equals the digest of the same layer written uncompressed.
  std::string plain, gz;
  LayerWriteOptions none;
  none.compression = Compression::kNone;
  auto p = Write(WholeTree(*root_, store_), none, &plain);
  auto g = Write(WholeTree(*root_, store_), {}, &gz);
  ASSERT_TRUE(p.ok() && g.ok());
  EXPECT_EQ(g->diff_id, p->digest);
  EXPECT_EQ(g->uncompressed_size, plain.size());
  EXPECT_EQ(plain.size() % 512, 0u);
}

// Blocks of big files made ahead of time are spliced in, and the layer is the very same as
// without them; a block made from data that has changed since is not used.
TEST_F(WriterTest, PrecompressedBlocksGiveTheSameLayer) {
  std::string big;
  for (size_t i = 0; big.size() < 2 * ParallelGzip::kBlock + 5000; ++i)
    big += "row " + std::to_string(i * 7919 % 100003) + "\n";
  std::string mid(PrecompressedFiles::kMinSize, 'm');
  Apply({Dir("d/"), File("d/big", big), File("d/mid", mid), File("small", "s"),
         File("d/under", std::string(PrecompressedFiles::kMinSize - 1, 'u'))});
  std::string plain;
  auto p = Write(WholeTree(*root_, store_), {}, &plain);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->spliced_blocks, 0u);
  auto entries = ReadTar(plain);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 5u);

  auto pre = PrecompressedFiles::Create(dir_->path());
  ASSERT_TRUE(pre.ok()) << pre.error().message;
  std::atomic<bool> stop{false};
  for (const char* f : {"d/big", "d/mid"}) {
    UniqueFd fd(::open((rootfs_ + "/" + f).c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    ASSERT_EQ(::fstat(fd.get(), &st), 0);
    ASSERT_TRUE((*pre)->Add(fd.get(), st, stop).ok());
    EXPECT_TRUE((*pre)->Has(st));
  }
  LayerWriteOptions opts;
  opts.precompressed = pre->get();
  std::string spliced;
  auto s = Write(WholeTree(*root_, store_), opts, &spliced);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s->spliced_blocks, 4u);  // 3 of d/big, 1 of d/mid
  EXPECT_EQ(spliced, plain);
  EXPECT_EQ(s->digest, p->digest);
  EXPECT_EQ(s->diff_id, p->diff_id);

  // Rewritten in place, same size: the block made before is not taken (the stat tells, and
  // where a change slips past the stat, the SHA-256 of the data read does).
  {
    UniqueFd fd(::open((rootfs_ + "/d/mid").c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_EQ(::pwrite(fd.get(), "X", 1, 100), 1);
  }
  std::string fresh, changed;
  auto f = Write(WholeTree(*root_, store_), {}, &fresh);
  auto c = Write(WholeTree(*root_, store_), opts, &changed);
  ASSERT_TRUE(f.ok() && c.ok());
  EXPECT_EQ(changed, fresh);
  EXPECT_NE(changed, plain);
  EXPECT_LE(c->spliced_blocks, 3u);

  // zstd and explicit gzip levels never take the blocks.
  opts.compression = Compression::kZstd;
  auto z = Write(WholeTree(*root_, store_), opts, &changed);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->spliced_blocks, 0u);
  opts.compression = Compression::kGzip;
  opts.level = 6;
  auto six = Write(WholeTree(*root_, store_), opts, &changed);
  ASSERT_TRUE(six.ok());
  EXPECT_EQ(six->spliced_blocks, 0u);
}

// The layer of a COPY of files an earlier layer of the build holds (copies: other inodes, the
// same data) splices that layer's blocks and is the very layer it would be without them. A
// block whose data changed is not taken, nor the block after it (it was compressed with the
// block before it as its dictionary); the one after that is, its dictionary being the same.
TEST_F(WriterTest, BlocksOfAnEarlierLayerGiveTheSameLayer) {
  const size_t b = ParallelGzip::kBlock;
  std::string big;
  for (size_t i = 0; big.size() < 3 * b + 5000; ++i)
    big += "row " + std::to_string(i * 7919 % 100003) + "\n";
  std::string mid(PrecompressedFiles::kMinSize, 'm');
  Apply({Dir("a/"), File("a/big", big), File("a/mid", mid), File("a/small", "s")});
  auto cs = DirContentStore::Open(dir_->path() + "/store");
  ASSERT_TRUE(cs.ok()) << cs.error().message;
  LayerBlocks blocks(*cs);

  LayerWriteOptions record;
  record.record_blocks = true;
  std::string first;
  auto r1 = Write(WholeTree(*root_, store_), record, &first);
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  ASSERT_EQ(r1->blocks.size(), 5u);  // 4 of a/big, 1 of a/mid
  {
    auto w = cs->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(first).ok());
    ASSERT_TRUE((*w)->Commit(r1->digest).ok());
  }
  blocks.AddLayer(r1->digest, r1->blocks);
  EXPECT_EQ(blocks.blocks(), 5u);

  // The copy, and the same data under another name.
  Apply({Dir("b/"), File("b/big", big), File("b/mid", mid), File("b/small", "s"),
         File("b/again", big)});
  auto copy = [] {
    std::vector<LayerChange> c;
    for (const char* p : {"b", "b/again", "b/big", "b/mid", "b/small"})
      c.push_back({LayerChange::Kind::kPath, p});
    return c;
  };
  LayerWriteOptions reuse;  // as the builder writes layers: recording and reusing
  reuse.earlier_blocks = &blocks;
  reuse.record_blocks = true;
  std::string fresh, spliced;
  auto f = Write(copy(), {}, &fresh);
  auto s = Write(copy(), reuse, &spliced);
  ASSERT_TRUE(f.ok() && s.ok());
  EXPECT_EQ(f->reused_blocks, 0u);
  EXPECT_EQ(s->reused_blocks, 9u);
  EXPECT_TRUE(spliced == fresh);  // (not EXPECT_EQ: no dump of megabytes)
  EXPECT_EQ(s->digest, f->digest);

  // Block 1 of b/big changed near its end (the dictionary of block 2).
  {
    UniqueFd fd(::open((rootfs_ + "/b/big").c_str(), O_WRONLY | O_CLOEXEC));
    ASSERT_EQ(::pwrite(fd.get(), "XYZXYZ", 6, static_cast<off_t>(2 * b - 100)), 6);
  }
  auto f2 = Write(copy(), {}, &fresh);
  auto s2 = Write(copy(), reuse, &spliced);
  ASSERT_TRUE(f2.ok() && s2.ok());
  EXPECT_EQ(s2->reused_blocks, 7u);  // b/again's 4, b/big's 0 and 3, b/mid
  EXPECT_TRUE(spliced == fresh);

  // The blocks a layer took from another are recorded where they now are: a third layer finds
  // them in the second alone.
  {
    auto w = cs->NewWriter();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Write(spliced).ok());
    ASSERT_TRUE((*w)->Commit(s2->digest).ok());
  }
  LayerBlocks second(*cs);
  second.AddLayer(s2->digest, s2->blocks);
  LayerWriteOptions from_second;
  from_second.earlier_blocks = &second;
  std::string third;
  auto s4 = Write(copy(), from_second, &third);
  ASSERT_TRUE(s4.ok());
  EXPECT_EQ(s4->reused_blocks, 9u);
  EXPECT_TRUE(third == fresh);

  // A blob gone from the store costs a compression, not the layer.
  ASSERT_EQ(::unlink((dir_->path() + "/store/blobs/sha256/" + r1->digest.hex()).c_str()), 0);
  auto s3 = Write(copy(), reuse, &spliced);
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->reused_blocks, 0u);
  EXPECT_TRUE(spliced == fresh);

  // zstd and explicit gzip levels neither record nor take blocks.
  LayerWriteOptions other = reuse;
  other.record_blocks = true;
  other.level = 6;
  auto six = Write(copy(), other, &spliced);
  ASSERT_TRUE(six.ok());
  EXPECT_EQ(six->reused_blocks, 0u);
  EXPECT_TRUE(six->blocks.empty());
  other.compression = Compression::kZstd;
  other.level = 0;
  auto zs = Write(copy(), other, &spliced);
  ASSERT_TRUE(zs.ok());
  EXPECT_EQ(zs->reused_blocks, 0u);
  EXPECT_TRUE(zs->blocks.empty());
}

// Sets the last 4 bytes of `data` so that its CRC-32 is `want` (CRC-32 is linear: the four
// table entries that lead to the wanted register are found backwards from it).
void ForgeCrc32(std::string& data, uint32_t want) {
  uint32_t table[256];
  uint8_t by_top[256];
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
    by_top[c >> 24] = static_cast<uint8_t>(i);
  }
  uint32_t reg = ~ParallelGzip::Crc32(std::string_view(data).substr(0, data.size() - 4));
  uint8_t idx[4];
  uint32_t r = ~want;
  for (int k = 3; k >= 0; --k) {
    idx[k] = by_top[r >> 24];
    r = (r ^ table[idx[k]]) << 8;
  }
  for (int k = 0; k < 4; ++k) {
    uint8_t b = static_cast<uint8_t>((reg ^ idx[k]) & 0xff);
    data[data.size() - 4 + k] = static_cast<char>(b);
    reg = table[(reg ^ b) & 0xff] ^ (reg >> 8);
  }
}

// The precompressor read a file whose data then changed without its stat changing (writes
// through a shared mapping whose pages were already dirty), and the new first block even has the
// old one's CRC-32: the blocks made of the old data must not go into the layer - neither the
// first (its SHA-256 differs) nor the second, whose data is the same but whose dictionary (the
// end of the first block) is not.
TEST_F(WriterTest, PrecompressedBlocksOfDataChangedUnderTheSameStatAreNotTaken) {
  const size_t b = ParallelGzip::kBlock;
  std::string now;
  for (size_t i = 0; now.size() < 2 * b; ++i)
    now += "line " + std::to_string(i * 104729 % 1000003) + "\n";
  now.resize(2 * b);
  std::string then = now;
  then.replace(b - 1000, 6, "FORGED");
  std::string first = then.substr(0, b);
  ForgeCrc32(first, ParallelGzip::Crc32(std::string_view(now).substr(0, b)));
  ASSERT_EQ(ParallelGzip::Crc32(first), ParallelGzip::Crc32(std::string_view(now).substr(0, b)));
  then.replace(0, b, first);
  ASSERT_NE(then, now);

  Apply({Dir("m/"), File("m/file", now)});
  std::string path = rootfs_ + "/m/file";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(fd);
  void* map = ::mmap(nullptr, now.size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  std::memcpy(map, then.data(), then.size());
  struct stat st;
  ASSERT_EQ(::fstat(fd.get(), &st), 0);
  auto pre = PrecompressedFiles::Create(dir_->path());
  ASSERT_TRUE(pre.ok());
  std::atomic<bool> stop{false};
  ASSERT_TRUE((*pre)->Add(fd.get(), st, stop).ok());
  ASSERT_TRUE((*pre)->Has(st));
  std::memcpy(map, now.data(), now.size());
  ::munmap(map, now.size());
  struct stat after;
  ASSERT_EQ(::fstat(fd.get(), &after), 0);
  if (!(*pre)->Has(after)) GTEST_SKIP() << "the kernel moved the file's times on the rewrite";

  std::string fresh, written;
  auto f = Write(WholeTree(*root_, store_), {}, &fresh);
  LayerWriteOptions opts;
  opts.precompressed = pre->get();
  auto w = Write(WholeTree(*root_, store_), opts, &written);
  ASSERT_TRUE(f.ok() && w.ok());
  EXPECT_EQ(w->spliced_blocks, 0u);
  EXPECT_TRUE(written == fresh);  // (not EXPECT_EQ: no dump of megabytes)
}

TEST_F(WriterTest, SourceDateEpochClampsOnlyNewerTimes) {
  TarEntry old_file = File("old", "o");
  old_file.mtime = 1000;
  TarEntry new_file = File("new", "n");
  new_file.mtime = 2000000000;
  Apply({old_file, new_file});
  LayerWriteOptions opts;
  opts.source_date_epoch = 1500000000;
  std::string blob;
  ASSERT_TRUE(Write(WholeTree(*root_, store_), opts, &blob).ok());
  auto out = ReadTar(blob);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ((*out)[0].name, "new");
  EXPECT_EQ((*out)[0].mtime, 1500000000);
  EXPECT_EQ((*out)[1].mtime, 1000);
}

TEST_F(WriterTest, WhiteoutsAndOpaqueMarkers) {
  Apply({Dir("d/")});
  std::string blob;
  auto r = Write({{LayerChange::Kind::kWhiteout, "gone"},
                  {LayerChange::Kind::kOpaque, "d"},
                  {LayerChange::Kind::kPath, "d"}},
                 {}, &blob);
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto out = ReadTar(blob);
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 3u);
  EXPECT_EQ((*out)[0].name, ".wh.gone");
  EXPECT_EQ((*out)[1].name, "d/");
  EXPECT_EQ((*out)[2].name, "d/.wh..wh..opq");
  EXPECT_EQ((*out)[2].type, S_IFREG);
}

TEST_F(WriterTest, MissingPathIsAnErrorNamingIt) {
  std::string blob;
  auto r = Write({{LayerChange::Kind::kPath, "nope"}}, {}, &blob);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "writing layer of " + rootfs_ + ": fstatat nope: No such file or directory");
}

TEST(SourceDateEpoch, ParsesOrQuotesTheBadValue) {
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  auto r = SourceDateEpochFromEnv();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(**r, 1700000000);
  ::setenv("SOURCE_DATE_EPOCH", "yesterday", 1);
  r = SourceDateEpochFromEnv();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "SOURCE_DATE_EPOCH=\"yesterday\": not a non-negative integer number of seconds");
  ::unsetenv("SOURCE_DATE_EPOCH");
  r = SourceDateEpochFromEnv();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

}  // namespace
}  // namespace ocibuild::oci
