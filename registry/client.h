// The distribution API (OCI distribution-spec v1) for one registry: manifests and blobs, with
// authentication, the /v2/ ping that picks the scheme, and retries. Thread-safe: the pusher and
// puller call it from several worker threads at once.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "oci/content_store.h"
#include "oci/descriptor.h"
#include "oci/digest.h"
#include "registry/auth.h"
#include "registry/credentials.h"
#include "registry/http_transport.h"
#include "registry/options.h"
#include "registry/retry.h"
#include "util/result.h"

namespace ocibuild::registry {

// Everything a manifest GET accepts: GHCR refuses clients that omit the OCI index type.
extern const char* const kManifestAccept;

struct FetchedManifest {
  std::string media_type;
  std::string bytes;
  oci::Digest digest;  // of `bytes`; equal to Docker-Content-Digest when the registry sent one
  oci::Descriptor descriptor() const;
};

enum class UploadOutcome { kExisted, kMounted, kUploaded };
const char* UploadOutcomeName(UploadOutcome o);

// (bytes done, bytes total) of one blob transfer.
using ByteProgress = std::function<void(uint64_t, uint64_t)>;

class RegistryClient {
 public:
  // `registry` as written in references ("docker.io", "ghcr.io", "localhost:5000").
  RegistryClient(std::string registry, std::shared_ptr<HttpTransport> transport,
                 std::optional<Credential> credential, RegistryOptions opts);

  // Curl transport configured from `opts` (CA file, --insecure-registry) and credentials looked
  // up in `env`.
  static Result<std::unique_ptr<RegistryClient>> Create(const std::string& registry,
                                                        const RegistryOptions& opts,
                                                        const CredentialEnv& env);

  const std::string& registry() const { return registry_; }
  const RegistryOptions& options() const { return opts_; }

  // GET a manifest or index by tag or digest, checked against Docker-Content-Digest and, when
  // asked for by digest, against that digest.
  Result<FetchedManifest> GetManifest(const std::string& repo, const std::string& ref);
  // HEAD: the descriptor (media type, digest, size) or nullopt for 404.
  Result<std::optional<oci::Descriptor>> HeadManifest(const std::string& repo,
                                                      const std::string& ref);
  // PUT with Content-Type `media_type`; fails if the registry reports another digest.
  Status PutManifest(const std::string& repo, const std::string& ref, const std::string& media_type,
                     const std::string& bytes);

  // Size of the blob if the repository has it, nullopt for 404.
  Result<std::optional<int64_t>> HeadBlob(const std::string& repo, const oci::Digest& d);
  // Streams a blob into `store`, verifying size and digest on the way; a mismatch is an error
  // naming the digest and nothing is stored. Redirects are followed without credentials. A cut
  // transfer continues with a Range request from the last byte written.
  Status FetchBlob(const std::string& repo, const oci::Descriptor& d, oci::ContentStore& store,
                   const ByteProgress& progress = nullptr);
  // Uploads `d` read from `store` unless the repository has it: cross-repository mount from
  // `mount_from` (a repository of this registry, "" for none; falls back to a plain upload),
  // else POST, one streaming PATCH, PUT ?digest=. After a failed attempt the registry is asked
  // how much of the upload it holds (GET on the upload URL) and the rest follows in chunked
  // PATCHes; only where it cannot say does a new upload start.
  Result<UploadOutcome> UploadBlob(const std::string& repo, const oci::Descriptor& d,
                                   const oci::ContentStore& store, const std::string& mount_from,
                                   const ByteProgress& progress = nullptr);

  // Lists tags (for tests and `ocibuild` diagnostics).
  Result<std::vector<std::string>> ListTags(const std::string& repo);

  // For `ocibuild doctor`. The /v2/ URL the ping settled on ("https://host/v2/"), pinging first.
  Result<std::string> PingedEndpoint();
  // After the ping: whether the registry asked for authentication (a WWW-Authenticate challenge).
  bool AsksForAuth() const { return auth_.HasChallenge(); }
  // Whether the credentials may push to `repo`: starts a blob upload with push scope and cancels
  // it, so nothing is written.
  Status CheckPushAccess(const std::string& repo);

 private:
  // Picks the scheme and learns the auth challenge from GET /v2/ (once).
  Status EnsurePinged();
  // Sends `req` with authorization for `scopes`, re-authenticating once on 401.
  Result<HttpResponse> Send(HttpRequest req, std::vector<std::string> scopes,
                            const std::string& what);
  std::string Url(const std::string& path) const;
  // `resp` to a HEAD, with the body the same request as a GET gets (for the error message).
  HttpResponse WithErrorBody(const HttpRequest& req, const HttpResponse& resp);
  // What one blob upload keeps across its attempts.
  struct UploadState {
    bool try_mount = false;
    std::string location;    // the open upload's URL, "" when none is open
    uint64_t confirmed = 0;  // bytes the registry said it holds
    uint64_t most = 0;       // the most it ever held (progress, for the retry budget)
    bool chunked = false;    // resumed: PATCHes in chunks with Content-Range
    bool sent_all = false;   // every byte was sent and confirmed; the PUT may have been lost
  };
  Result<UploadOutcome> UploadAttempt(const std::string& repo, const oci::Descriptor& d, int fd,
                                      UploadState* state, const std::string& mount_from,
                                      const ByteProgress& progress, RetryHint* hint);

  const std::string registry_;
  const std::string api_host_;
  std::shared_ptr<HttpTransport> transport_;
  RegistryOptions opts_;
  Authenticator auth_;
  Retrier retrier_;

  std::mutex ping_mu_;
  bool pinged_ = false;
  std::string base_url_;  // "https://host" after the ping
};

}  // namespace ocibuild::registry
