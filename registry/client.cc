#include "registry/client.h"

#include <nlohmann/json.hpp>

#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/api_error.h"
#include "registry/reference.h"
#include "registry/resume.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace ocibuild::registry {
namespace {

constexpr size_t kMaxManifestBytes = 4 << 20;  // distribution's own limit

std::string MediaTypeOf(const HttpResponse& resp) {
  std::string ct = resp.Header("content-type");
  return std::string(TrimSpace(ct.substr(0, ct.find(';'))));
}

bool IsDigestRef(const std::string& ref) {
  return ref.find(':') != std::string::npos;
}

void SetHeader(HttpRequest* req, const std::string& name, const std::string& value) {
  std::string n = ToLower(name);
  std::erase_if(req->headers, [&](const auto& kv) { return ToLower(kv.first) == n; });
  if (!value.empty()) req->headers.emplace_back(name, value);
}

// Marks a failed Send as retryable when the connection, not the request, was at fault.
template <typename T>
void HintFromError(const Result<T>& r, RetryHint* hint) {
  if (!r.ok()) HintFromTransportError(r.error(), hint);
}

std::string WithQuery(const std::string& url, const std::string& kv) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + kv;
}

}  // namespace

const char* const kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

oci::Descriptor FetchedManifest::descriptor() const {
  oci::Descriptor d;
  d.media_type = media_type;
  d.digest = digest;
  d.size = static_cast<int64_t>(bytes.size());
  return d;
}

const char* UploadOutcomeName(UploadOutcome o) {
  switch (o) {
    case UploadOutcome::kExisted:
      return "exists";
    case UploadOutcome::kMounted:
      return "mounted";
    case UploadOutcome::kUploaded:
      return "pushed";
  }
  return "?";
}

RegistryClient::RegistryClient(std::string registry, std::shared_ptr<HttpTransport> transport,
                               std::optional<Credential> credential, RegistryOptions opts)
    : registry_(registry),
      api_host_(registry == kDockerHubDomain ? std::string(kDockerHubApiHost) : registry),
      transport_(std::move(transport)),
      opts_(std::move(opts)),
      auth_(*transport_, registry, std::move(credential)),
      retrier_(opts_.retry) {}

Result<std::unique_ptr<RegistryClient>> RegistryClient::Create(const std::string& registry,
                                                               const RegistryOptions& opts,
                                                               const CredentialEnv& env) {
  if (!IsValidRegistryHost(registry)) return Error{"invalid registry host \"" + registry + "\""};
  CurlTransportOptions co;
  co.user_agent = opts.user_agent;
  co.default_tls.ca_file = opts.ca_file;
  for (const auto& h : opts.insecure_registries)
    co.host_tls.emplace_back(h, TlsOptions{opts.ca_file, /*verify=*/false});
  OCIB_ASSIGN_OR_RETURN(auto cred, LookupCredential(registry, env));
  std::shared_ptr<HttpTransport> t = NewCurlTransport(std::move(co));
  return std::make_unique<RegistryClient>(registry, std::move(t), std::move(cred), opts);
}

std::string RegistryClient::Url(const std::string& path) const {
  return base_url_ + path;
}

