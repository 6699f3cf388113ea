#include "oci/image.h"

#include "oci/index.h"

namespace ocibuild::oci {

Result<Image> LoadImage(const ContentStore& store, const Descriptor& desc, const Platform& want) {
  Descriptor cur = desc;
  // An index may point at another index; two levels is more than registries produce.
  for (int depth = 0; depth < 4; depth++) {
    OCIB_ASSIGN_OR_RETURN(std::string bytes, ReadBlob(store, cur.digest));
    std::string mt = cur.media_type;
    if (mt.empty() || (!IsIndexType(mt) && !IsManifestType(mt))) {
      OCIB_ASSIGN_OR_RETURN(mt, SniffMediaType(bytes));
    }
    if (IsIndexType(mt)) {
      auto index = Index::Parse(bytes);
      if (!index.ok()) return std::move(index).error().Context(cur.digest.str());
      auto next = index->ForPlatform(want);
      if (!next.ok()) return std::move(next).error().Context(cur.digest.str());
      cur = *next;
      continue;
    }
    auto manifest = Manifest::Parse(bytes);
    if (!manifest.ok()) return std::move(manifest).error().Context(cur.digest.str());
    OCIB_ASSIGN_OR_RETURN(std::string config_bytes, ReadBlob(store, manifest->config.digest));
    auto config = ImageConfig::Parse(config_bytes);
    if (!config.ok()) return std::move(config).error().Context(manifest->config.digest.str());
    if (config->diff_ids.size() != manifest->layers.size()) {
      return Error{"image " + cur.digest.str() + ": manifest has " +
                   std::to_string(manifest->layers.size()) + " layers but config has " +
                   std::to_string(config->diff_ids.size()) + " diff_ids"};
    }
    Image img{cur, std::move(*manifest), std::move(*config)};
    img.descriptor.media_type = mt;
    return img;
  }
  return Error{"image " + desc.digest.str() + ": indexes nested too deeply"};
}

Result<Descriptor> WriteImage(ContentStore& store, const ImageConfig& config,
                              const std::vector<Descriptor>& layers,
                              const WriteImageOptions& opts) {
  if (layers.size() != config.diff_ids.size()) {
    return Error{"writing image: " + std::to_string(layers.size()) + " layers but " +
                 std::to_string(config.diff_ids.size()) + " diff_ids in the config"};
  }
  for (const Descriptor& l : layers) {
    OCIB_ASSIGN_OR_RETURN(bool have, store.Has(l.digest));
    if (!have) return Error{"writing image: layer " + l.digest.str() + " is not in the store"};
  }
  const bool docker = opts.format == MediaFormat::kDocker;
  Manifest m;
  m.layers = layers;
  m.annotations = opts.annotations;
  OCIB_ASSIGN_OR_RETURN(m.config,
                        PutBlob(store, docker ? media_type::kDockerConfig : media_type::kOciConfig,
                                config.Serialize()));
  OCIB_ASSIGN_OR_RETURN(Manifest converted, m.Convert(opts.format));
  OCIB_ASSIGN_OR_RETURN(Descriptor desc,
                        PutBlob(store, converted.media_type, converted.Serialize()));
  desc.platform = config.platform();
  return desc;
}

}  // namespace ocibuild::oci
