#include "oci/image_testing.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "oci/image.h"
#include "oci/media_types.h"

namespace ocibuild::oci::testing {

namespace {

Result<std::string> Gzip(const std::string& in) {
  z_stream z{};
  // windowBits 15 + 16 selects the gzip wrapper.
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    return Error{"deflateInit2 failed"};
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int r = deflate(&z, Z_FINISH);
  size_t n = z.total_out;
  deflateEnd(&z);
  if (r != Z_STREAM_END) return Error{"deflate did not finish"};
  out.resize(n);
  return out;
}

}  // namespace

Result<TestLayer> MakeLayer(const std::vector<TestFile>& files) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  std::string buf(1 << 20, '\0');
  size_t used = 0;
  if (archive_write_open_memory(a, buf.data(), buf.size(), &used) != ARCHIVE_OK) {
    archive_write_free(a);
    return Error{"archive_write_open_memory failed"};
  }
  for (const TestFile& f : files) {
    archive_entry* e = archive_entry_new();
    bool dir = !f.path.empty() && f.path.back() == '/';
    archive_entry_set_pathname(e, f.path.c_str());
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0755 : f.mode);
    archive_entry_set_size(e, dir ? 0 : static_cast<la_int64_t>(f.content.size()));
    archive_entry_set_mtime(e, 1700000000, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    int r = archive_write_header(a, e);
    archive_entry_free(e);
    if (r != ARCHIVE_OK) {
      std::string msg = archive_error_string(a) ? archive_error_string(a) : "?";
      archive_write_free(a);
      return Error{"test layer header " + f.path + ": " + msg};
    }
    if (!dir && !f.content.empty()) archive_write_data(a, f.content.data(), f.content.size());
  }
  archive_write_close(a);
  archive_write_free(a);
  buf.resize(used);
  TestLayer layer;
  layer.tar = buf;
  layer.diff_id = Digest::OfBytes(buf);
  OCIB_ASSIGN_OR_RETURN(layer.gzip, Gzip(buf));
  return layer;
}

Result<Descriptor> WriteTestImage(ContentStore& store, const TestImageSpec& spec,
                                  ImageConfig* config_out) {
  ImageConfig config;
  config.SetPlatform(Platform::Host());
  config.created = "2024-05-06T07:08:09Z";
  config.author = "ocibuild tests";
  config.config = spec.config;
  std::vector<Descriptor> layers;
  for (size_t i = 0; i < spec.layers.size(); i++) {
    OCIB_ASSIGN_OR_RETURN(TestLayer l, MakeLayer(spec.layers[i]));
    OCIB_ASSIGN_OR_RETURN(Descriptor d,
                          PutBlob(store, LayerMediaType(spec.format, Compression::kGzip), l.gzip));
    layers.push_back(d);
    config.diff_ids.push_back(l.diff_id);
    HistoryEntry h;
    h.created = config.created;
    h.created_by = "test layer " + std::to_string(i);
    config.history.push_back(h);
  }
  HistoryEntry cmd;
  cmd.created = config.created;
  cmd.created_by = "CMD";
  cmd.empty_layer = true;
  config.history.push_back(cmd);
  if (config_out) *config_out = config;
  WriteImageOptions opts;
  opts.format = spec.format;
  return WriteImage(store, config, layers, opts);
}

Result<std::vector<TarEntry>> ReadTar(const std::string& path) {
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_filter_all(a);
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) != ARCHIVE_OK) {
    std::string msg = archive_error_string(a) ? archive_error_string(a) : "?";
    archive_read_free(a);
    return Error{"reading " + path + ": " + msg};
  }
  std::vector<TarEntry> out;
  archive_entry* e;
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    TarEntry t;
    t.name = archive_entry_pathname(e);
    t.dir = archive_entry_filetype(e) == AE_IFDIR;
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) t.content.append(buf, n);
    out.push_back(std::move(t));
  }
  std::string msg =
      r == ARCHIVE_EOF ? "" : (archive_error_string(a) ? archive_error_string(a) : "?");
  archive_read_free(a);
  if (!msg.empty()) return Error{"reading " + path + ": " + msg};
  return out;
}

}  // namespace ocibuild::oci::testing
