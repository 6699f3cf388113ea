#include "builder/url_fetch.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include "registry/ca_store.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    auto hex = [](char c) {
      return c >= '0' && c <= '9'   ? c - '0'
             : c >= 'a' && c <= 'f' ? c - 'a' + 10
             : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                    : -1;
    };
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct Sink {
  int fd;
  Sha256 hash;
  bool failed = false;
};

size_t WriteCb(char* data, size_t size, size_t n, void* arg) {
  auto* s = static_cast<Sink*>(arg);
  size_t len = size * n;
  if (!WriteAll(s->fd, std::string_view(data, len), "download").ok()) {
    s->failed = true;
    return 0;
  }
  s->hash.Update(data, len);
  return len;
}

// The URL without credentials, for messages.
std::string Redacted(const std::string& url) {
  size_t scheme = url.find("://");
  size_t at = url.find('@', scheme == std::string::npos ? 0 : scheme + 3);
  size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (scheme == std::string::npos || at == std::string::npos ||
      (slash != std::string::npos && at > slash))
    return url;
  return url.substr(0, scheme + 3) + "***@" + url.substr(at + 1);
}

}  // namespace

bool IsRemoteSource(std::string_view src) {
  return StartsWith(src, "http://") || StartsWith(src, "https://");
}

Result<FetchedUrl> FetchUrl(const std::string& url, const std::string& checksum,
                            const std::string& dest_dir) {
  std::string shown = Redacted(url);
  if (!checksum.empty() && !StartsWith(checksum, "sha256:"))
    return Error{"ADD --checksum=" + checksum + ": only sha256:<hex> checksums are supported"};
  FetchedUrl out;
  std::string path_part = url.substr(url.find("://") + 3);
  size_t q = path_part.find_first_of("?#");
  if (q != std::string::npos) path_part = path_part.substr(0, q);
  size_t slash = path_part.find('/');
  path_part = slash == std::string::npos ? "" : path_part.substr(slash);
  // BuildKit names the download after Go's path.Base of the URL's unescaped path: trailing
  // slashes are dropped ("https://h/dir/" gives "dir"); nothing is left for "https://h/".
  while (!path_part.empty() && path_part.back() == '/') path_part.pop_back();
  out.file_name =
      path_part.empty() ? "" : PercentDecode(path_part.substr(path_part.rfind('/') + 1));
  out.path = JoinPath(dest_dir, "download-" + Sha256::HexOf(url).substr(0, 16));
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(out.path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  Sink sink{fd.get(), Sha256(), false};

  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> h(curl_easy_init(), curl_easy_cleanup);
  if (!h) return Error{"ADD " + shown + ": cannot initialise libcurl"};
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(h.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h.get(), CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(h.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.get(), CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h.get(), CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h.get(), CURLOPT_FILETIME, 1L);
  curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, WriteCb);
  curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h.get(), CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h.get(), CURLOPT_USERAGENT, "ocibuild/0.1");
  curl_easy_setopt(h.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(h.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  // The same trust store as the registry client: libcurl's compiled-in paths are Debian's, which
  // the release artifact's bundled libcurl would look for on every distribution.
  registry::CaStore ca = registry::FindCaStore("", registry::SystemCaProbe());
  if (ca.empty() && StartsWith(url, "https://")) {
    ::unlink(out.path.c_str());
    return Error{"ADD " + shown + ": " + registry::NoCaStoreMessage()};
  }
  curl_easy_setopt(h.get(), CURLOPT_CAINFO, ca.file.empty() ? nullptr : ca.file.c_str());
  curl_easy_setopt(h.get(), CURLOPT_CAPATH, ca.dir.empty() ? nullptr : ca.dir.c_str());
  CURLcode rc = curl_easy_perform(h.get());
  if (rc != CURLE_OK || sink.failed) {
    ::unlink(out.path.c_str());
    return Error{"ADD " + shown + ": download failed: " +
                 (errbuf[0] ? std::string(errbuf) : curl_easy_strerror(rc))};
  }
  long filetime = -1;
  curl_easy_getinfo(h.get(), CURLINFO_FILETIME, &filetime);
  if (filetime >= 0) out.last_modified = filetime;
  out.digest = "sha256:" + sink.hash.FinishHex();
  if (!checksum.empty() && checksum != out.digest) {
    ::unlink(out.path.c_str());
    return Error{"ADD " + shown + ": checksum mismatch: expected " + checksum + ", got " +
                 out.digest};
  }
  return out;
}

}  // namespace ocibuild::builder