Status RegistryClient::EnsurePinged() {
  std::lock_guard<std::mutex> lock(ping_mu_);
  if (pinged_) return Ok();
  auto ping = [&](const std::string& scheme, bool retry,
                  bool tls_probe = false) -> Result<HttpResponse> {
    HttpRequest req;
    req.url = scheme + "://" + api_host_ + "/v2/";
    req.tls_probe = tls_probe;
    std::function<Result<HttpResponse>(RetryHint*)> attempt =
        [&](RetryHint* hint) -> Result<HttpResponse> {
      auto r = transport_->Do(req);
      HintFromError(r, hint);
      if (r.ok() && IsRetryableStatus(r->status)) {
        HintFromResponse(*r, hint);
        return Error{"GET " + req.url + ": " + DescribeHttpError(*r)};
      }
      return r;
    };
    if (!retry) {
      RetryHint ignored;
      return attempt(&ignored);
    }
    return retrier_.Run(attempt);
  };
  std::string scheme = "https";
  Result<HttpResponse> r = Error{""};
  if (AllowsPlainHttp(opts_, api_host_)) {
    // As docker does for such hosts: TLS when the server speaks it, else plain HTTP. Whether it
    // does is asked without verifying its certificate, which spares a plain-HTTP registry the
    // parse of the whole trust store; a server that answers TLS is then pinged again, verified,
    // and that answer (its auth challenge) is the one used.
    r = ping("https", /*retry=*/false, /*tls_probe=*/true);
    if (r.ok()) r = ping("https", /*retry=*/false);
    if (!r.ok() && !IsTlsVerificationError(r.error())) {
      Error tls_error = r.error();
      scheme = "http";
      r = ping("http", /*retry=*/true);
      if (!r.ok() && IsConnectFailure(r.error()) && IsConnectFailure(tls_error))
        return std::move(r).error();  // the port refused both: saying so twice adds nothing
      if (!r.ok())
        return Error{r.error().message + " (over TLS: " + tls_error.message + ")",
                     r.error().sys_errno};
    } else if (!r.ok()) {
      return std::move(r).error();
    }
  } else {
    r = ping("https", /*retry=*/true);
    if (!r.ok()) return std::move(r).error();
  }
  if (r->status == 401) auth_.SetChallenges(ParseChallenges(r->Headers("www-authenticate")));
  base_url_ = scheme + "://" + api_host_;
  pinged_ = true;
  return Ok();
}

Result<HttpResponse> RegistryClient::Send(HttpRequest req, std::vector<std::string> scopes,
                                          const std::string& what) {
  OCIB_TRY(EnsurePinged());
  // Credentials go only to the registry's own host; an upload Location elsewhere gets none.
  const bool same_host = UrlHostPort(req.url) == api_host_;
  for (int round = 0;; ++round) {
    std::string authz;
    if (same_host) {
      OCIB_ASSIGN_OR_RETURN(authz, auth_.Authorize(scopes));
    }
    SetHeader(&req, "Authorization", authz);
    OCIB_ASSIGN_OR_RETURN(HttpResponse resp, transport_->Do(req));
    if (resp.status != 401 || !same_host) return resp;
    // Credentials refused are final: no retry, and the registry's own words in the error.
    if (round > 0) {
      return Error{DescribeHttpError(WithErrorBody(req, resp)) + "; " +
                   (auth_.has_credential() ? "the credentials were not accepted"
                                           : "no credentials found for " + registry_)};
    }
    Status st = auth_.OnUnauthorized(resp, &scopes, what);
    if (!st.ok()) {
      Error e = std::move(st).error();
      const std::string plain = DescribeHttpError(resp);
      if (StartsWith(e.message, plain))
        e.message = DescribeHttpError(WithErrorBody(req, resp)) + e.message.substr(plain.size());
      return e;
    }
  }
}

HttpResponse RegistryClient::WithErrorBody(const HttpRequest& req, const HttpResponse& resp) {
  if (req.method != "HEAD" || !resp.body.empty()) return resp;
  // A HEAD answer has no body: the same request as a GET brings the registry's error document.
  HttpRequest get = req;
  get.method = "GET";
  get.sink = nullptr;
  get.progress = nullptr;
  get.max_collected_body = 64 << 10;
  auto r = transport_->Do(get);
  if (r.ok() && r->status == resp.status) return *r;
  return resp;
}

