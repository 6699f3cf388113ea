// The layer cache. Each filesystem-changing step has a key: the SHA-256 of its parent's key,
// the step as resolved (instruction, expanded arguments, environment, user, workdir, mounts)
// and the digests of everything it reads (COPY sources, bind-mounted files). The cache maps a
// key to the layer the step produced (or to "no change"). A hit needs no rootfs at all: the
// executor unpacks only when it meets the first miss, so a rebuild with nothing changed does no
// filesystem work. Entries are small JSON files written atomically; the layers themselves are
// blobs in the shared content store.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "oci/content_store.h"
#include "oci/descriptor.h"
#include "util/result.h"

namespace ocibuild::builder {

struct CachedStep {
  std::optional<oci::Descriptor> layer;  // nullopt: the step changed nothing
  oci::Digest diff_id;                   // of the layer's uncompressed tar
  // When the layer was made (RFC 3339; "" in older entries): a cached step keeps its history
  // time, so a rebuild from the cache is the same image, as with BuildKit.
  std::string created;
  // Not a step: a memo (LayerCache::PutMemo) carried along in an exported cache, so that a
  // runner importing it knows the content digests without unpacking the stages they hash. It is
  // written as an empty step too: older readers take it for a step no key leads to.
  std::string memo;

  nlohmann::json ToJson() const;
  static Result<CachedStep> FromJson(const nlohmann::json& j, const std::string& what);
};

// key = sha256(parent + "\n" + canonical JSON of `step`), as "sha256:<hex>".
std::string ChainKey(const std::string& parent, const nlohmann::json& step);
// What the steps after this one chain from: the step's key and the layer it made. A step run
// again (--no-cache-filter, a lost cache entry) that makes other files than before (a RUN
// reading /dev/urandom) changes what follows, in its stage and through COPY --from, as
// BuildKit's content-based keys do; one that makes the same layer changes nothing.
std::string ContentChainKey(const std::string& key, const CachedStep& step);

class LayerCache {
 public:
  // Entries under <dir>/steps/; a missing directory is created.
  static Result<LayerCache> Open(const std::string& dir);

  // A hit only when the entry exists and its layer blob is in `store`.
  Result<std::optional<CachedStep>> Get(const std::string& key,
                                        const oci::ContentStore& store) const;
  Status Put(const std::string& key, const CachedStep& step);

  // Small derived values worth keeping between builds (the content digest of what a COPY --from
  // or a RUN mount reads in a stage), by key; nullopt when unknown. Imported memos count, and
  // both are exported with the entries (touched()).
  // `imported_ok` false: only this machine's own (computed here); `*imported` says the value
  // came from an imported cache.
  std::optional<std::string> GetMemo(const std::string& key, bool imported_ok = true,
                                     bool* imported = nullptr) const;
  Status PutMemo(const std::string& key, const std::string& value);

  // Entries read or written through this object, for exporting the cache (--cache-to).
  const std::map<std::string, CachedStep>& touched() const { return touched_; }
  // Adds entries imported from elsewhere (--cache-from); they are consulted like local ones.
  void Import(const std::map<std::string, CachedStep>& entries);

 private:
  std::string MemoPath(const std::string& key) const;

  std::string dir_;
  // Stages build concurrently; a pointer keeps the cache movable.
  std::unique_ptr<std::mutex> mu_ = std::make_unique<std::mutex>();
  mutable std::map<std::string, CachedStep> touched_;
  std::map<std::string, CachedStep> imported_;
};

}  // namespace ocibuild::builder
