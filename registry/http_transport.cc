#include "registry/http_transport.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "util/strings.h"

namespace ocibuild::registry {
namespace {

struct CurlEasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

struct CurlUrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
using CurlUrl = std::unique_ptr<CURLU, CurlUrlDeleter>;

// Query strings of upload and redirect URLs carry signatures (S3 presigned URLs, upload state):
// errors show scheme, host and path only.
std::string RedactUrl(std::string_view url) {
  size_t q = url.find('?');
  return std::string(url.substr(0, q));
}

// State shared with curl's callbacks during one transfer.
struct Transfer {
  CURL* handle = nullptr;
  const HttpRequest* req = nullptr;
  HttpResponse* resp = nullptr;
  uint64_t body_offset = 0;
  Error sink_error;
  bool sink_failed = false;
  bool response_checked = false;
  bool body_too_large = false;
  int read_errno = 0;
};

size_t OnHeader(char* data, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  std::string_view line(data, len);
  // Interim responses (100 Continue, redirects) start over: only the final one is kept.
  if (StartsWith(line, "HTTP/")) {
    t->resp->headers.clear();
    return len;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  t->resp->headers.emplace_back(ToLower(TrimSpace(line.substr(0, colon))),
                                std::string(TrimSpace(line.substr(colon + 1))));
  return len;
}

size_t OnWrite(char* data, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t len = size * n;
  // Only a successful body goes to the sink; an error document is kept for the message.
  long code = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &code);
  if (t->req->sink && code >= 200 && code < 300) {
    if (!t->response_checked && t->req->on_response) {
      t->response_checked = true;
      t->resp->status = code;
      Status st = t->req->on_response(*t->resp);
      if (!st.ok()) {
        t->sink_error = std::move(st).error();
        t->sink_failed = true;
        return 0;
      }
    }
    Status st = t->req->sink(data, len);
    if (!st.ok()) {
      t->sink_error = std::move(st).error();
      t->sink_failed = true;
      return 0;
    }
    return len;
  }
  size_t cap = t->req->sink ? 64 * 1024 : t->req->max_collected_body;
  if (t->resp->body.size() + len > cap) {
    if (t->req->sink) return len;  // error documents are truncated, not fatal
    t->body_too_large = true;
    return 0;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t OnRead(char* buf, size_t size, size_t n, void* ud) {
  auto* t = static_cast<Transfer*>(ud);
  size_t want = size * n;
  const HttpRequest& r = *t->req;
  if (r.body_fd >= 0) {
    if (t->body_offset >= r.body_size) return 0;
    want = std::min<uint64_t>(want, r.body_size - t->body_offset);
    ssize_t got;
    do {
      got = ::pread(r.body_fd, buf, want, static_cast<off_t>(r.body_offset + t->body_offset));
    } while (got < 0 && errno == EINTR);
    if (got < 0) {
      t->read_errno = errno;
      return CURL_READFUNC_ABORT;
    }
    if (got == 0) {
      t->read_errno = EIO;  // file shorter than announced
      return CURL_READFUNC_ABORT;
    }
    t->body_offset += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
  if (t->body_offset >= r.body.size()) return 0;
  size_t k = std::min<size_t>(want, r.body.size() - t->body_offset);
  std::memcpy(buf, r.body.data() + t->body_offset, k);
  t->body_offset += k;
  return k;
}

int OnSeek(void* ud, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(ud);
  if (origin != SEEK_SET || offset < 0) return CURL_SEEKFUNC_CANTSEEK;
  t->body_offset = static_cast<uint64_t>(offset);
  return CURL_SEEKFUNC_OK;
}

int OnProgress(void* ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
               curl_off_t ulnow) {
  auto* t = static_cast<Transfer*>(ud);
  if (t->req->progress) t->req->progress(ulnow, ultotal, dlnow, dltotal);
  return 0;
}

// The errno a failed transfer maps to, so callers can tell "try again" from "give up".
int ErrnoFor(CURLcode rc, long os_errno) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
      return os_errno ? static_cast<int>(os_errno) : ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
      return ETIMEDOUT;
    case CURLE_SEND_ERROR:
      return os_errno ? static_cast<int>(os_errno) : EPIPE;
    case CURLE_RECV_ERROR:
      return os_errno ? static_cast<int>(os_errno) : ECONNRESET;
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return ECONNRESET;  // the peer closed mid-response: EOF
    case CURLE_COULDNT_RESOLVE_HOST:
      return EHOSTUNREACH;
    case CURLE_SSL_CONNECT_ERROR:
      // A handshake cut by the network is worth another try; a handshake refused is not.
      return os_errno == ECONNRESET || os_errno == EPIPE ? static_cast<int>(os_errno) : 0;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return EKEYREJECTED;
    default:
      return 0;
  }
}

// The error for a transfer that failed, naming host and port when no connection was made.
Error DescribeFailure(const std::string& what, const std::string& url, CURLcode rc, long os_errno,
                      const std::string& detail) {
  const std::string where = UrlHostAndPort(url);
  int err = ErrnoFor(rc, os_errno);
  switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
      return Error{what + ": cannot connect to " + where + ": the host name does not resolve (" +
                       detail + ")",
                   err};
    case CURLE_COULDNT_CONNECT:
      return Error{what + ": cannot connect to " + where + ": " +
                       (os_errno ? std::string(std::strerror(static_cast<int>(os_errno))) : detail),
                   err};
    case CURLE_OPERATION_TIMEDOUT:
      if (detail.find("onnection timed out") != std::string::npos ||
          detail.find("Connection time-out") != std::string::npos ||
          detail.find("Resolving timed out") != std::string::npos)
        return Error{what + ": cannot connect to " + where + ": no answer (" + detail + ")",
                     EHOSTDOWN};
      break;
    case CURLE_SSL_CONNECT_ERROR:
      return Error{what + ": TLS handshake with " + where + " failed: " + detail, err};
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
      return Error{what + ": " + detail + " (the certificate of " + where +
                       " is not trusted; --registry-ca adds a CA)",
                   err};
    default:
      break;
  }
  return Error{what + ": " + detail, err};
}

class CurlTransport final : public HttpTransport {
 public:
  explicit CurlTransport(CurlTransportOptions opts) : opts_(std::move(opts)) {
    CaProbe probe = opts_.ca_probe.getenv ? opts_.ca_probe : SystemCaProbe();
    default_ca_ = FindCaStore(opts_.default_tls.ca_file, probe);
    for (const auto& [host, tls] : opts_.host_tls)
      host_ca_.push_back(FindCaStore(tls.ca_file, probe));
  }

