#include "oci/docker_archive.h"

#include <set>

#include "oci/blob_tar.h"
#include "oci/image.h"
#include "oci/index.h"
#include "oci/json_util.h"

namespace ocibuild::oci {

namespace {

std::string BlobName(const Digest& d) {
  return "blobs/" + d.algorithm() + "/" + d.hex();
}

// Position of the ':' that starts the tag in "name[:tag]", or npos (a registry port such as
// "localhost:5000/app" is not a tag).
size_t TagColon(const std::string& repo_tag) {
  size_t slash = repo_tag.rfind('/');
  return repo_tag.find(':', slash == std::string::npos ? 0 : slash + 1);
}

std::string TagOf(const std::string& repo_tag) {
  size_t colon = TagColon(repo_tag);
  return colon == std::string::npos ? "latest" : repo_tag.substr(colon + 1);
}

}  // namespace

std::string FullyQualifiedTag(const std::string& repo_tag) {
  std::string name = repo_tag;
  if (TagColon(name) == std::string::npos) name += ":latest";
  size_t slash = name.find('/');
  if (slash == std::string::npos) return "docker.io/library/" + name;
  std::string first = name.substr(0, slash);
  bool is_registry = first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
                     first == "localhost";
  return is_registry ? name : "docker.io/" + name;
}

Status WriteDockerArchive(const ContentStore& store, const std::vector<DockerArchiveImage>& images,
                          const std::string& tar_path) {
  if (images.empty()) return Error{"writing " + tar_path + ": no images"};
  Json manifest_json = Json::array();
  Index index;
  std::vector<Descriptor> blobs;  // in archive order, deduplicated
  std::set<Digest> seen;
  auto add_blob = [&](const Descriptor& d) {
    if (seen.insert(d.digest).second) blobs.push_back(d);
  };
  for (const DockerArchiveImage& img : images) {
    // LoadImage verifies the manifest and config and checks layers against diff_ids.
    auto loaded = LoadImage(store, img.manifest, Platform::Host());
    if (!loaded.ok()) return std::move(loaded).error().Context("writing " + tar_path);
    if (loaded->descriptor.digest != img.manifest.digest) {
      return Error{"writing " + tar_path + ": " + img.manifest.digest.str() +
                   " is an index; docker archives need an image manifest"};
    }
    Json entry = Json::object();
    entry["Config"] = BlobName(loaded->manifest.config.digest);
    entry["RepoTags"] = img.repo_tags;
    entry["Layers"] = Json::array();
    add_blob(loaded->manifest.config);
    for (const Descriptor& l : loaded->manifest.layers) {
      OCIB_ASSIGN_OR_RETURN(bool have, store.Has(l.digest));
      if (!have) {
        return Error{"writing " + tar_path + ": layer " + l.digest.str() +
                     " is not in the store (foreign layers cannot be archived)"};
      }
      entry["Layers"].push_back(BlobName(l.digest));
      add_blob(l);
    }
    add_blob(loaded->descriptor);
    manifest_json.push_back(entry);

    Descriptor desc = loaded->descriptor;
    desc.platform.reset();
    desc.annotations.clear();
    if (img.repo_tags.empty()) index.manifests.push_back(desc);
    for (const std::string& tag : img.repo_tags) {
      Descriptor tagged = desc;
      tagged.annotations[std::string(kAnnotationContainerdImageName)] = FullyQualifiedTag(tag);
      tagged.annotations[std::string(kAnnotationRefName)] = TagOf(tag);
      index.manifests.push_back(tagged);
    }
  }

  OCIB_ASSIGN_OR_RETURN(TarWriter w, TarWriter::Create(tar_path));
  OCIB_TRY(w.AddDirectory("blobs"));
  OCIB_TRY(w.AddDirectory("blobs/sha256"));
  for (const Descriptor& d : blobs) {
    OCIB_ASSIGN_OR_RETURN(int64_t size, store.Size(d.digest));
    if (size != d.size) {
      return Error{"writing " + tar_path + ": blob " + d.digest.str() + " is " +
                   std::to_string(size) + " bytes, its descriptor says " + std::to_string(d.size)};
    }
    OCIB_ASSIGN_OR_RETURN(UniqueFd fd, store.Open(d.digest));
    OCIB_TRY(w.AddFileFromFd(BlobName(d.digest), fd.get(), size));
  }
  OCIB_TRY(w.AddFile("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  OCIB_TRY(w.AddFile("index.json", index.Serialize()));
  OCIB_TRY(w.AddFile("manifest.json", CanonicalJson(manifest_json)));
  return w.Finish();
}

}  // namespace ocibuild::oci
