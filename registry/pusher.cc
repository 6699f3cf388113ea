#include "registry/pusher.h"

#include <atomic>
#include <set>

#include "oci/index.h"
#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/parallel.h"

namespace ocibuild::registry {
namespace {

struct Plan {
  // Manifests in push order: children before the indexes that list them; the root is last.
  std::vector<std::pair<oci::Descriptor, std::string>> manifests;
  std::vector<oci::Descriptor> blobs;
};

Status Collect(const oci::ContentStore& store, const oci::Descriptor& d, Plan* plan,
               std::set<std::string>* seen, int depth) {
  if (depth > 8) return Error{"index nesting deeper than 8 at " + d.digest.str()};
  if (!seen->insert(d.digest.str()).second) return Ok();
  OCIB_ASSIGN_OR_RETURN(std::string bytes, oci::ReadBlob(store, d.digest, 4 << 20));
  if (oci::IsIndexType(d.media_type)) {
    OCIB_ASSIGN_OR_RETURN(oci::Index idx, oci::Index::Parse(bytes));
    for (const auto& child : idx.manifests) {
      if (oci::IsIndexType(child.media_type) || oci::IsManifestType(child.media_type)) {
        OCIB_TRY(Collect(store, child, plan, seen, depth + 1));
      } else if (seen->insert(child.digest.str()).second) {
        plan->blobs.push_back(child);  // artifacts listed in an index travel as blobs
      }
    }
  } else if (oci::IsManifestType(d.media_type)) {
    OCIB_ASSIGN_OR_RETURN(oci::Manifest m, oci::Manifest::Parse(bytes));
    std::vector<oci::Descriptor> refs = {m.config};
    refs.insert(refs.end(), m.layers.begin(), m.layers.end());
    for (const auto& b : refs)
      if (seen->insert(b.digest.str()).second) plan->blobs.push_back(b);
  } else {
    return Error{d.digest.str() + ": media type \"" + d.media_type +
                 "\" is neither an image manifest nor an index"};
  }
  plan->manifests.emplace_back(d, std::move(bytes));
  return Ok();
}

}  // namespace

Result<PushResult> Push(RegistryClient& client, const oci::ContentStore& store,
                        const oci::Descriptor& root, const std::vector<Reference>& targets,
                        const PushOptions& opts) {
  const std::string what = "pushing " + root.digest.str();
  if (targets.empty()) return Error{what + ": no target reference"};
  for (const auto& t : targets) {
    if (t.registry != client.registry())
      return Error{what + " to " + t.String() + ": client is for registry " + client.registry()};
    if (!t.digest.empty() && t.digest != root.digest)
      return Error{what + " to " + t.String() + ": the reference pins another digest"};
  }
  Plan plan;
  std::set<std::string> seen;
  if (auto st = Collect(store, root, &plan, &seen, 0); !st.ok())
    return std::move(st).error().Context(what);

  PushResult out;
  out.root = root;
  const int workers =
      opts.parallel_blobs > 0 ? opts.parallel_blobs : client.options().parallel_blobs;
  std::atomic<int> uploaded{0}, mounted{0}, existed{0};
  std::atomic<uint64_t> bytes{0};
  // Repositories in the order first named; later ones mount blobs from the first.
  std::vector<std::string> repos;
  for (const auto& t : targets)
    if (std::find(repos.begin(), repos.end(), t.repository) == repos.end())
      repos.push_back(t.repository);

  for (size_t ri = 0; ri < repos.size(); ++ri) {
    const std::string& repo = repos[ri];
    const std::string where = client.registry() + "/" + repo;
    Status st = RunParallel(plan.blobs.size(), workers, [&](size_t i) -> Status {
      const oci::Descriptor& d = plan.blobs[i];
      std::string mount_from;
      if (ri > 0) {
        mount_from = repos[0];
      } else if (auto it = opts.blob_sources.find(d.digest.str());
                 it != opts.blob_sources.end() && it->second.registry == client.registry()) {
        mount_from = it->second.repository;
      }
      const uint64_t total = static_cast<uint64_t>(d.size);
      auto progress = [&](uint64_t done, uint64_t) {
        if (opts.progress)
          opts.progress(BlobProgress{d.digest, done, total, BlobProgress::State::kTransferring});
      };
      OCIB_ASSIGN_OR_RETURN(UploadOutcome o,
                            client.UploadBlob(repo, d, store, mount_from, progress));
      BlobProgress::State s = BlobProgress::State::kPushed;
      if (o == UploadOutcome::kExisted) {
        existed++;
        s = BlobProgress::State::kExisted;
      } else if (o == UploadOutcome::kMounted) {
        mounted++;
        s = BlobProgress::State::kMounted;
      } else {
        uploaded++;
        bytes += total;
      }
      if (opts.progress) opts.progress(BlobProgress{d.digest, total, total, s});
      return Ok();
    });
    // No manifest is written unless every blob is in place: the tag stays where it was.
    if (!st.ok()) return std::move(st).error().Context(what + " to " + where);

    for (size_t mi = 0; mi + 1 < plan.manifests.size(); ++mi) {
      const auto& [d, bytes_m] = plan.manifests[mi];
      if (auto s = client.PutManifest(repo, d.digest.str(), d.media_type, bytes_m); !s.ok())
        return std::move(s).error().Context(what + " to " + where);
    }
    const auto& [rd, rbytes] = plan.manifests.back();
    bool by_tag = false;
    for (const auto& t : targets) {
      if (t.repository != repo || t.tag.empty()) continue;
      by_tag = true;
      if (auto s = client.PutManifest(repo, t.tag, rd.media_type, rbytes); !s.ok())
        return std::move(s).error().Context(what + " to " + t.String());
    }
    if (!by_tag) {
      if (auto s = client.PutManifest(repo, rd.digest.str(), rd.media_type, rbytes); !s.ok())
        return std::move(s).error().Context(what + " to " + where);
    }
  }
  for (const auto& t : targets) {
    Reference r = t;
    r.digest = root.digest;
    out.pushed.push_back(r);
  }
  out.blobs_uploaded = uploaded;
  out.blobs_mounted = mounted;
  out.blobs_existed = existed;
  out.bytes_uploaded = bytes;
  return out;
}

}  // namespace ocibuild::registry
