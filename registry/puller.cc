#include "registry/puller.h"

#include <atomic>
#include <mutex>

#include "oci/content_store.h"
#include "oci/index.h"
#include "oci/media_types.h"
#include "registry/parallel.h"

namespace ocibuild::registry {
namespace {

Status StoreBytes(BlobCache& cache, const oci::Digest& d, const std::string& bytes) {
  OCIB_ASSIGN_OR_RETURN(bool has, cache.Has(d));
  if (has) return Ok();
  OCIB_ASSIGN_OR_RETURN(auto w, cache.NewWriter());
  OCIB_TRY(w->Write(bytes));
  OCIB_ASSIGN_OR_RETURN(oci::Digest got, w->Commit(d, static_cast<int64_t>(bytes.size())));
  (void)got;
  return Ok();
}

// The manifest or index `ref` names, from the cache when its digest is known and cached.
Result<FetchedManifest> Resolve(RegistryClient& client, BlobCache& cache, const std::string& repo,
                                const std::string& ref, oci::Digest known) {
  if (known.empty()) {
    OCIB_ASSIGN_OR_RETURN(auto head, client.HeadManifest(repo, ref));
    if (head && !head->digest.empty()) known = head->digest;
  }
  if (!known.empty()) {
    OCIB_ASSIGN_OR_RETURN(bool has, cache.Has(known));
    if (has) {
      OCIB_ASSIGN_OR_RETURN(std::string bytes, oci::ReadBlob(cache, known, 4 << 20));
      OCIB_ASSIGN_OR_RETURN(std::string mt, oci::SniffMediaType(bytes));
      return FetchedManifest{mt, std::move(bytes), known};
    }
  }
  OCIB_ASSIGN_OR_RETURN(FetchedManifest m,
                        client.GetManifest(repo, known.empty() ? ref : known.str()));
  OCIB_TRY(StoreBytes(cache, m.digest, m.bytes));
  return m;
}

Result<PullResult> PullImpl(RegistryClient& client, BlobCache& cache, const Reference& ref,
                            const PullOptions& opts) {
  if (ref.registry != client.registry())
    return Error{"client for " + client.registry() + " cannot pull from " + ref.registry};
  PullResult out;
  out.reference = ref;
  OCIB_ASSIGN_OR_RETURN(FetchedManifest root,
                        Resolve(client, cache, ref.repository, ref.Identifier(), ref.digest));
  out.root = root.descriptor();
  out.reference.digest = root.digest;

  FetchedManifest chosen = root;
  if (oci::IsIndexType(root.media_type)) {
    OCIB_ASSIGN_OR_RETURN(oci::Index index, oci::Index::Parse(root.bytes));
    auto child = index.ForPlatform(opts.platform);
    if (!child.ok())
      return Error{"image index " + root.digest.str() + ": " + child.error().message};
    if (!oci::IsManifestType(child->media_type))
      return Error{"image index " + root.digest.str() + ": entry for " + opts.platform.str() +
                   " is " + child->media_type + ", not an image manifest"};
    OCIB_ASSIGN_OR_RETURN(
        chosen, Resolve(client, cache, ref.repository, child->digest.str(), child->digest));
  }
  out.manifest = chosen.descriptor();
  OCIB_ASSIGN_OR_RETURN(out.image, oci::Manifest::Parse(chosen.bytes));

  std::vector<oci::Descriptor> blobs = {out.image.config};
  for (const auto& l : out.image.layers) {
    bool dup = false;
    for (const auto& b : blobs) dup |= b.digest == l.digest;
    if (!dup) blobs.push_back(l);
  }
  std::atomic<int> fetched{0}, cached{0};
  std::atomic<uint64_t> bytes{0};
  auto report = [&](const oci::Descriptor& d, uint64_t done, BlobProgress::State s) {
    if (opts.progress)
      opts.progress(BlobProgress{d.digest, done, static_cast<uint64_t>(d.size), s});
  };
  const int workers =
      opts.parallel_blobs > 0 ? opts.parallel_blobs : client.options().parallel_blobs;
  Status st = RunParallel(blobs.size(), workers, [&](size_t i) -> Status {
    const oci::Descriptor& d = blobs[i];
    OCIB_ASSIGN_OR_RETURN(bool has, cache.Has(d.digest));
    if (!has) {
      // Another build may be fetching the same blob into this cache: wait for it, then look again.
      OCIB_ASSIGN_OR_RETURN(FileLock lock, cache.LockDigest(d.digest));
      OCIB_ASSIGN_OR_RETURN(has, cache.Has(d.digest));
      if (!has) {
        OCIB_TRY(client.FetchBlob(ref.repository, d, cache, [&](uint64_t done, uint64_t) {
          report(d, done, BlobProgress::State::kTransferring);
        }));
        fetched++;
        bytes += static_cast<uint64_t>(d.size);
        report(d, static_cast<uint64_t>(d.size), BlobProgress::State::kFetched);
        return Ok();
      }
    }
    OCIB_ASSIGN_OR_RETURN(int64_t size, cache.Size(d.digest));
    if (size != d.size)
      return Error{"blob " + d.digest.str() + " in cache " + cache.root() + " has " +
                   std::to_string(size) + " bytes, manifest says " + std::to_string(d.size)};
    cached++;
    report(d, static_cast<uint64_t>(d.size), BlobProgress::State::kCached);
    return Ok();
  });
  if (!st.ok()) return std::move(st).error();
  out.blobs_fetched = fetched;
  out.blobs_cached = cached;
  out.bytes_fetched = bytes;
  return out;
}

}  // namespace

const char* BlobStateName(BlobProgress::State s) {
  switch (s) {
    case BlobProgress::State::kTransferring:
      return "transferring";
    case BlobProgress::State::kCached:
      return "cached";
    case BlobProgress::State::kFetched:
      return "fetched";
    case BlobProgress::State::kExisted:
      return "exists";
    case BlobProgress::State::kMounted:
      return "mounted";
    case BlobProgress::State::kPushed:
      return "pushed";
  }
  return "?";
}

Result<PullResult> Pull(RegistryClient& client, BlobCache& cache, const Reference& ref,
                        const PullOptions& opts) {
  auto r = PullImpl(client, cache, ref, opts);
  if (!r.ok()) return std::move(r).error().Context("pulling " + ref.String());
  return r;
}

}  // namespace ocibuild::registry
