#include "oci/image_layout.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
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

}  // namespace ocibuild::oci
