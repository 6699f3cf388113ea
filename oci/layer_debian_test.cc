// Ownership fidelity on a real image: a Debian 12 minbase rootfs tarball (numeric owners,
// setgid binaries, 0000 and 0640 files, device-free but full of hardlinks and symlinks) is
// unpacked by the current user -- unprivileged under as-user.sh -- and re-emitted as a layer.
// Every entry's type, uid, gid, mode, xattrs, link target, mtime and content must equal the
// original tar's.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>

#include <gtest/gtest.h>

#include "oci/layer_applier.h"
#include "oci/layer_writer.h"
#include "oci/snapshot.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild::oci {
namespace {

struct Rec {
  std::string meta;     // type, perm, uid, gid, mtime, rdev, symlink, xattrs
  std::string content;  // sha256 of regular file data
  std::string link;     // hardlink target as written
};

std::string Normalize(std::string name) {
  while (StartsWith(name, "./")) name = name.substr(2);
  while (!name.empty() && name.back() == '/') name.pop_back();
  return name;
}

// name -> record, with hardlink entries resolved to their target's record.
Result<std::map<std::string, Rec>> Index(const std::string& path) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(),
                                                              archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK)
    return Error{archive_error_string(a.get())};
  std::map<std::string, Rec> out;
  std::string buf(1 << 20, '\0');
  for (;;) {
    struct archive_entry* e;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) return Error{archive_error_string(a.get())};
    std::string name = Normalize(archive_entry_pathname(e));
    if (name.empty()) continue;  // the root itself
    Rec r;
    if (const char* h = archive_entry_hardlink(e)) {
      r.link = Normalize(h);
      auto it = out.find(r.link);
      if (it == out.end()) return Error{"hardlink to unknown " + r.link};
      r.meta = it->second.meta;
      r.content = it->second.content;
      out[name] = r;
      continue;
    }
    r.meta = std::to_string(archive_entry_filetype(e)) + " " +
             std::to_string(archive_entry_perm(e)) + " " + std::to_string(archive_entry_uid(e)) +
             ":" + std::to_string(archive_entry_gid(e)) +
             " t=" + std::to_string(archive_entry_mtime(e)) +
             " rdev=" + std::to_string(archive_entry_rdev(e));
    if (const char* s = archive_entry_symlink(e)) r.meta += " -> " + std::string(s);
    archive_entry_xattr_reset(e);
    const char* k;
    const void* v;
    size_t n;
    std::map<std::string, std::string> xattrs;
    while (archive_entry_xattr_next(e, &k, &v, &n) == ARCHIVE_OK)
      xattrs[k] = std::string(static_cast<const char*>(v), n);
    for (const auto& [xk, xv] : xattrs) r.meta += " " + xk + "=" + Sha256::HexOf(xv).substr(0, 16);
    if (archive_entry_filetype(e) == AE_IFREG) {
      Sha256 sha;
      la_ssize_t got;
      while ((got = archive_read_data(a.get(), buf.data(), buf.size())) > 0)
        sha.Update(buf.data(), static_cast<size_t>(got));
      if (got < 0) return Error{archive_error_string(a.get())};
      r.content = sha.FinishHex();
    }
    out[name] = r;
  }
  return out;
}

std::string DebianBase() {
  if (const char* p = std::getenv("OCIBUILD_DEBIAN_BASE"); p && *p) return p;
  const char* src = std::getenv("OCIBUILD_SOURCE_DIR");
  std::string script = std::string(src ? src : ".") + "/scripts/debian-base.sh";
  auto r = RunProcess({script});
  if (!r.ok() || r->exit_code == 77) return "";
  if (!r->success()) {
    ADD_FAILURE() << "debian-base.sh failed: " << r->err;
    return "";
  }
  return std::string(TrimSpace(r->out));
}

TEST(DebianMinbase, UnpackAndReEmitKeepsEveryOwnerModeAndXattr) {
  std::string base = DebianBase();
  if (base.empty() || ::access(base.c_str(), R_OK) != 0) {
    std::fprintf(stderr,
                 "*** SKIPPED: no Debian minbase tarball (set OCIBUILD_DEBIAN_BASE or run "
                 "scripts/debian-base.sh as root once) ***\n");
    GTEST_SKIP();
  }
  auto tmp = TempDir::Create("ocibuild-debian-");
  ASSERT_TRUE(tmp.ok());
  std::string rootfs = tmp->path() + "/rootfs";
  MetaStore store;
  auto applied = ApplyLayerFile(rootfs, store, base);
  ASSERT_TRUE(applied.ok()) << applied.error().message;
  // Round trip the store through disk, as a build does between steps.
  ASSERT_TRUE(store.Save(MetaStore::PathFor(rootfs)).ok());
  auto loaded = MetaStore::Load(MetaStore::PathFor(rootfs));
  ASSERT_TRUE(loaded.ok());
  auto root = RootDir::Open(rootfs);
  ASSERT_TRUE(root.ok());
  auto snap = Snapshot::Take(*root, *loaded);
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  std::vector<LayerChange> all;
  for (auto& p : snap->Paths()) all.push_back({LayerChange::Kind::kPath, p});
  std::string out = tmp->path() + "/reemitted.tar.zst";
  LayerWriteOptions opts;
  opts.compression = Compression::kZstd;
  auto written = WriteLayerFile(*root, *loaded, all, opts, out);
  ASSERT_TRUE(written.ok()) << written.error().message;

  auto want = Index(base);
  ASSERT_TRUE(want.ok()) << want.error().message;
  auto got = Index(out);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_GT(want->size(), 5000u);
  EXPECT_EQ(got->size(), want->size());
  size_t foreign = 0, mismatches = 0;
  for (const auto& [name, w] : *want) {
    auto it = got->find(name);
    if (it == got->end()) {
      ADD_FAILURE() << "missing from the re-emitted layer: " << name;
      if (++mismatches > 20) break;
      continue;
    }
    if (it->second.meta != w.meta || it->second.content != w.content) {
      ADD_FAILURE() << name << "\n  original:   " << w.meta
                    << "\n  re-emitted: " << it->second.meta;
      if (++mismatches > 20) break;
    }
    if (w.meta.find(" 0:0 ") == std::string::npos) ++foreign;
  }
  // The base really exercises the store: root:shadow, root:mail, _apt's directories ...
  EXPECT_GT(foreign, 5u);
  EXPECT_GT(loaded->size(), 5u);
  std::fprintf(stderr, "debian minbase: %zu entries, %zu with foreign owners, %zu store entries\n",
               want->size(), foreign, loaded->size());
}

}  // namespace
}  // namespace ocibuild::oci
