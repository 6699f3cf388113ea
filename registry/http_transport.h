// HTTP as the registry client needs it, behind an interface so auth/push/pull logic is unit
// tested with a fake, and a libcurl implementation that does everything libcurl does itself:
// TLS verification, CA files, proxies (from the usual environment variables), keep-alive,
// redirects without forwarding credentials to another host.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "registry/ca_store.h"
#include "util/result.h"

namespace ocibuild::registry {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse;

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HttpHeaders headers;
  // Request body: `body`, or when `body_fd` >= 0, `body_size` bytes read from that fd starting at
  // `body_offset` with pread (so a transport may rewind it, and the caller's offset is untouched).
  std::string body;
  int body_fd = -1;
  uint64_t body_offset = 0;
  uint64_t body_size = 0;
  // Response body consumer; when unset, the body is collected into HttpResponse::body, up to
  // `max_collected_body` bytes (more is an error: registries have no business sending it).
  std::function<Status(const char* data, size_t len)> sink;
  // With a sink: called once with the final 2xx response's status and headers (body empty)
  // before its first byte reaches the sink; an error aborts the transfer (a resumed download
  // checks the Content-Range here, or starts over on a 200).
  std::function<Status(const HttpResponse& head)> on_response;
  size_t max_collected_body = 16 << 20;
  // Follow 3xx for this request. Credentials are never sent to another host, port or scheme.
  bool follow_redirects = false;
  // Called as bytes move: (uploaded, upload_total, downloaded, download_total).
  std::function<void(uint64_t, uint64_t, uint64_t, uint64_t)> progress;
  // Only asks whether the server speaks TLS at all: its certificate is not verified (so no
  // trust store is parsed, tens of milliseconds) and the connection is not kept. Nothing in
  // the answer may be trusted or used beyond "a response came".
  bool tls_probe = false;
};

struct HttpResponse {
  long status = 0;
  std::string effective_url;  // after redirects
  HttpHeaders headers;        // names lowercased, in arrival order, of the final response only
  std::string body;           // unless a sink was given

  // First value of a header (case-insensitive name), "" when absent.
  std::string Header(std::string_view name) const;
  std::vector<std::string> Headers(std::string_view name) const;
};

// Errnos that mark a failure as worth retrying (connection reset, refused, timed out, EOF
// mid-response; EAGAIN for a token server's 429/5xx); the transport sets Error::sys_errno.
bool IsTransientTransportError(const Error& e);
// No connection was made at all: refused (ECONNREFUSED), the name did not resolve or the host is
// unreachable (EHOSTUNREACH, ENETUNREACH), no answer within the connect timeout (EHOSTDOWN).
// The message names host and port.
bool IsConnectFailure(const Error& e);
// The server's certificate was not trusted (or not for this host): never a reason to fall back
// to plain HTTP.
bool IsTlsVerificationError(const Error& e);

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  // A response of any status is a success here; an Error means no complete response arrived
  // (or the sink refused the body), with the method, URL and cause in the message.
  virtual Result<HttpResponse> Do(const HttpRequest& req) = 0;
};

struct TlsOptions {
  // Extra CA bundle, trusted with the system's hashed certificate directory where there is one;
  // when empty, the trust store FindCaStore finds (SSL_CERT_FILE, SSL_CERT_DIR, the system's).
  std::string ca_file;
  bool verify = true;  // false only for hosts named --insecure-registry
};

struct CurlTransportOptions {
  std::string user_agent = "ocibuild/0.1";
  // Per-host TLS overrides (host or host:port -> options); others get `default_tls`.
  TlsOptions default_tls;
  std::vector<std::pair<std::string, TlsOptions>> host_tls;
  // Name resolution and TCP connect together; a registry that does not answer is an error
  // after this, not after the minutes a kernel's SYN retries take.
  long connect_timeout_ms = 10000;
  // Abort a transfer that moves fewer than `low_speed_bytes` per second for `low_speed_secs`:
  // a stalled connection becomes a retryable timeout instead of hanging a build.
  long low_speed_bytes = 1;
  long low_speed_secs = 60;
  // How the trust store is found; unset members mean SystemCaProbe(). An https request with
  // verification on and no trust store fails before connecting, naming --registry-ca and
  // SSL_CERT_FILE.
  CaProbe ca_probe;
};

// Thread-safe: each call borrows an easy handle from a pool, so connections are kept alive and
// reused across requests, and several threads transfer in parallel.
std::unique_ptr<HttpTransport> NewCurlTransport(CurlTransportOptions opts = {});

// "https://host:5000/v2/x?y" -> "host:5000".
std::string UrlHostPort(std::string_view url);
// As UrlHostPort, with the scheme's default port when the URL names none: "ghcr.io:443".
std::string UrlHostAndPort(std::string_view url);
// Resolves a Location header against the URL it came from (absolute, "/path", or relative).
std::string ResolveUrl(std::string_view base, std::string_view location);
// Percent-encodes a query parameter value.
std::string UrlEncode(std::string_view s);

}  // namespace ocibuild::registry
