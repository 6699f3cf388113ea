#include "builder/outputs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>

#include "builder/copy_files.h"
#include "oci/docker_archive.h"
#include "oci/image_layout.h"
#include "oci/index.h"
#include "oci/layer_writer.h"
#include "oci/manifest.h"
#include "registry/reference.h"
#include "util/fs.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

std::string Attr(const OutputRequest& o, const std::string& k, const std::string& def = "") {
  auto it = o.attrs.find(k);
  return it == o.attrs.end() ? def : it->second;
}

std::string Dirname(const std::string& p) {
  size_t s = p.rfind('/');
  if (s == std::string::npos) return ".";
  return s == 0 ? "/" : p.substr(0, s);
}

Status CopyImageBlobs(const BuildResult& result, const oci::ContentStore& from,
                      oci::ContentStore& to) {
  return CopyTree(from, to, result.root);
}

oci::Descriptor LayoutEntry(const BuildResult& result) {
  oci::Descriptor d = result.root;
  for (const auto& [k, v] : result.index_descriptor_annotations) d.annotations[k] = v;
  return d;
}

// containerd's annotation with the image's full name, which `ctr import` and BuildKit read.
constexpr std::string_view kContainerdImageName = "io.containerd.image.name";

struct LayoutName {
  std::string tag;         // org.opencontainers.image.ref.name: "1.0" for "img:1.0"
  std::string image_name;  // "docker.io/library/img:1.0"; empty for the unnamed default
};

// One index entry per name, as BuildKit's OCI exporter: name= (comma-separated) or the -t tags.
Result<std::vector<LayoutName>> LayoutNames(const OutputRequest& out,
                                            const std::vector<std::string>& tags) {
  std::vector<std::string> names = tags;
  if (auto n = Attr(out, "name"); !n.empty()) names = Split(n, ',');
  std::vector<LayoutName> result;
  for (const auto& name : names) {
    if (TrimSpace(name).empty()) continue;
    // A layout ref is the tag alone ("img:1.0" -> "1.0"), as skopeo and umoci address images
    // ("oci:DIR:1.0").
    std::string tag = name;
    if (size_t at = tag.find('@'); at != std::string::npos) tag = tag.substr(0, at);
    size_t slash = tag.rfind('/'), colon = tag.rfind(':');
    tag = (colon != std::string::npos && (slash == std::string::npos || colon > slash))
              ? tag.substr(colon + 1)
              : "latest";
    auto ref = registry::ParseReference(name);
    if (!ref.ok()) return Error{"--output type=oci,name=" + name + ": " + ref.error().message};
    result.push_back(LayoutName{tag, ref->String()});
  }
  if (result.empty()) result.push_back(LayoutName{"latest", ""});
  return result;
}

Status WriteOciLayout(const OutputRequest& out, const BuildResult& image,
                      const oci::ContentStore& store, const std::vector<std::string>& names) {
  std::string dest = Attr(out, "dest");
  std::string tar_attr = Attr(out, "tar");
  bool as_tar = tar_attr == "true" || (tar_attr != "false" && EndsWith(dest, ".tar"));
  OCIB_ASSIGN_OR_RETURN(std::vector<LayoutName> tags, LayoutNames(out, names));
  auto tag_all = [&](oci::ImageLayout& layout) -> Status {
    for (const auto& t : tags) {
      oci::Descriptor entry = LayoutEntry(image);
      if (!t.image_name.empty())
        entry.annotations[std::string(kContainerdImageName)] = t.image_name;
      OCIB_TRY(layout.Tag(t.tag, entry));
    }
    return Ok();
  };
  if (!as_tar && PathExists(dest)) {
    // Adding to an existing layout: blobs first, the index last, so it never names a missing blob.
    OCIB_ASSIGN_OR_RETURN(oci::ImageLayout layout, oci::ImageLayout::Create(dest));
    OCIB_TRY(CopyImageBlobs(image, store, layout.blobs()));
    return tag_all(layout);
  }
  if (!as_tar) {
    // A new layout is assembled next to its destination and renamed into place: a failure (a
    // full disk) leaves no half-written layout behind.
    OCIB_TRY(MakeDirs(Dirname(dest)));
    OCIB_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create(".ocibuild-oci-", Dirname(dest)));
    if (::chmod(tmp.path().c_str(), 0755) != 0) return SysError("chmod", tmp.path());
    {
      OCIB_ASSIGN_OR_RETURN(oci::ImageLayout layout, oci::ImageLayout::Create(tmp.path()));
      OCIB_TRY(CopyImageBlobs(image, store, layout.blobs()));
      OCIB_TRY(tag_all(layout));
    }
    if (::rename(tmp.path().c_str(), dest.c_str()) != 0)
      return SysError("rename", tmp.path() + " -> " + dest);
    tmp.Release();
    return Ok();
  }
  OCIB_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create(".ocibuild-oci-", Dirname(dest)));
  OCIB_ASSIGN_OR_RETURN(oci::ImageLayout layout, oci::ImageLayout::Create(tmp.path()));
  OCIB_TRY(CopyImageBlobs(image, store, layout.blobs()));
  OCIB_TRY(tag_all(layout));
  return oci::WriteLayoutTar(layout, dest);
}

