#include "builder/outputs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/copy_files.h"
#include "oci/docker_archive.h"
#include "oci/image_layout.h"
#include "oci/layer_writer.h"
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

Status CopyImageBlobs(const BuiltImage& image, const oci::ContentStore& from,
                      oci::ContentStore& to) {
  OCIB_TRY(oci::CopyBlob(from, to, image.config_desc));
  for (const auto& l : image.manifest.layers) OCIB_TRY(oci::CopyBlob(from, to, l));
  return oci::CopyBlob(from, to, image.manifest_desc);
}

Status WriteOciLayout(const OutputRequest& out, const BuiltImage& image,
                      const oci::ContentStore& store, const std::vector<std::string>& names) {
  std::string dest = Attr(out, "dest");
  std::string tar_attr = Attr(out, "tar");
  bool as_tar = tar_attr == "true" || (tar_attr != "false" && EndsWith(dest, ".tar"));
  std::string ref = Attr(out, "name", names.empty() ? "latest" : names.front());
  // A layout ref is the tag alone when the name has one ("img:1.0" -> "1.0"), as skopeo
  // and umoci address images ("oci:DIR:1.0").
  std::string tag = ref;
  if (size_t at = tag.find('@'); at != std::string::npos) tag = tag.substr(0, at);
  size_t slash = tag.rfind('/'), colon = tag.rfind(':');
  tag = (colon != std::string::npos && (slash == std::string::npos || colon > slash))
            ? tag.substr(colon + 1)
            : "latest";
  if (!as_tar && PathExists(dest)) {
    // Adding to an existing layout: blobs first, the index last, so it never names a missing blob.
    OCIB_ASSIGN_OR_RETURN(oci::ImageLayout layout, oci::ImageLayout::Create(dest));
    OCIB_TRY(CopyImageBlobs(image, store, layout.blobs()));
    oci::Descriptor d = image.manifest_desc;
    return layout.Tag(tag, d);
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
      OCIB_TRY(layout.Tag(tag, image.manifest_desc));
    }
    if (::rename(tmp.path().c_str(), dest.c_str()) != 0)
      return SysError("rename", tmp.path() + " -> " + dest);
    tmp.Release();
    return Ok();
  }
  OCIB_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create(".ocibuild-oci-", Dirname(dest)));
  OCIB_ASSIGN_OR_RETURN(oci::ImageLayout layout, oci::ImageLayout::Create(tmp.path()));
  OCIB_TRY(CopyImageBlobs(image, store, layout.blobs()));
  OCIB_TRY(layout.Tag(tag, image.manifest_desc));
  return oci::WriteLayoutTar(layout, dest);
}

Status WriteRootfsTar(const OutputRequest& out, Executor& exec) {
  std::string dest = Attr(out, "dest");
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

Status WriteLocal(const OutputRequest& out, Executor& exec) {
  std::string dest = Attr(out, "dest");
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

}  // namespace

Status WriteOutput(const OutputRequest& out, const BuiltImage& image,
                   const oci::ContentStore& store, const std::vector<std::string>& names,
                   Executor& exec) {
  Status st;
  if (out.type == "oci") {
    st = WriteOciLayout(out, image, store, names);
  } else if (out.type == "docker") {
    std::vector<std::string> tags = names;
    if (auto n = Attr(out, "name"); !n.empty()) tags = Split(n, ',');
    st = oci::WriteDockerArchive(store, {oci::DockerArchiveImage{image.manifest_desc, tags}},
                                 Attr(out, "dest"));
  } else if (out.type == "tar") {
    st = WriteRootfsTar(out, exec);
  } else if (out.type == "local") {
    st = WriteLocal(out, exec);
  } else {
    return Error{"output type " + out.type + " is not handled here"};
  }
  if (!st.ok()) return st.error().Context("exporting --output type=" + out.type);
  return Ok();
}

}  // namespace ocibuild::builder
