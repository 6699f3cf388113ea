#include "oci/image_layout.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "oci/blob_tar.h"
#include "util/fs.h"

namespace ocibuild::oci {

namespace {

std::string LayoutFileContent() {
  Json j = {{"imageLayoutVersion", std::string(kImageLayoutVersion)}};
  return CanonicalJson(j);
}

// Holds an exclusive flock on the layout directory for the lifetime of the object.
class DirLock {
 public:
  static Result<DirLock> Acquire(const std::string& dir) {
    OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(dir, O_RDONLY | O_DIRECTORY));
    while (::flock(fd.get(), LOCK_EX) != 0) {
      if (errno != EINTR) return SysError("flock", dir);
    }
    return DirLock(std::move(fd));
  }

 private:
  explicit DirLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;  // closing releases the lock
};

}  // namespace

std::string ImageLayout::IndexPath() const {
  return JoinPath(path(), "index.json");
}

Result<ImageLayout> ImageLayout::Create(const std::string& dir) {
  OCIB_TRY(MakeDirs(dir));
  OCIB_ASSIGN_OR_RETURN(DirContentStore store, DirContentStore::Open(dir));
  ImageLayout layout(std::move(store));
  OCIB_ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(dir));
  std::string marker = JoinPath(dir, "oci-layout");
  if (!PathExists(marker)) OCIB_TRY(WriteFileAtomic(marker, LayoutFileContent()));
  if (!PathExists(layout.IndexPath())) OCIB_TRY(layout.WriteIndex(Index{}));
  return Open(dir);
}

Result<ImageLayout> ImageLayout::Open(const std::string& dir) {
  std::string marker = JoinPath(dir, "oci-layout");
  auto bytes = ReadFile(marker);
  if (!bytes.ok()) {
    if (bytes.error().sys_errno == ENOENT)
      return Error{dir + " is not an OCI image layout: no oci-layout file", ENOENT};
    return std::move(bytes).error();
  }
  OCIB_ASSIGN_OR_RETURN(Json j, ParseJsonObject(*bytes, marker));
  std::string version;
  OCIB_TRY(GetString(j, "imageLayoutVersion", &version, marker));
  if (version != kImageLayoutVersion) {
    return Error{marker + ": unsupported imageLayoutVersion \"" + version + "\" (want \"" +
                 std::string(kImageLayoutVersion) + "\")"};
  }
  OCIB_ASSIGN_OR_RETURN(DirContentStore store, DirContentStore::Open(dir));
  return ImageLayout(std::move(store));
}

Result<Index> ImageLayout::ReadIndex() const {
  OCIB_ASSIGN_OR_RETURN(std::string bytes, ReadFile(IndexPath()));
  auto index = Index::Parse(bytes);
  if (!index.ok()) return std::move(index).error().Context(IndexPath());
  return index;
}

Status ImageLayout::WriteIndex(const Index& index) {
  Index copy = index;
  if (copy.media_type.empty()) copy.media_type = std::string(media_type::kOciIndex);
  return WriteFileAtomic(IndexPath(), copy.Serialize());
}

Status ImageLayout::Tag(const std::string& ref, const Descriptor& manifest) {
  if (ref.empty()) return Error{"tagging in " + path() + ": empty reference name"};
  OCIB_ASSIGN_OR_RETURN(bool have, store_.Has(manifest.digest));
  if (!have) {
    return Error{"tagging " + ref + " in " + path() + ": manifest " + manifest.digest.str() +
                 " is not in the layout"};
  }
  OCIB_ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(path()));
  OCIB_ASSIGN_OR_RETURN(Index index, ReadIndex());
  Descriptor entry = manifest;
  entry.annotations[std::string(kAnnotationRefName)] = ref;
  bool replaced = false;
  std::vector<Descriptor> kept;
  for (Descriptor& d : index.manifests) {
    auto it = d.annotations.find(std::string(kAnnotationRefName));
    if (it != d.annotations.end() && it->second == ref) {
      if (!replaced) kept.push_back(entry);  // keep the tag's position in the list
      replaced = true;
    } else {
      kept.push_back(std::move(d));
    }
  }
  if (!replaced) kept.push_back(entry);
  index.manifests = std::move(kept);
  return WriteIndex(index);
}

Status ImageLayout::Untag(const std::string& ref) {
  OCIB_ASSIGN_OR_RETURN(DirLock lock, DirLock::Acquire(path()));
  OCIB_ASSIGN_OR_RETURN(Index index, ReadIndex());
  size_t before = index.manifests.size();
  std::erase_if(index.manifests, [&](const Descriptor& d) {
    auto it = d.annotations.find(std::string(kAnnotationRefName));
    return it != d.annotations.end() && it->second == ref;
  });
  if (index.manifests.size() == before) return Error{"no image named " + ref + " in " + path()};
  return WriteIndex(index);
}

Result<Descriptor> ImageLayout::Resolve(const std::string& ref) const {
  OCIB_ASSIGN_OR_RETURN(Index index, ReadIndex());
  if (ref.empty()) {
    if (index.manifests.size() == 1) return index.manifests[0];
    return Error{path() + " holds " + std::to_string(index.manifests.size()) + " images; name one"};
  }
  std::vector<Descriptor> found = index.WithRefName(ref);
  if (found.empty()) return Error{"no image named " + ref + " in " + path()};
  return found[0];
}