Result<FetchedManifest> RegistryClient::GetManifest(const std::string& repo,
                                                    const std::string& ref) {
  const std::string name = registry_ + "/" + repo + (IsDigestRef(ref) ? "@" : ":") + ref;
  const std::string what = "fetching manifest " + name;
  std::function<Result<FetchedManifest>(RetryHint*)> attempt =
      [&](RetryHint* hint) -> Result<FetchedManifest> {
    OCIB_TRY(EnsurePinged());
    HttpRequest req;
    req.url = Url("/v2/" + repo + "/manifests/" + ref);
    req.headers.emplace_back("Accept", kManifestAccept);
    req.follow_redirects = true;
    req.max_collected_body = kMaxManifestBytes;
    auto r = Send(req, {RepositoryScope(repo, false)}, what);
    HintFromError(r, hint);
    if (!r.ok()) return std::move(r).error().Context(what);
    if (r->status == 404) return Error{what + ": not found: " + DescribeHttpError(*r)};
    if (r->status != 200) {
      HintFromResponse(*r, hint);
      return Error{what + ": " + DescribeHttpError(*r)};
    }
    FetchedManifest m;
    m.bytes = std::move(r->body);
    m.digest = oci::Digest::OfBytes(m.bytes);
    std::string header = r->Header("docker-content-digest");
    if (!header.empty()) {
      auto hd = oci::Digest::Parse(header);
      if (hd.ok() && hd->algorithm() == "sha256" && *hd != m.digest)
        return Error{what + ": registry sent Docker-Content-Digest " + header +
                     " but the manifest's digest is " + m.digest.str()};
    }
    if (IsDigestRef(ref) && ref != m.digest.str())
      return Error{what + ": content has digest " + m.digest.str() + ", not the one asked for"};
    m.media_type = MediaTypeOf(*r);
    if (!oci::IsManifestType(m.media_type) && !oci::IsIndexType(m.media_type)) {
      // Some registries send application/json or nothing: the document's own field decides.
      auto sniffed = oci::SniffMediaType(m.bytes);
      if (!sniffed.ok()) return Error{what + ": " + sniffed.error().message};
      m.media_type = *sniffed;
    }
    if (m.media_type == oci::media_type::kDockerManifestSchema1 ||
        m.media_type == oci::media_type::kDockerManifestSchema1Signed)
      return Error{what +
                   ": Docker schema 1 manifests are not supported (push the image again "
                   "with a current docker or ocibuild)"};
    if (!oci::IsManifestType(m.media_type) && !oci::IsIndexType(m.media_type))
      return Error{what + ": unsupported manifest media type \"" + m.media_type + "\""};
    return m;
  };
  return retrier_.Run(attempt);
}

Result<std::optional<oci::Descriptor>> RegistryClient::HeadManifest(const std::string& repo,
                                                                    const std::string& ref) {
  const std::string what =
      "checking manifest " + registry_ + "/" + repo + (IsDigestRef(ref) ? "@" : ":") + ref;
  std::function<Result<std::optional<oci::Descriptor>>(RetryHint*)> attempt =
      [&](RetryHint* hint) -> Result<std::optional<oci::Descriptor>> {
    OCIB_TRY(EnsurePinged());
    HttpRequest req;
    req.method = "HEAD";
    req.url = Url("/v2/" + repo + "/manifests/" + ref);
    req.headers.emplace_back("Accept", kManifestAccept);
    auto r = Send(req, {RepositoryScope(repo, false)}, what);
    HintFromError(r, hint);
    if (!r.ok()) return std::move(r).error().Context(what);
    if (r->status == 404) return std::optional<oci::Descriptor>();
    if (r->status != 200) {
      HintFromResponse(*r, hint);
      return Error{what + ": " + DescribeHttpError(*r)};
    }
    oci::Descriptor d;
    d.media_type = MediaTypeOf(*r);
    auto dg = oci::Digest::Parse(r->Header("docker-content-digest"));
    if (dg.ok()) d.digest = *dg;  // left empty when absent: callers then GET
    std::string len = r->Header("content-length");
    if (!len.empty() && len.find_first_not_of("0123456789") == std::string::npos && len.size() < 19)
      d.size = std::stoll(len);
    return std::optional<oci::Descriptor>(std::move(d));
  };
  return retrier_.Run(attempt);
}

