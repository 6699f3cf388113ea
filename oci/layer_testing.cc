#include "oci/layer_testing.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

namespace ocibuild::oci::testing {

TarEntry File(std::string name, std::string data, uint32_t perm, uint32_t uid, uint32_t gid) {
  TarEntry e;
  e.name = std::move(name);
  e.type = S_IFREG;
  e.data = std::move(data);
  e.perm = perm;
  e.uid = uid;
  e.gid = gid;
  return e;
}

TarEntry Dir(std::string name, uint32_t perm, uint32_t uid, uint32_t gid) {
  TarEntry e;
  e.name = std::move(name);
  e.type = S_IFDIR;
  e.perm = perm;
  e.uid = uid;
  e.gid = gid;
  return e;
}

TarEntry Symlink(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.type = S_IFLNK;
  e.perm = 0777;
  e.symlink = std::move(target);
  return e;
}

TarEntry Hardlink(std::string name, std::string target) {
  TarEntry e;
  e.name = std::move(name);
  e.type = S_IFREG;
  e.hardlink = std::move(target);
  return e;
}

TarEntry Device(std::string name, uint32_t type, uint32_t major, uint32_t minor, uint32_t perm) {
  TarEntry e;
  e.name = std::move(name);
  e.type = type;
  e.perm = perm;
  e.rdev_major = major;
  e.rdev_minor = minor;
  return e;
}

TarEntry Fifo(std::string name, uint32_t perm) {
  TarEntry e;
  e.name = std::move(name);
  e.type = S_IFIFO;
  e.perm = perm;
  return e;
}

void PrintTo(const TarEntry& e, std::ostream* os) {
  *os << "{" << e.name << " type=0" << std::oct << e.type << " perm=0" << e.perm << std::dec
      << " uid=" << e.uid << " gid=" << e.gid << " mtime=" << e.mtime << " size=" << e.data.size()
      << " symlink=" << e.symlink << " hardlink=" << e.hardlink << " rdev=" << e.rdev_major << ","
      << e.rdev_minor << " xattrs=[";
  for (const auto& [k, v] : e.xattrs) *os << k << "(" << v.size() << ") ";
  *os << "]}";
}

namespace {
la_ssize_t Append(struct archive*, void* ctx, const void* buf, size_t n) {
  static_cast<std::string*>(ctx)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}
}  // namespace

std::string MakeTar(const std::vector<TarEntry>& entries, TarCompression comp) {
  std::string out;
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (comp == TarCompression::kGzip) archive_write_add_filter_gzip(a);
  if (comp == TarCompression::kZstd) archive_write_add_filter_zstd(a);
  archive_write_set_bytes_per_block(a, 0);
  archive_write_open2(a, &out, nullptr, Append, nullptr, nullptr);
  for (const auto& t : entries) {
    struct archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.name.c_str());
    archive_entry_set_filetype(e, t.type);
    archive_entry_set_perm(e, t.perm);
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, t.mtime, 0);
    if (!t.symlink.empty()) archive_entry_set_symlink(e, t.symlink.c_str());
    if (!t.hardlink.empty()) archive_entry_set_hardlink(e, t.hardlink.c_str());
    archive_entry_set_rdevmajor(e, t.rdev_major);
    archive_entry_set_rdevminor(e, t.rdev_minor);
    for (const auto& [k, v] : t.xattrs)
      archive_entry_xattr_add_entry(e, k.c_str(), v.data(), v.size());
    archive_entry_set_size(e, t.type == S_IFREG && t.hardlink.empty() ? t.data.size() : 0);
    archive_write_header(a, e);
    if (!t.data.empty()) archive_write_data(a, t.data.data(), t.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

Result<std::vector<TarEntry>> ReadTar(const std::string& bytes) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(),
                                                              archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_memory(a.get(), bytes.data(), bytes.size()) != ARCHIVE_OK)
    return Error{archive_error_string(a.get())};
  std::vector<TarEntry> out;
  for (;;) {
    struct archive_entry* e;
    int rc = archive_read_next_header(a.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc != ARCHIVE_OK) return Error{archive_error_string(a.get())};
    TarEntry t;
    t.name = archive_entry_pathname(e);
    t.type = archive_entry_filetype(e);
    t.perm = archive_entry_perm(e);
    t.uid = static_cast<uint32_t>(archive_entry_uid(e));
    t.gid = static_cast<uint32_t>(archive_entry_gid(e));
    t.mtime = archive_entry_mtime(e);
    if (archive_entry_symlink(e)) t.symlink = archive_entry_symlink(e);
    if (archive_entry_hardlink(e)) t.hardlink = archive_entry_hardlink(e);
    if (t.type == S_IFCHR || t.type == S_IFBLK) {
      t.rdev_major = archive_entry_rdevmajor(e);
      t.rdev_minor = archive_entry_rdevminor(e);
    }
    archive_entry_xattr_reset(e);
    const char* k;
    const void* v;
    size_t n;
    while (archive_entry_xattr_next(e, &k, &v, &n) == ARCHIVE_OK)
      t.xattrs[k] = std::string(static_cast<const char*>(v), n);
    char buf[65536];
    la_ssize_t got;
    while ((got = archive_read_data(a.get(), buf, sizeof buf)) > 0)
      t.data.append(buf, static_cast<size_t>(got));
    if (got < 0) return Error{archive_error_string(a.get())};
    out.push_back(std::move(t));
  }
  return out;
}

int FdOf(const std::string& dir, const std::string& bytes) {
  std::string tmpl = dir + "/blob-XXXXXX";
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return -1;
  ::unlink(tmpl.c_str());
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::lseek(fd, 0, SEEK_SET);
  return fd;
}

}  // namespace ocibuild::oci::testing