  Result<HttpResponse> Do(const HttpRequest& req) override {
    CurlEasy h = Borrow();
    if (!h) return Error{"curl_easy_init failed"};
    Result<HttpResponse> r = Perform(h.get(), req);
    Return(std::move(h));
    return r;
  }

 private:
  CurlEasy Borrow() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        CurlEasy h = std::move(free_.back());
        free_.pop_back();
        curl_easy_reset(h.get());  // keeps live connections and the DNS/TLS session caches
        return h;
      }
    }
    return CurlEasy(curl_easy_init());
  }
  void Return(CurlEasy h) {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(std::move(h));
  }

  // Index into host_tls for the URL's host, or -1 for default_tls.
  int TlsIndexFor(const std::string& url) const {
    std::string hp = UrlHostPort(url);
    std::string host = hp.substr(0, hp.rfind(':') == std::string::npos ? hp.size() : hp.rfind(':'));
    for (size_t i = 0; i < opts_.host_tls.size(); ++i)
      if (opts_.host_tls[i].first == hp) return static_cast<int>(i);
    for (size_t i = 0; i < opts_.host_tls.size(); ++i)
      if (opts_.host_tls[i].first == host) return static_cast<int>(i);
    return -1;
  }

  Result<HttpResponse> Perform(CURL* h, const HttpRequest& req) {
    const int tls_index = TlsIndexFor(req.url);
    const TlsOptions& tls = tls_index < 0 ? opts_.default_tls : opts_.host_tls[tls_index].second;
    const CaStore& ca = tls_index < 0 ? default_ca_ : host_ca_[tls_index];
    // Not a TLS verification error (that would forbid the plain-HTTP fallback for loopback
    // registries): nothing was verified, there was nothing to verify with.
    if (tls.verify && ca.empty() && StartsWith(req.url, "https://"))
      return Error{req.method + " " + RedactUrl(req.url) + ": " + NoCaStoreMessage()};
    HttpResponse resp;
    Transfer t;
    t.handle = h;
    t.req = &req;
    t.resp = &resp;

    curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, opts_.user_agent.c_str());
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, opts_.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, opts_.low_speed_bytes);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, opts_.low_speed_secs);
    curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 2L * 1024 * 1024);
    if (req.follow_redirects) {
      curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
      // Explicit although it is the default: the Authorization header stays with the
      // original host (GHCR redirects blob GETs to presigned storage URLs).
      curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
    }

    // Always set (NULL included): libcurl's compiled-in defaults name Debian's paths, which the
    // release artifact's bundled libcurl would otherwise look for on every distribution.
    curl_easy_setopt(h, CURLOPT_CAINFO, ca.file.empty() ? nullptr : ca.file.c_str());
    curl_easy_setopt(h, CURLOPT_CAPATH, ca.dir.empty() ? nullptr : ca.dir.c_str());
    const bool verify = tls.verify && !req.tls_probe;
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    // An unverified connection must never carry a later request (libcurl would not match it
    // to a verified one anyway; this does not depend on that).
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, req.tls_probe ? 1L : 0L);

    CurlSlist headers;
    auto add_header = [&](const std::string& line) {
      curl_slist* n = curl_slist_append(headers.get(), line.c_str());
      if (n) {
        (void)headers.release();
        headers.reset(n);
      }
    };
    for (const auto& [k, v] : req.headers) add_header(k + ": " + v);
    // Registries answer uploads at once; waiting for 100-continue only adds a round trip.
    add_header("Expect:");

    if (req.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
      uint64_t size = req.body_fd >= 0 ? req.body_size : req.body.size();
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(size));
      curl_easy_setopt(h, CURLOPT_READFUNCTION, OnRead);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, OnSeek);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &t);
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnWrite);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    if (req.progress) {
      curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, OnProgress);
      curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    }
    char errbuf[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode rc = curl_easy_perform(h);
    // The handle goes back to the pool: nothing of this request may stay referenced by it.
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);

    const std::string what = req.method + " " + RedactUrl(req.url);
    if (t.sink_failed) return std::move(t.sink_error);
    if (rc != CURLE_OK) {
      if (t.body_too_large)
        return Error{what + ": response body larger than " +
                     std::to_string(req.max_collected_body) + " bytes"};
      if (t.read_errno)
        return Error{what + ": reading request body: " + std::strerror(t.read_errno), t.read_errno};
      long os_errno = 0;
      curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
      std::string detail = errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc);
      char* eff = nullptr;
      curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
      return DescribeFailure(what, eff ? eff : req.url, rc, os_errno, detail);
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    char* eff = nullptr;
    curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &eff);
    resp.effective_url = eff ? eff : req.url;
    return resp;
  }

  CurlTransportOptions opts_;
  CaStore default_ca_;
  std::vector<CaStore> host_ca_;  // parallel to opts_.host_tls
  std::mutex mu_;
  std::vector<CurlEasy> free_;
};

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  std::string n = ToLower(name);
  for (const auto& [k, v] : headers)
    if (k == n) return v;
  return "";
}