Status RegistryClient::PutManifest(const std::string& repo, const std::string& ref,
                                   const std::string& media_type, const std::string& bytes) {
  const std::string name = registry_ + "/" + repo + (IsDigestRef(ref) ? "@" : ":") + ref;
  const std::string what = "pushing manifest " + name;
  const oci::Digest want = oci::Digest::OfBytes(bytes);
  std::function<Status(RetryHint*)> attempt = [&](RetryHint* hint) -> Status {
    OCIB_TRY(EnsurePinged());
    HttpRequest req;
    req.method = "PUT";
    req.url = Url("/v2/" + repo + "/manifests/" + ref);
    req.headers.emplace_back("Content-Type", media_type);
    req.body = bytes;
    auto r = Send(req, {RepositoryScope(repo, true)}, what);
    HintFromError(r, hint);
    if (!r.ok()) return std::move(r).error().Context(what);
    if (r->status != 201 && r->status != 200 && r->status != 202) {
      HintFromResponse(*r, hint);
      return Error{what + ": " + DescribeHttpError(*r)};
    }
    std::string got = r->Header("docker-content-digest");
    if (!got.empty() && got != want.str())
      return Error{what + ": registry stored it as " + got + ", expected " + want.str()};
    return Ok();
  };
  return retrier_.Run(attempt);
}

Result<std::optional<int64_t>> RegistryClient::HeadBlob(const std::string& repo,
                                                        const oci::Digest& d) {
  const std::string what = "checking blob " + d.str() + " in " + registry_ + "/" + repo;
  std::function<Result<std::optional<int64_t>>(RetryHint*)> attempt =
      [&](RetryHint* hint) -> Result<std::optional<int64_t>> {
    OCIB_TRY(EnsurePinged());
    HttpRequest req;
    req.method = "HEAD";
    req.url = Url("/v2/" + repo + "/blobs/" + d.str());
    auto r = Send(req, {RepositoryScope(repo, false)}, what);
    HintFromError(r, hint);
    if (!r.ok()) return std::move(r).error().Context(what);
    if (r->status == 404) return std::optional<int64_t>();
    // A redirect means the registry has it in its storage (GHCR answers HEAD with 307 too).
    if (r->status == 307 || r->status == 302 || r->status == 303) return std::optional<int64_t>(-1);
    if (r->status != 200) {
      HintFromResponse(*r, hint);
      return Error{what + ": " + DescribeHttpError(*r)};
    }
    std::string len = r->Header("content-length");
    if (!len.empty() && len.find_first_not_of("0123456789") == std::string::npos && len.size() < 19)
      return std::optional<int64_t>(std::stoll(len));
    return std::optional<int64_t>(-1);
  };
  return retrier_.Run(attempt);
}

