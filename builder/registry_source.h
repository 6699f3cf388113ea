// ImageSource over the registry client: pulls base images into the shared blob cache (one
// RegistryClient per registry, reused across pulls), and remembers where each blob came from
// so a push can mount it from the base image's repository instead of uploading it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "builder/image_source.h"
#include "builder/progress.h"
#include "registry/blob_cache.h"
#include "registry/client.h"
#include "registry/credentials.h"
#include "registry/options.h"
#include "registry/progress.h"
#include "registry/reference.h"

namespace ocibuild::builder {

class RegistryImageSource : public ImageSource {
 public:
  RegistryImageSource(registry::BlobCache& cache, registry::RegistryOptions opts,
                      registry::CredentialEnv env, Progress* progress)
      : cache_(cache), opts_(std::move(opts)), env_(std::move(env)), progress_(progress) {}

  Result<PulledImage> Pull(const std::string& ref, const oci::Platform& platform) override;

  // A client for `registry`, created on first use.
  Result<registry::RegistryClient*> Client(const std::string& registry);
  // digest -> repository it was pulled from (for cross-repository mounts on push).
  const std::map<std::string, registry::Reference>& blob_sources() const { return sources_; }

 private:
  registry::BlobCache& cache_;
  registry::RegistryOptions opts_;
  registry::CredentialEnv env_;
  Progress* progress_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<registry::RegistryClient>> clients_;
  std::map<std::string, registry::Reference> sources_;
};

// Reports registry transfers to the build progress.
registry::ProgressFn TransferReporter(Progress* progress, const std::string& verb);

}  // namespace ocibuild::builder
