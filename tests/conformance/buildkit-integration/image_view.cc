#include "tests/conformance/buildkit-integration/image_view.h"

#include <archive.h>
#include <archive_entry.h>

#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::bki {
namespace {

std::string Basename(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::string Dirname(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? "" : p.substr(0, s);
}

bool Below(const std::string& p, const std::string& dir) {
  return dir.empty() ? !p.empty() : StartsWith(p, dir + "/");
}

// Applies one layer to the merged view, as an OCI runtime would.
void Apply(FsMap& merged, const FsMap& layer) {
  // Whiteouts first: they refer to what is below this layer.
  for (const auto& [p, e] : layer) {
    std::string base = Basename(p), dir = Dirname(p);
    if (base == ".wh..wh..opq") {
      for (auto it = merged.begin(); it != merged.end();) {
        if (Below(it->first, dir) && !layer.count(it->first))
          it = merged.erase(it);
        else
          ++it;
      }
    } else if (StartsWith(base, ".wh.")) {
      std::string victim = (dir.empty() ? "" : dir + "/") + base.substr(4);
      for (auto it = merged.begin(); it != merged.end();) {
        if (it->first == victim || Below(it->first, victim))
          it = merged.erase(it);
        else
          ++it;
      }
    }
  }
  for (const auto& [p, e] : layer) {
    if (StartsWith(Basename(p), ".wh.")) continue;
    auto old = merged.find(p);
    // A non-directory replacing a directory hides what was below it.
    if (old != merged.end() && old->second.type == 'd' && e.type != 'd') {
      for (auto it = merged.begin(); it != merged.end();)
        it = Below(it->first, p) ? merged.erase(it) : std::next(it);
    }
    merged[p] = e;
  }
}

Result<FsMap> ReadTarFrom(archive* a, const std::string& what) {
  FsMap out;
  archive_entry* e;
  int r;
  while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
    FsEntry f;
    std::string path = CleanImagePath(archive_entry_pathname(e));
    const char* hl = archive_entry_hardlink(e);
    if (hl) {
      f.type = 'h';
      f.link = CleanImagePath(hl);
    } else {
      switch (archive_entry_filetype(e)) {
        case AE_IFDIR:
          f.type = 'd';
          break;
        case AE_IFLNK:
          f.type = 'l';
          break;
        case AE_IFCHR:
          f.type = 'c';
          break;
        case AE_IFBLK:
          f.type = 'b';
          break;
        case AE_IFIFO:
          f.type = 'p';
          break;
        case AE_IFSOCK:
          f.type = 's';
          break;
        default:
          f.type = 'f';
          break;
      }
      if (f.type == 'l') f.link = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
    }
    f.mode = archive_entry_perm(e) & 07777;
    f.uid = static_cast<uint32_t>(archive_entry_uid(e));
    f.gid = static_cast<uint32_t>(archive_entry_gid(e));
    f.mtime = archive_entry_mtime(e);
    if (f.type == 'f') {
      char buf[65536];
      la_ssize_t n;
      while ((n = archive_read_data(a, buf, sizeof buf)) > 0) f.content.append(buf, n);
      if (n < 0) return Error{what + ": " + archive_error_string(a)};
    }
    out[path] = std::move(f);
  }
  if (r != ARCHIVE_EOF)
    return Error{what + ": " + (archive_error_string(a) ? archive_error_string(a) : "bad tar")};
  return out;
}

Result<FsMap> ReadLayerFile(const std::string& path) {
  OCIB_ASSIGN_OR_RETURN(std::string blob, ReadFile(path));
  auto m = ReadLayer(blob);
  if (!m.ok()) return m.error().Context(path);
  return m;
}

Result<nlohmann::json> ReadJson(const std::string& path) {
  OCIB_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return Error{path + ": not JSON"};
  return j;
}

std::string BlobPath(const std::string& dir, const std::string& digest) {
  auto [alg, hex] = SplitOnce(digest, ':');
  return JoinPath(dir, "blobs/" + alg + "/" + hex);
}

}  // namespace