Status RegistryClient::FetchBlob(const std::string& repo, const oci::Descriptor& d,
                                 oci::ContentStore& store, const ByteProgress& progress) {
  const std::string what = "fetching blob " + d.digest.str() + " from " + registry_ + "/" + repo;
  if (d.digest.algorithm() != "sha256")
    return Error{what + ": digest algorithm " + d.digest.algorithm() + " is not supported"};
  // Kept across attempts: an attempt cut short is continued with a Range request from the last
  // byte written, the running hash continuing with it, so the blob is still verified end to end.
  std::unique_ptr<oci::BlobWriter> writer;
  Sha256 hash;
  uint64_t n = 0, most = 0;
  const uint64_t want = static_cast<uint64_t>(d.size);
  auto start_over = [&]() -> Status {
    writer.reset();
    OCIB_ASSIGN_OR_RETURN(writer, store.NewWriter());
    hash = Sha256();
    n = 0;
    return Ok();
  };
  OCIB_TRY(start_over());
  std::function<Status(RetryHint*)> attempt = [&](RetryHint* hint) -> Status {
    OCIB_TRY(EnsurePinged());
    const uint64_t from = n;
    if (n < want) {
      uint64_t base = from;  // where this response's first byte goes
      HttpRequest req;
      req.url = Url("/v2/" + repo + "/blobs/" + d.digest.str());
      req.follow_redirects = true;
      if (from > 0) req.headers.emplace_back("Range", "bytes=" + std::to_string(from) + "-");
      req.on_response = [&](const HttpResponse& head) -> Status {
        if (from == 0) return Ok();
        if (head.status == 206) {
          auto cr = ParseContentRange(head.Header("content-range"));
          if (cr && cr->first == from && (!cr->total || *cr->total == want)) return Ok();
          OCIB_TRY(start_over());
          hint->retryable = true;
          return Error{what + ": asked for bytes " + std::to_string(from) +
                       "- and got Content-Range \"" + head.Header("content-range") + "\""};
        }
        // A registry or redirect target that ignores Range sends the whole blob again.
        base = 0;
        return start_over();
      };
      req.sink = [&](const char* data, size_t len) -> Status {
        if (n + len > want)
          return Error{"registry sent more than the expected " + std::to_string(want) + " bytes"};
        n += len;
        hash.Update(data, len);
        return writer->Write(std::string_view(data, len));
      };
      if (progress)
        req.progress = [&](uint64_t, uint64_t, uint64_t dl, uint64_t) {
          progress(std::min(want, base + dl), want);
        };
      auto r = Send(req, {RepositoryScope(repo, false)}, what);
      if (n > most) {
        most = n;
        hint->progressed = true;
      }
      if (!r.ok()) {
        if (!hint->retryable) HintFromTransportError(r.error(), hint);
        return std::move(r).error().Context(what);
      }
      if (r->status == 404) return Error{what + ": not found: " + DescribeHttpError(*r)};
      if (r->status != 200 && r->status != 206) {
        HintFromResponse(*r, hint);
        // Presigned storage URLs (GHCR's S3 redirects) expire: a new GET gets a new one.
        if (r->status == 403 && UrlHostPort(r->effective_url) != api_host_) hint->retryable = true;
        // A range the server cannot serve: the whole blob again.
        if (r->status == 416) {
          OCIB_TRY(start_over());
          hint->retryable = true;
        }
        return Error{what + ": " + DescribeHttpError(*r)};
      }
    }
    if (n != want) {
      // The server ended the response early but cleanly: continue from there.
      hint->retryable = true;
      return Error{what + ": got " + std::to_string(n) + " bytes, expected " +
                   std::to_string(want)};
    }
    std::string got = "sha256:" + hash.FinishHex();
    if (got != d.digest.str()) return Error{what + ": content has digest " + got + "; rejected"};
    OCIB_ASSIGN_OR_RETURN(oci::Digest stored, writer->Commit(d.digest, d.size));
    (void)stored;
    return Ok();
  };
  return retrier_.Run(attempt);
}

Result<UploadOutcome> RegistryClient::UploadBlob(const std::string& repo, const oci::Descriptor& d,
                                                 const oci::ContentStore& store,
                                                 const std::string& mount_from,
                                                 const ByteProgress& progress) {
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, store.Open(d.digest));
  UploadState state;
  state.try_mount = !mount_from.empty() && mount_from != repo;
  std::function<Result<UploadOutcome>(RetryHint*)> attempt =
      [&](RetryHint* hint) -> Result<UploadOutcome> {
    return UploadAttempt(repo, d, fd.get(), &state, mount_from, progress, hint);
  };
  return retrier_.Run(attempt);
}