Result<Image> ImageLayout::LoadImage(const std::string& ref, const Platform& want) const {
  OCIB_ASSIGN_OR_RETURN(Descriptor d, Resolve(ref));
  return oci::LoadImage(store_, d, want);
}

Status WriteLayoutTar(const ImageLayout& layout, const std::string& tar_path) {
  OCIB_ASSIGN_OR_RETURN(TarWriter w, TarWriter::Create(tar_path));
  OCIB_TRY(w.AddFile("oci-layout", LayoutFileContent()));
  OCIB_ASSIGN_OR_RETURN(Index index, layout.ReadIndex());
  Index copy = index;
  if (copy.media_type.empty()) copy.media_type = std::string(media_type::kOciIndex);
  OCIB_TRY(w.AddFile("index.json", copy.Serialize()));
  OCIB_TRY(w.AddDirectory("blobs"));
  // Only complete blobs: in-flight writers' temporary files are not content.
  for (std::string algo : {"sha256", "sha512"}) {
    std::string dir = JoinPath(layout.path(), "blobs/" + algo);
    DIR* d = ::opendir(dir.c_str());
    if (!d) {
      if (errno == ENOENT) continue;
      return SysError("opendir", dir);
    }
    std::vector<Digest> digests;
    while (dirent* e = ::readdir(d)) {
      auto digest = Digest::Parse(algo + ":" + e->d_name);
      if (digest.ok()) digests.push_back(*digest);
    }
    ::closedir(d);
    std::sort(digests.begin(), digests.end());
    OCIB_TRY(w.AddDirectory("blobs/" + algo));
    for (const Digest& digest : digests) {
      OCIB_ASSIGN_OR_RETURN(int64_t size, layout.blobs().Size(digest));
      OCIB_ASSIGN_OR_RETURN(UniqueFd fd, layout.blobs().Open(digest));
      OCIB_TRY(w.AddFileFromFd("blobs/" + algo + "/" + digest.hex(), fd.get(), size));
    }
  }
  return w.Finish();
}

Result<Index> ImportLayoutTar(const std::string& tar_path, ContentStore& store) {
  struct ArchiveCloser {
    void operator()(archive* a) const { archive_read_free(a); }
  };
  std::unique_ptr<archive, ArchiveCloser> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());
  auto fail = [&](const std::string& what) {
    const char* msg = archive_error_string(a.get());
    return Error{"importing " + tar_path + ": " + what + ": " + (msg ? msg : "unknown error")};
  };
  if (archive_read_open_filename(a.get(), tar_path.c_str(), 1 << 16) != ARCHIVE_OK)
    return fail("open");
  std::optional<std::string> index_bytes;
  bool have_marker = false;
  archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    std::string name = archive_entry_pathname(e);
    if (name.starts_with("./")) name = name.substr(2);
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    if (name == "oci-layout" || name == "index.json") {
      if (archive_entry_size(e) > (16 << 20))
        return Error{"importing " + tar_path + ": " + name + " is too large"};
      std::string bytes;
      char buf[65536];
      la_ssize_t n;
      while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0)
        bytes.append(buf, static_cast<size_t>(n));
      if (n < 0) return fail("reading " + name);
      if (name == "index.json") {
        index_bytes = std::move(bytes);
        continue;
      }
      have_marker = true;
      OCIB_ASSIGN_OR_RETURN(Json j, ParseJsonObject(bytes, tar_path + ": oci-layout"));
      std::string version;
      OCIB_TRY(GetString(j, "imageLayoutVersion", &version, tar_path + ": oci-layout"));
      if (version != kImageLayoutVersion) {
        return Error{"importing " + tar_path + ": unsupported imageLayoutVersion \"" + version +
                     "\""};
      }
      continue;
    }
    if (!name.starts_with("blobs/")) continue;
    std::string rest = name.substr(6);
    size_t slash = rest.find('/');
    if (slash == std::string::npos) continue;
    auto digest = Digest::Parse(rest.substr(0, slash) + ":" + rest.substr(slash + 1));
    if (!digest.ok()) continue;  // not a blob (e.g. a stray file); content is addressed by digest
    OCIB_ASSIGN_OR_RETURN(bool have, store.Has(*digest));
    if (have) continue;
    OCIB_ASSIGN_OR_RETURN(auto w, store.NewWriter());
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buf, sizeof buf)) > 0) {
      OCIB_TRY(w->Write(std::string_view(buf, static_cast<size_t>(n))));
    }
    if (n < 0) return fail("reading " + name);
    auto committed = w->Commit(*digest, archive_entry_size(e));
    if (!committed.ok()) return std::move(committed).error().Context("importing " + tar_path);
  }
  if (r != ARCHIVE_EOF) return fail("reading");
  if (!have_marker)
    return Error{"importing " + tar_path + ": not an OCI image layout: no oci-layout"};
  if (!index_bytes) return Error{"importing " + tar_path + ": no index.json"};
  auto index = Index::Parse(*index_bytes);
  if (!index.ok())
    return std::move(index).error().Context("importing " + tar_path + ": index.json");
  for (const Descriptor& d : index->manifests) {
    OCIB_ASSIGN_OR_RETURN(bool have, store.Has(d.digest));
    if (!have) {
      return Error{"importing " + tar_path + ": index.json names " + d.digest.str() +
                   ", which the archive does not contain"};
    }
  }
  return std::move(*index);
}

}  // namespace ocibuild::oci