std::vector<std::string> HttpResponse::Headers(std::string_view name) const {
  std::string n = ToLower(name);
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (k == n) out.push_back(v);
  return out;
}

bool IsTransientTransportError(const Error& e) {
  switch (e.sys_errno) {
    case ECONNRESET:
    case ECONNREFUSED:
    case ECONNABORTED:
    case ETIMEDOUT:
    case EPIPE:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EAGAIN:
      return true;
    default:
      return false;
  }
}

bool IsConnectFailure(const Error& e) {
  switch (e.sys_errno) {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
      return true;
    default:
      return false;
  }
}

bool IsTlsVerificationError(const Error& e) {
  return e.sys_errno == EKEYREJECTED;
}

std::unique_ptr<HttpTransport> NewCurlTransport(CurlTransportOptions opts) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  return std::make_unique<CurlTransport>(std::move(opts));
}

std::string UrlHostPort(std::string_view url) {
  size_t s = url.find("://");
  std::string_view rest = s == std::string_view::npos ? url : url.substr(s + 3);
  size_t end = rest.find_first_of("/?#");
  return std::string(rest.substr(0, end));
}

std::string UrlHostAndPort(std::string_view url) {
  std::string hp = UrlHostPort(url);
  size_t close = hp.rfind(']');
  size_t colon = hp.rfind(':');
  if (colon != std::string::npos && (close == std::string::npos || colon > close)) return hp;
  return hp + (url.substr(0, 8) == "https://" ? ":443" : ":80");
}

std::string ResolveUrl(std::string_view base, std::string_view location) {
  CurlUrl u(curl_url());
  if (!u) return std::string(location);
  std::string b(base), loc(location);
  if (curl_url_set(u.get(), CURLUPART_URL, b.c_str(), 0) != CURLUE_OK) return loc;
  // Setting a relative URL on a handle holding an absolute one resolves it (RFC 3986).
  if (curl_url_set(u.get(), CURLUPART_URL, loc.c_str(), 0) != CURLUE_OK) return loc;
  char* out = nullptr;
  if (curl_url_get(u.get(), CURLUPART_URL, &out, 0) != CURLUE_OK || !out) return loc;
  std::string r(out);
  curl_free(out);
  return r;
}

std::string UrlEncode(std::string_view s) {
  char* e = curl_easy_escape(nullptr, s.data(), static_cast<int>(s.size()));
  if (!e) return std::string(s);
  std::string r(e);
  curl_free(e);
  return r;
}

}  // namespace ocibuild::registry