Result<UploadOutcome> RegistryClient::UploadAttempt(const std::string& repo,
                                                    const oci::Descriptor& d, int fd,
                                                    UploadState* state,
                                                    const std::string& mount_from,
                                                    const ByteProgress& progress, RetryHint* hint) {
  const std::string what = "pushing blob " + d.digest.str() + " to " + registry_ + "/" + repo;
  const uint64_t size = static_cast<uint64_t>(d.size);
  OCIB_TRY(EnsurePinged());
  // The registry holds `held` bytes of the upload at state->location.
  auto confirm = [&](uint64_t held) {
    state->confirmed = held;
    if (held > state->most) {
      state->most = held;
      hint->progressed = true;
    }
  };
  auto report = [&](uint64_t done) {
    if (progress) progress(std::min(done, size), size);
  };
  // A registry that lost or rejected the upload's data: the next step is a new upload.
  auto upload_error = [&](const std::string& step, const HttpResponse& resp) -> Error {
    HintFromResponse(resp, hint);
    std::string code = RegistryErrorCode(resp);
    if (resp.status == 416 || code == "BLOB_UPLOAD_UNKNOWN" || code == "BLOB_UPLOAD_INVALID" ||
        code == "DIGEST_INVALID" || code == "SIZE_INVALID" || code == "RANGE_INVALID") {
      hint->retryable = true;
      state->location.clear();
    }
    return Error{what + ": " + step + ": " + DescribeHttpError(resp)};
  };

  // An upload left open by a failed attempt: ask the registry how much of it arrived.
  uint64_t offset = 0;
  if (!state->location.empty()) {
    HttpRequest get;
    get.url = state->location;
    std::vector<std::string> scopes = {RepositoryScope(repo, true)};
    auto r = Send(get, scopes, what);
    HintFromError(r, hint);
    if (!r.ok()) return std::move(r).error().Context(what + ": asking for the upload's offset");
    if (IsRetryableStatus(r->status)) {
      HintFromResponse(*r, hint);
      return Error{what + ": asking for the upload's offset: " + DescribeHttpError(*r)};
    }
    std::optional<uint64_t> held;
    if (r->status == 204 || r->status == 200 || r->status == 202)
      held = UploadedBytesFromRange(r->Header("range"));
    // Less than it confirmed before means it cannot say (docker-registry 2.x cancels an upload
    // that holds part of a cut request): only then does the upload start over.
    if (held && *held >= state->confirmed && *held <= size) {
      if (!r->Header("location").empty())
        state->location = ResolveUrl(state->location, r->Header("location"));
      offset = *held;
      confirm(offset);
      state->chunked = true;
    } else {
      state->location.clear();
    }
  }

  if (state->location.empty()) {
    state->confirmed = 0;
    state->chunked = false;
    for (;;) {
      const bool try_mount = state->try_mount;
      std::vector<std::string> scopes = {RepositoryScope(repo, true)};
      if (try_mount) scopes.push_back(RepositoryScope(mount_from, false));
      {
        HttpRequest head;
        head.method = "HEAD";
        head.url = Url("/v2/" + repo + "/blobs/" + d.digest.str());
        auto r = Send(head, scopes, what);
        HintFromError(r, hint);
        if (!r.ok()) return std::move(r).error().Context(what);
        if (r->status == 200 || r->status == 307) {
          report(size);
          // Sent in full by an earlier attempt whose final answer was lost.
          return state->sent_all ? UploadOutcome::kUploaded : UploadOutcome::kExisted;
        }
        if (r->status != 404) {
          HintFromResponse(*r, hint);
          return Error{what + ": HEAD: " + DescribeHttpError(*r)};
        }
      }
      HttpRequest post;
      post.method = "POST";
      post.url = Url("/v2/" + repo + "/blobs/uploads/");
      if (try_mount)
        post.url += "?mount=" + UrlEncode(d.digest.str()) + "&from=" + UrlEncode(mount_from);
      auto r = Send(post, scopes, what);
      HintFromError(r, hint);
      if (!r.ok()) return std::move(r).error().Context(what);
      if (try_mount && r->status == 201) {
        report(size);
        return UploadOutcome::kMounted;
      }
      if (r->status != 202) {
        if (try_mount) {
          // Registries may refuse mounts (Docker Hub does): a plain upload still works, and the
          // mount is not tried again on later attempts.
          state->try_mount = false;
          continue;
        }
        HintFromResponse(*r, hint);
        return Error{what + ": POST: " + DescribeHttpError(*r)};
      }
      if (r->Header("location").empty())
        return Error{what + ": POST: registry answered 202 without a Location"};
      state->location = ResolveUrl(post.url, r->Header("location"));
      break;
    }
  }

  std::vector<std::string> scopes = {RepositoryScope(repo, true)};
  // A new upload goes as one streaming PATCH, as docker and skopeo send it (registries that
  // limit chunk sizes accept it). A resumed one goes in chunks with Content-Range, each
  // confirmed by the registry, so that a later cut loses at most one chunk.
  auto send_patch = [&](uint64_t from, uint64_t len) -> Status {
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = state->location;
    patch.headers.emplace_back("Content-Type", "application/octet-stream");
    if (state->chunked)
      patch.headers.emplace_back("Content-Range",
                                 std::to_string(from) + "-" + std::to_string(from + len - 1));
    patch.body_fd = fd;
    patch.body_offset = from;
    patch.body_size = len;
    if (progress)
      patch.progress = [&](uint64_t ul, uint64_t, uint64_t, uint64_t) { report(from + ul); };
    auto r = Send(patch, scopes, what);
    HintFromError(r, hint);
    if (!r.ok()) return std::move(r).error().Context(what);
    if (r->status != 202 && r->status != 204) return upload_error("PATCH", *r);
    if (!r->Header("location").empty())
      state->location = ResolveUrl(state->location, r->Header("location"));
    const uint64_t end = from + len;
    std::optional<uint64_t> held = UploadedBytesFromRange(r->Header("range"));
    if (held && *held != end && end > 1) {
      // The registry holds something else than was sent: ask it again on the next attempt.
      hint->retryable = true;
      return Error{what + ": PATCH of bytes " + std::to_string(from) + "-" + std::to_string(end) +
                   ": the registry says it holds " + std::to_string(*held)};
    }
    confirm(end);
    return Ok();
  };
  // A new upload goes as one streaming PATCH, as docker and skopeo send it (registries that
  // limit chunk sizes accept it). A resumed one goes in chunks with Content-Range, each
  // confirmed by the registry, so that a later cut loses at most one chunk.
  if (!state->chunked) {
    OCIB_TRY(send_patch(0, size));
  } else {
    while (offset < size) {
      const uint64_t len = std::min<uint64_t>(opts_.upload_chunk_bytes, size - offset);
      OCIB_TRY(send_patch(offset, len));
      offset += len;
    }
  }
  state->sent_all = true;
  {
    HttpRequest put;
    put.method = "PUT";
    put.url = WithQuery(state->location, "digest=" + UrlEncode(d.digest.str()));
    put.headers.emplace_back("Content-Type", "application/octet-stream");
    auto r = Send(put, scopes, what);
    HintFromError(r, hint);
    if (!r.ok()) return std::move(r).error().Context(what);
    if (r->status != 201 && r->status != 204 && r->status != 200) return upload_error("PUT", *r);
  }
  return UploadOutcome::kUploaded;
}