std::string CleanImagePath(const std::string& p) {
  std::vector<std::string> out;
  for (const auto& part : Split(p, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  return Join(out, "/");
}

const FsEntry* ImageView::Find(const std::string& path) const {
  std::string p = CleanImagePath(path);
  for (int hops = 0; hops < 8; ++hops) {
    auto it = merged.find(p);
    if (it == merged.end()) return nullptr;
    if (it->second.type != 'h') return &it->second;
    p = it->second.link;
  }
  return nullptr;
}

Result<FsMap> ReadLayer(const std::string& blob) {
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_filter_all(a);
  if (archive_read_open_memory(a, blob.data(), blob.size()) != ARCHIVE_OK) {
    std::string msg = archive_error_string(a) ? archive_error_string(a) : "?";
    archive_read_free(a);
    return Error{"layer: " + msg};
  }
  auto m = ReadTarFrom(a, "layer");
  archive_read_free(a);
  return m;
}

Result<ImageView> ReadOciLayout(const std::string& dir) {
  ImageView v;
  OCIB_ASSIGN_OR_RETURN(nlohmann::json index, ReadJson(JoinPath(dir, "index.json")));
  if (!index.contains("manifests") || index["manifests"].empty())
    return Error{dir + ": index.json lists no manifest"};
  nlohmann::json desc = index["manifests"][0];
  for (int depth = 0; depth < 3; ++depth) {
    OCIB_ASSIGN_OR_RETURN(nlohmann::json doc,
                          ReadJson(BlobPath(dir, desc["digest"].get<std::string>())));
    if (doc.contains("manifests")) {
      desc = doc["manifests"][0];
      continue;
    }
    v.manifest = std::move(doc);
    break;
  }
  if (v.manifest.is_null()) return Error{dir + ": no image manifest found"};
  OCIB_ASSIGN_OR_RETURN(v.config,
                        ReadJson(BlobPath(dir, v.manifest["config"]["digest"].get<std::string>())));
  for (const auto& l : v.manifest["layers"]) {
    OCIB_ASSIGN_OR_RETURN(FsMap m, ReadLayerFile(BlobPath(dir, l["digest"].get<std::string>())));
    Apply(v.merged, m);
    v.layers.push_back(std::move(m));
  }
  return v;
}

Result<ImageView> ReadDockerArchive(const std::string& tar_path) {
  // The archive holds manifest.json, the config and one tar per layer: read it whole.
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  if (archive_read_open_filename(a, tar_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    archive_read_free(a);
    return Error{tar_path + ": cannot open"};
  }
  std::map<std::string, std::string> files;
  std::map<std::string, std::string> links;  // docker save links a repeated layer to the first
  archive_entry* e;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    if (archive_entry_filetype(e) == AE_IFLNK) {
      std::string name = CleanImagePath(archive_entry_pathname(e));
      std::string dir = name.rfind('/') == std::string::npos ? "" : name.substr(0, name.rfind('/'));
      links[name] = CleanImagePath(dir + "/" + archive_entry_symlink(e));
      continue;
    }
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    std::string data, name = CleanImagePath(archive_entry_pathname(e));
    char buf[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a, buf, sizeof buf)) > 0) data.append(buf, n);
    files[name] = std::move(data);
  }
  archive_read_free(a);
  auto get = [&](const std::string& name) -> Result<std::string> {
    std::string n = CleanImagePath(name);
    for (int hops = 0; hops < 8 && links.count(n); ++hops) n = links[n];
    auto it = files.find(n);
    if (it == files.end()) return Error{tar_path + ": no " + name};
    return it->second;
  };
  OCIB_ASSIGN_OR_RETURN(std::string mtext, get("manifest.json"));
  auto m = nlohmann::json::parse(mtext, nullptr, false);
  if (m.is_discarded() || !m.is_array() || m.empty())
    return Error{tar_path + ": bad manifest.json"};
  ImageView v;
  v.manifest = m[0];
  OCIB_ASSIGN_OR_RETURN(std::string ctext, get(m[0]["Config"].get<std::string>()));
  v.config = nlohmann::json::parse(ctext, nullptr, false);
  for (const auto& l : m[0]["Layers"]) {
    OCIB_ASSIGN_OR_RETURN(std::string blob, get(l.get<std::string>()));
    OCIB_ASSIGN_OR_RETURN(FsMap lm, ReadLayer(blob));
    Apply(v.merged, lm);
    v.layers.push_back(std::move(lm));
  }
  return v;
}

}  // namespace ocibuild::bki
