#include "builder/registry_source.h"

#include "oci/content_store.h"
#include "registry/puller.h"

namespace ocibuild::builder {

registry::ProgressFn TransferReporter(Progress* progress, const std::string& verb) {
  if (!progress) return nullptr;
  return [progress, verb](const registry::BlobProgress& p) {
    if (p.state == registry::BlobProgress::State::kTransferring) {
      progress->Transfer(verb + " " + p.digest.Short(), p.done, p.total);
    } else if (p.state != registry::BlobProgress::State::kCached) {
      progress->Transfer(
          verb + " " + p.digest.Short() + " (" + registry::BlobStateName(p.state) + ")", p.total,
          p.total);
    }
  };
}

Result<registry::RegistryClient*> RegistryImageSource::Client(const std::string& reg) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(reg);
  if (it != clients_.end()) return it->second.get();
  OCIB_ASSIGN_OR_RETURN(auto client, registry::RegistryClient::Create(reg, opts_, env_));
  auto* raw = client.get();
  clients_[reg] = std::move(client);
  return raw;
}

Result<PulledImage> RegistryImageSource::Pull(const std::string& text,
                                              const oci::Platform& platform) {
  OCIB_ASSIGN_OR_RETURN(registry::Reference ref, registry::ParseReference(text));
  OCIB_ASSIGN_OR_RETURN(registry::RegistryClient * client, Client(ref.registry));
  registry::PullOptions po;
  po.platform = platform;
  po.parallel_blobs = opts_.parallel_blobs;
  po.progress = TransferReporter(progress_, "pull");
  auto pulled = registry::Pull(*client, cache_, ref, po);  // its errors say "pulling <ref>"
  if (!pulled.ok()) return pulled.error();
  PulledImage out;
  out.name = ref.String();
  out.manifest_digest = pulled->manifest.digest;
  out.root_digest = pulled->root.digest;
  OCIB_ASSIGN_OR_RETURN(std::string config_bytes,
                        oci::ReadBlob(cache_, pulled->image.config.digest));
  OCIB_ASSIGN_OR_RETURN(out.config, oci::ImageConfig::Parse(config_bytes));
  out.layers = pulled->image.layers;
  if (out.layers.size() != out.config.diff_ids.size())
    return Error{ref.String() + ": the manifest lists " + std::to_string(out.layers.size()) +
                 " layers but the config has " + std::to_string(out.config.diff_ids.size()) +
                 " diff_ids"};
  std::lock_guard lock(mu_);
  for (const auto& l : out.layers) sources_.emplace(l.digest.str(), ref);
  return out;
}

}  // namespace ocibuild::builder