Result<std::vector<std::string>> RegistryClient::ListTags(const std::string& repo) {
  const std::string what = "listing tags of " + registry_ + "/" + repo;
  std::function<Result<std::vector<std::string>>(RetryHint*)> attempt =
      [&](RetryHint* hint) -> Result<std::vector<std::string>> {
    OCIB_TRY(EnsurePinged());
    HttpRequest req;
    req.url = Url("/v2/" + repo + "/tags/list");
    auto r = Send(req, {RepositoryScope(repo, false)}, what);
    HintFromError(r, hint);
    if (!r.ok()) return std::move(r).error().Context(what);
    if (r->status != 200) {
      HintFromResponse(*r, hint);
      return Error{what + ": " + DescribeHttpError(*r)};
    }
    auto j = nlohmann::json::parse(r->body, nullptr, false);
    std::vector<std::string> tags;
    if (j.is_object() && j.contains("tags") && j["tags"].is_array())
      for (const auto& t : j["tags"])
        if (t.is_string()) tags.push_back(t.get<std::string>());
    return tags;
  };
  return retrier_.Run(attempt);
}

Result<std::string> RegistryClient::PingedEndpoint() {
  OCIB_TRY(EnsurePinged());
  return Url("/v2/");
}

Status RegistryClient::CheckPushAccess(const std::string& repo) {
  const std::string what = "starting an upload to " + registry_ + "/" + repo;
  OCIB_TRY(EnsurePinged());
  HttpRequest req;
  req.method = "POST";
  req.url = Url("/v2/" + repo + "/blobs/uploads/");
  auto resp = Send(req, {RepositoryScope(repo, true)}, what);
  if (!resp.ok()) return std::move(resp).error().Context(what);
  if (resp->status != 202) return Error{what + ": " + DescribeHttpError(*resp)};
  std::string location = resp->Header("location");
  if (!location.empty()) {
    // Best effort: an abandoned upload session expires on its own anyway.
    HttpRequest cancel;
    cancel.method = "DELETE";
    cancel.url = ResolveUrl(req.url, location);
    (void)Send(cancel, {RepositoryScope(repo, true)}, "cancelling the upload");
  }
  return Ok();
}

}  // namespace ocibuild::registry