Status WriteRootfsTar(const std::string& dest, Executor& exec) {
  OCIB_ASSIGN_OR_RETURN(StageState * s, exec.MaterializedTarget());
  OCIB_ASSIGN_OR_RETURN(oci::Snapshot snap, oci::Snapshot::Take(*s->root, *s->store));
  std::vector<oci::LayerChange> all;
  for (const auto& p : snap.Paths())
    all.push_back(oci::LayerChange{oci::LayerChange::Kind::kPath, p});
  oci::LayerWriteOptions lo;
  lo.compression = oci::Compression::kNone;
  if (dest == "-") {
    auto r = oci::WriteLayer(*s->root, *s->store, std::move(all), lo,
                             [](std::string_view d) { return WriteAll(1, d, "stdout"); });
    if (!r.ok()) return r.error();
    return Ok();
  }
  std::string tmp = dest + ".tmp-ocibuild";
  auto r = oci::WriteLayerFile(*s->root, *s->store, std::move(all), lo, tmp);
  if (!r.ok()) {
    ::unlink(tmp.c_str());
    return r.error();
  }
  if (::rename(tmp.c_str(), dest.c_str()) != 0) return SysError("rename", tmp + " -> " + dest);
  return Ok();
}

Status WriteLocal(const std::string& dest, Executor& exec) {
  OCIB_ASSIGN_OR_RETURN(StageState * s, exec.MaterializedTarget());
  OCIB_TRY(MakeDirs(dest));
  OCIB_ASSIGN_OR_RETURN(oci::RootDir dst, oci::RootDir::Open(dest));
  // Files land owned by the user running the build (an unprivileged export cannot chown);
  // modes are the image's, made readable for that user.
  oci::MetaStore discard;
  CopySourceTree src{&*s->root, s->store.get(), nullptr, {SourceMatch{".", true}}};
  CopyOptions co;
  co.dest = "/";
  return CopyInto(dst, discard, src, co);
}

// Each platform's rootfs: DEST itself for one, DEST/os_arch[_variant] for several.
Status WritePerPlatform(const std::string& dest, const BuildResult& result,
                        const std::function<Status(const std::string&, Executor&)>& write) {
  if (result.images.size() == 1) return write(dest, *result.images[0].exec);
  if (dest == "-") return Error{"several platforms cannot be written to stdout"};
  for (const auto& pr : result.images) {
    std::string sub = pr.platform.os + "_" + pr.platform.architecture +
                      (pr.platform.variant.empty() ? "" : "_" + pr.platform.variant);
    OCIB_TRY(MakeDirs(dest));
    OCIB_TRY(write(JoinPath(dest, sub), *pr.exec));
  }
  return Ok();
}

}  // namespace

Status CopyTree(const oci::ContentStore& from, oci::ContentStore& to, const oci::Descriptor& root) {
  if (oci::IsIndexType(root.media_type)) {
    OCIB_ASSIGN_OR_RETURN(std::string bytes, oci::ReadBlob(from, root.digest));
    OCIB_ASSIGN_OR_RETURN(oci::Index idx, oci::Index::Parse(bytes));
    for (const auto& m : idx.manifests) OCIB_TRY(CopyTree(from, to, m));
  } else if (oci::IsManifestType(root.media_type)) {
    OCIB_ASSIGN_OR_RETURN(std::string bytes, oci::ReadBlob(from, root.digest));
    OCIB_ASSIGN_OR_RETURN(oci::Manifest m, oci::Manifest::Parse(bytes));
    OCIB_TRY(oci::CopyBlob(from, to, m.config));
    for (const auto& l : m.layers) OCIB_TRY(oci::CopyBlob(from, to, l));
  }
  return oci::CopyBlob(from, to, root);
}

Status WriteOutput(const OutputRequest& out, const BuildResult& result,
                   const oci::ContentStore& store, const std::vector<std::string>& names) {
  Status st;
  if (out.type == "oci") {
    st = WriteOciLayout(out, result, store, names);
  } else if (out.type == "docker") {
    std::vector<std::string> tags = names;
    if (auto n = Attr(out, "name"); !n.empty()) tags = Split(n, ',');
    if (result.images.size() != 1)
      return Error{
          "--output type=docker: a docker archive holds one platform's image; build one "
          "platform, or use type=oci for several"};
    // `docker load` takes the image itself; attestations stay with registry and OCI outputs.
    st = oci::WriteDockerArchive(
        store, {oci::DockerArchiveImage{result.images[0].image.manifest_desc, tags}},
        Attr(out, "dest"));
  } else if (out.type == "tar") {
    st = WritePerPlatform(Attr(out, "dest"), result, WriteRootfsTar);
  } else if (out.type == "local") {
    st = WritePerPlatform(Attr(out, "dest"), result, WriteLocal);
  } else {
    return Error{"output type " + out.type + " is not handled here"};
  }
  if (!st.ok()) return st.error().Context("exporting --output type=" + out.type);
  return Ok();
}

}  // namespace ocibuild::builder
