// RegistryClient, Pull and Push against an in-memory registry behind FakeTransport.
#include "registry/client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <mutex>
#include <regex>
#include <set>

#include "oci/manifest.h"
#include "oci/media_types.h"
#include "registry/blob_cache.h"
#include "registry/fake_transport.h"
#include "registry/puller.h"
#include "registry/pusher.h"
#include "util/fs.h"

namespace ocibuild::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Just enough of the distribution API for the client's flows; `hook` may answer first.
class FakeRegistry {
 public:
  std::map<std::string, std::map<std::string, std::string>> blobs;       // repo -> digest -> bytes
  std::map<std::string, std::pair<std::string, std::string>> manifests;  // "repo@ref" -> (mt, b)
  std::map<std::string, std::string> uploads;                            // id -> data
  std::function<std::optional<HttpResponse>(const HttpRequest&)> hook;
  std::string upload_host;    // absolute upload Locations on this host when set
  bool ignore_range = false;  // blob GETs answer 200 with the whole blob to a Range request
  int next_upload = 0;
  std::mutex mu;

  Result<HttpResponse> Handle(const HttpRequest& r) {
    std::lock_guard<std::mutex> lock(mu);  // blob workers call in parallel
    if (hook)
      if (auto resp = hook(r)) return *resp;
    std::smatch m;
    std::string url = r.url;
    static const std::regex kUrl(R"(^https?://[^/]+(/[^?]*)(?:\?(.*))?$)");
    if (!std::regex_match(url, m, kUrl)) return FakeTransport::Respond(400);
    std::string path = m[1], query = m[2];
    if (path == "/v2/") return FakeTransport::Respond(200, "{}");
    static const std::regex kBlob(R"(^/v2/(.+)/blobs/(sha256:[0-9a-f]{64})$)");
    static const std::regex kUploads(R"(^/v2/(.+)/blobs/uploads/$)");
    static const std::regex kUpload(R"(^/(?:v2/(.+)/blobs/uploads|upload)/(\w+)$)");
    static const std::regex kManifest(R"(^/v2/(.+)/manifests/([^/]+)$)");
    if (std::regex_match(path, m, kBlob)) {
      auto& repo = blobs[m[1]];
      auto it = repo.find(m[2]);
      if (it == repo.end())
        return FakeTransport::Respond(
            404, R"({"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]})");
      std::string range = FakeTransport::HeaderOf(r, "range");
      if (!range.empty() && !ignore_range && r.method == "GET") {
        size_t from = std::stoul(range.substr(6));  // "bytes=N-"
        const std::string& b = it->second;
        if (from >= b.size()) return FakeTransport::Respond(416);
        return FakeTransport::Respond(
            206, b.substr(from),
            {{"Content-Range", "bytes " + std::to_string(from) + "-" +
                                   std::to_string(b.size() - 1) + "/" + std::to_string(b.size())}});
      }
      return FakeTransport::Respond(200, r.method == "HEAD" ? "" : it->second,
                                    {{"Content-Length", std::to_string(it->second.size())}});
    }
    if (std::regex_match(path, m, kUploads) && r.method == "POST") {
      std::string repo = m[1];
      std::smatch q;
      static const std::regex kMount(R"(mount=([^&]+)&from=(.+))");
      if (std::regex_search(query, q, kMount)) {
        std::string d = Unescape(q[1]), from = Unescape(q[2]);
        if (blobs[from].count(d)) {
          blobs[repo][d] = blobs[from][d];
          return FakeTransport::Respond(201);
        }
      }
      std::string id = "u" + std::to_string(++next_upload);
      uploads[id] = "";
      std::string loc = upload_host.empty() ? "/v2/" + repo + "/blobs/uploads/" + id
                                            : "https://" + upload_host + "/upload/" + id;
      return FakeTransport::Respond(202, "", {{"Location", loc}});
    }
    if (std::regex_match(path, m, kUpload)) {
      std::string repo = m[1], id = m[2];
      if (!uploads.count(id))
        return FakeTransport::Respond(
            404,
            R"({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown to registry"}]})");
      if (r.method == "GET" || r.method == "HEAD") return UploadStatus(204, path, id);
      if (r.method == "PATCH") {
        // As distribution 3 does: a chunk must start where the upload ends.
        std::string cr = FakeTransport::HeaderOf(r, "content-range");
        if (!cr.empty() && std::stoul(cr) != uploads[id].size())
          return FakeTransport::Respond(
              416, R"({"errors":[{"code":"RANGE_INVALID","message":"invalid content range"}]})");
        uploads[id] += Body(r);
        return UploadStatus(202, path, id);
      }
      if (r.method == "PUT") {
        std::string d = Unescape(query.substr(query.find("digest=") + 7));
        if (repo.empty()) repo = "via-upload-host";
        if (oci::Digest::OfBytes(uploads[id]).str() != d)
          return FakeTransport::Respond(400,
                                        R"({"errors":[{"code":"DIGEST_INVALID","message":"x"}]})");
        blobs[repo][d] = uploads[id];
        uploads.erase(id);
        return FakeTransport::Respond(201);
      }
    }
    if (std::regex_match(path, m, kManifest)) {
      std::string key = std::string(m[1]) + "@" + std::string(m[2]);
      if (r.method == "PUT") {
        std::string ct = FakeTransport::HeaderOf(r, "content-type");
        manifests[key] = {ct, r.body};
        manifests[std::string(m[1]) + "@" + oci::Digest::OfBytes(r.body).str()] = {ct, r.body};
        return FakeTransport::Respond(
            201, "", {{"Docker-Content-Digest", oci::Digest::OfBytes(r.body).str()}});
      }
      auto it = manifests.find(key);
      if (it == manifests.end())
        return FakeTransport::Respond(
            404, R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
      return FakeTransport::Respond(
          200, r.method == "HEAD" ? "" : it->second.second,
          {{"Content-Type", it->second.first},
           {"Docker-Content-Digest", oci::Digest::OfBytes(it->second.second).str()},
           {"Content-Length", std::to_string(it->second.second.size())}});
    }
    return FakeTransport::Respond(404);
  }

  static std::string Unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
        i += 2;
      } else {
        out += s[i];
      }
    }
    return out;
  }
  static std::string ReadFd(int fd, uint64_t offset, uint64_t n) {
    std::string s(n, '\0');
    ssize_t got = ::pread(fd, s.data(), n, static_cast<off_t>(offset));
    s.resize(got < 0 ? 0 : static_cast<size_t>(got));
    return s;
  }
  static std::string Body(const HttpRequest& r) {
    return r.body_fd >= 0 ? ReadFd(r.body_fd, r.body_offset, r.body_size) : r.body;
  }
  HttpResponse UploadStatus(long status, const std::string& path, const std::string& id) {
    size_t n = uploads[id].size();
    return FakeTransport::Respond(
        status, "", {{"Location", path}, {"Range", "0-" + std::to_string(n ? n - 1 : 0)}});
  }
};

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::move(*TempDir::Create("ocibuild-client-"));
    store_ = std::move(*BlobCache::Open(JoinPath(dir_.path(), "store")));
    transport_ =
        std::make_shared<FakeTransport>([this](const HttpRequest& r) { return reg_.Handle(r); });
  }
  std::unique_ptr<RegistryClient> Client(const std::string& host = "reg.example") {
    RegistryOptions o;
    o.retry.attempts_without_progress = 3;
    o.retry.sleep = [](std::chrono::milliseconds) {};
    o.parallel_blobs = 1;  // deterministic request order
    o.upload_chunk_bytes = chunk_bytes_;
    return std::make_unique<RegistryClient>(host, transport_, std::nullopt, o);
  }
  oci::Descriptor Put(const std::string& mt, const std::string& bytes) {
    return *oci::PutBlob(*store_, mt, bytes);
  }
  // config + one layer + manifest in store_
  oci::Descriptor Image(const std::string& layer) {
    oci::Manifest m;
    m.config = Put(std::string(oci::media_type::kOciConfig), R"({"os":"linux"})");
    m.layers.push_back(Put(std::string(oci::media_type::kOciLayerGzip), layer));
    return Put(std::string(oci::media_type::kOciManifest), m.Serialize());
  }
  Reference Ref(const std::string& s) { return *ParseReference(s); }

  TempDir dir_ = std::move(*TempDir::Create("ocibuild-client-"));
  std::unique_ptr<BlobCache> store_;
  FakeRegistry reg_;
  std::shared_ptr<FakeTransport> transport_;
  uint64_t chunk_bytes_ = 4 << 20;
};

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7919) >> 3);
  return s;
}

int CountPrefix(const std::vector<std::string>& lines, const std::string& prefix) {
  return static_cast<int>(std::count_if(
      lines.begin(), lines.end(), [&](const std::string& l) { return l.rfind(prefix, 0) == 0; }));
}

TEST_F(ClientTest, PushUploadsBlobsThenManifestAndSkipsWhatExists) {
  oci::Descriptor root = Image("layer-bytes");
  auto client = Client();
  auto r = Push(*client, *store_, root, {Ref("reg.example/o/app:v1")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->blobs_uploaded, 2);
  auto lines = transport_->Lines();
  // ping, then per blob HEAD, POST, PATCH (relative Location resolved), PUT ?digest=, then the
  // manifest by tag last.
  ASSERT_EQ(lines.size(), 10u);
  EXPECT_EQ(lines[0], "GET https://reg.example/v2/");
  EXPECT_THAT(lines[1], HasSubstr("HEAD https://reg.example/v2/o/app/blobs/sha256:"));
  EXPECT_EQ(lines[2], "POST https://reg.example/v2/o/app/blobs/uploads/");
  EXPECT_EQ(lines[3], "PATCH https://reg.example/v2/o/app/blobs/uploads/u1");
  EXPECT_THAT(lines[4],
              HasSubstr("PUT https://reg.example/v2/o/app/blobs/uploads/u1?digest=sha256%3A"));
  EXPECT_EQ(lines[9], "PUT https://reg.example/v2/o/app/manifests/v1");
  auto reqs = transport_->requests();
  EXPECT_EQ(FakeTransport::HeaderOf(reqs[9], "content-type"), oci::media_type::kOciManifest);
  EXPECT_EQ(reg_.manifests["o/app@v1"].second, *oci::ReadBlob(*store_, root.digest));

  auto again = Push(*client, *store_, root, {Ref("reg.example/o/app:v1")});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->blobs_existed, 2);
  EXPECT_EQ(again->blobs_uploaded, 0);
}

TEST_F(ClientTest, MountFromAnotherRepositoryAndFallbackWhenRefused) {
  oci::Descriptor root = Image("shared-layer");
  auto client = Client();
  ASSERT_TRUE(Push(*client, *store_, root, {Ref("reg.example/base/img:1")}).ok());
  PushOptions po;
  oci::Manifest m = *oci::Manifest::Parse(*oci::ReadBlob(*store_, root.digest));
  po.blob_sources[m.layers[0].digest.str()] = Ref("reg.example/base/img:1");
  auto r = Push(*client, *store_, root, {Ref("reg.example/app/img:1")}, po);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->blobs_mounted, 1);
  EXPECT_EQ(r->blobs_uploaded, 1);  // the config had no known source

  // A registry that refuses mounts (as Docker Hub does) still gets the blob uploaded.
  reg_.hook = [](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "POST" && req.url.find("mount=") != std::string::npos)
      return FakeTransport::Respond(405, R"({"errors":[{"code":"UNSUPPORTED","message":"no"}]})");
    return std::nullopt;
  };
  auto r2 = Push(*client, *store_, root, {Ref("reg.example/third/img:1")}, po);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->blobs_mounted, 0);
  EXPECT_EQ(r2->blobs_uploaded, 2);
}

TEST_F(ClientTest, ForgottenUploadStartsOverWithNewUploadUrl) {
  oci::Descriptor root = Image("L");
  int failures = 0;
  reg_.hook = [&](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "PUT" && req.url.find("?digest=") != std::string::npos && failures++ == 0)
      return FakeTransport::Respond(
          404, R"({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN","message":"blob upload unknown"}]})");
    return std::nullopt;
  };
  auto client = Client();
  auto r = Push(*client, *store_, root, {Ref("reg.example/o/a:1")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  auto lines = transport_->Lines();
  EXPECT_EQ(std::count_if(lines.begin(), lines.end(),
                          [](const std::string& l) { return l.rfind("POST", 0) == 0; }),
            3);  // two blobs, one restarted
  EXPECT_THAT(lines,
              ::testing::Contains(HasSubstr("PATCH https://reg.example/v2/o/a/blobs/uploads/u2")));
}

TEST_F(ClientTest, FailedBlobMeansNoManifestPut) {
  oci::Descriptor root = Image("L");
  reg_.hook = [](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "PATCH") return FakeTransport::Respond(503);
    return std::nullopt;
  };
  auto r = Push(*Client(), *store_, root, {Ref("reg.example/o/a:1")});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("pushing " + root.digest.str() +
                                           " to reg.example/o/a: pushing blob sha256:"));
  EXPECT_THAT(r.error().message, HasSubstr(": PATCH: HTTP 503 (gave up after 3 attempts)"));
  for (const auto& l : transport_->Lines())
    EXPECT_THAT(l, ::testing::Not(HasSubstr("/manifests/")));
}

TEST_F(ClientTest, NoAuthorizationToUploadLocationOnAnotherHost) {
  reg_.upload_host = "storage.example";
  int tokens = 0;
  reg_.hook = [&](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.url.rfind("https://auth.example/", 0) == 0)
      return FakeTransport::Respond(200, R"({"token":"T)" + std::to_string(++tokens) + "\"}");
    if (req.url.rfind("https://reg.example/", 0) == 0 &&
        FakeTransport::HeaderOf(req, "authorization").empty())
      return FakeTransport::Respond(
          401, "",
          {{"WWW-Authenticate", R"(Bearer realm="https://auth.example/token",service="reg")"}});
    return std::nullopt;
  };
  oci::Descriptor root = Image("L");
  auto r = Push(*Client(), *store_, root, {Ref("reg.example/o/a:1")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  bool saw_storage = false;
  for (const auto& req : transport_->requests()) {
    if (req.url.rfind("https://storage.example/", 0) == 0) {
      saw_storage = true;
      EXPECT_EQ(FakeTransport::HeaderOf(req, "authorization"), "") << req.url;
    } else if (req.url.rfind("https://reg.example/v2/o/", 0) == 0) {
      EXPECT_EQ(FakeTransport::HeaderOf(req, "authorization"), "Bearer T1") << req.url;
    }
  }
  EXPECT_TRUE(saw_storage);
  EXPECT_EQ(tokens, 1);  // one token for the scope, reused by every request
}

TEST_F(ClientTest, TokenServerErrorsAreRetried) {
  int token_calls = 0;
  reg_.hook = [&](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.url.rfind("https://auth.example/", 0) == 0)
      return ++token_calls == 1 ? FakeTransport::Respond(503)
                                : FakeTransport::Respond(200, R"({"token":"T"})");
    if (FakeTransport::HeaderOf(req, "authorization").empty())
      return FakeTransport::Respond(
          401, "", {{"WWW-Authenticate", R"(Bearer realm="https://auth.example/token")"}});
    return std::nullopt;
  };
  auto r = Client()->HeadBlob("o/a", oci::Digest::OfBytes("x"));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->has_value());
  EXPECT_EQ(token_calls, 2);
}

TEST_F(ClientTest, ManifestDigestIsChecked) {
  reg_.hook = [](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.url.find("/manifests/") != std::string::npos)
      return FakeTransport::Respond(200, R"({"schemaVersion":2})",
                                    {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"},
                                     {"Docker-Content-Digest", "sha256:" + std::string(64, 'a')}});
    return std::nullopt;
  };
  auto r = Client()->GetManifest("o/a", "v1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "fetching manifest reg.example/o/a:v1: registry sent Docker-Content-Digest sha256:" +
                std::string(64, 'a') + " but the manifest's digest is " +
                oci::Digest::OfBytes(R"({"schemaVersion":2})").str());
  auto accept = FakeTransport::HeaderOf(transport_->requests().back(), "accept");
  EXPECT_THAT(accept, HasSubstr("application/vnd.oci.image.index.v1+json"));
  EXPECT_THAT(accept, HasSubstr("application/vnd.oci.image.manifest.v1+json"));
  EXPECT_THAT(accept, HasSubstr("application/vnd.docker.distribution.manifest.list.v2+json"));
  EXPECT_THAT(accept, HasSubstr("application/vnd.docker.distribution.manifest.v2+json"));
}

TEST_F(ClientTest, OversizedBlobIsRejectedAndNotStored) {
  oci::Descriptor root = Image("12345");
  ASSERT_TRUE(Push(*Client(), *store_, root, {Ref("reg.example/o/a:1")}).ok());
  oci::Manifest m = *oci::Manifest::Parse(*oci::ReadBlob(*store_, root.digest));
  std::string layer = m.layers[0].digest.str();
  reg_.blobs["o/a"][layer] += "extra";
  auto cache = *BlobCache::Open(JoinPath(dir_.path(), "cache"));
  auto r = Pull(*Client(), *cache, Ref("reg.example/o/a:1"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "pulling reg.example/o/a:1: fetching blob " + layer +
                                   " from reg.example/o/a: registry sent more than the expected "
                                   "5 bytes");
  EXPECT_FALSE(*cache->Has(m.layers[0].digest));
}

TEST_F(ClientTest, PingFallsBackToPlainHttpOnlyForLoopbackHosts) {
  reg_.hook = [](const HttpRequest& req) -> std::optional<HttpResponse> {
    (void)req;
    return std::nullopt;
  };
  auto tls_fails =
      std::make_shared<FakeTransport>([this](const HttpRequest& r) -> Result<HttpResponse> {
        if (r.url.rfind("https://", 0) == 0)
          return Error{"GET " + r.url + ": OpenSSL SSL_connect: wrong version number"};
        return reg_.Handle(r);
      });
  RegistryOptions o;
  o.retry.attempts_without_progress = 2;
  o.retry.sleep = [](std::chrono::milliseconds) {};
  RegistryClient local("localhost:5000", tls_fails, std::nullopt, o);
  ASSERT_TRUE(local.HeadBlob("o/a", oci::Digest::OfBytes("x")).ok());
  EXPECT_EQ(tls_fails->Lines().back(),
            "HEAD http://localhost:5000/v2/o/a/blobs/" + oci::Digest::OfBytes("x").str());
  // Whether TLS is spoken was asked without verification (no trust store parsed), once.
  auto sent = tls_fails->requests();
  ASSERT_GE(sent.size(), 2u);
  EXPECT_EQ(sent[0].url, "https://localhost:5000/v2/");
  EXPECT_TRUE(sent[0].tls_probe);
  for (size_t i = 1; i < sent.size(); ++i) {
    EXPECT_FALSE(sent[i].tls_probe) << sent[i].url;
    EXPECT_EQ(sent[i].url.rfind("http://", 0), 0u) << sent[i].url;
  }
  RegistryClient remote("reg.example", tls_fails, std::nullopt, o);
  auto r = remote.HeadBlob("o/a", oci::Digest::OfBytes("x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "GET https://reg.example/v2/: OpenSSL SSL_connect: wrong version number");
  o.insecure_registries = {"reg.example"};
  RegistryClient insecure("reg.example", tls_fails, std::nullopt, o);
  EXPECT_TRUE(insecure.HeadBlob("o/a", oci::Digest::OfBytes("x")).ok());
}

// A loopback registry that speaks TLS: the unverified probe only says so. Its answer is never
// used: the ping is made again with verification, whose challenge counts, and every request
// after it is verified.
TEST_F(ClientTest, ALoopbackRegistrySpeakingTlsIsPingedAgainVerified) {
  auto tls = std::make_shared<FakeTransport>([this](const HttpRequest& r) -> Result<HttpResponse> {
    if (r.url.rfind("http://", 0) == 0) return Error{"GET " + r.url + ": plain HTTP refused"};
    if (r.tls_probe)  // a forged challenge: nothing may come of it
      return FakeTransport::Respond(
          401, "", {{"WWW-Authenticate", R"(Bearer realm="https://evil.example/token")"}});
    return reg_.Handle(r);
  });
  RegistryOptions o;
  o.retry.sleep = [](std::chrono::milliseconds) {};
  RegistryClient local("127.0.0.1:5000", tls, std::nullopt, o);
  ASSERT_TRUE(local.HeadBlob("o/a", oci::Digest::OfBytes("x")).ok());
  auto sent = tls->requests();
  ASSERT_GE(sent.size(), 3u);
  EXPECT_TRUE(sent[0].tls_probe);
  EXPECT_EQ(sent[0].url, "https://127.0.0.1:5000/v2/");
  EXPECT_FALSE(sent[1].tls_probe);
  EXPECT_EQ(sent[1].url, "https://127.0.0.1:5000/v2/");
  for (size_t i = 1; i < sent.size(); ++i) {
    EXPECT_FALSE(sent[i].tls_probe) << sent[i].url;
    EXPECT_EQ(sent[i].url.rfind("https://127.0.0.1:5000/", 0), 0u) << sent[i].url;
  }
  // A certificate the verified ping rejects is an error, never a reason for plain HTTP.
  auto untrusted =
      std::make_shared<FakeTransport>([this](const HttpRequest& r) -> Result<HttpResponse> {
        if (r.url.rfind("https://", 0) == 0 && !r.tls_probe)
          return Error{
              "GET " + r.url +
                  ": SSL peer certificate or SSH remote key was not OK: unable to get local "
                  "issuer certificate",
              EKEYREJECTED};
        return reg_.Handle(r);
      });
  RegistryClient bad("127.0.0.1:5000", untrusted, std::nullopt, o);
  auto r = bad.HeadBlob("o/a", oci::Digest::OfBytes("x"));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("certificate"));
  for (const auto& l : untrusted->Lines()) EXPECT_EQ(l.find("http://"), std::string::npos) << l;
}

// Breaks blob downloads off after `cut` bytes of each answer, and answers blob upload PATCHes
// by storing only the first half of the body before breaking the connection (`cut_patches`
// times), as a proxy cutting connections does.
class CuttingTransport : public HttpTransport {
 public:
  CuttingTransport(FakeRegistry& reg, size_t cut) : reg_(reg), cut_(cut) {}
  Result<HttpResponse> Do(const HttpRequest& req) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(req.method + " " + req.url + " " + FakeTransport::HeaderOf(req, "range") +
                       FakeTransport::HeaderOf(req, "content-range"));
    }
    if (req.method == "PATCH" && cut_patches > 0) {
      --cut_patches;
      HttpRequest half = req;
      half.body_size = req.body_size / 2;
      (void)reg_.Handle(half);
      return Error{"PATCH " + req.url + ": Send failure: Broken pipe", EPIPE};
    }
    auto r = reg_.Handle(req);
    if (!r.ok()) return r;
    if (req.method == "GET" && req.url.find("/blobs/sha256:") != std::string::npos &&
        r->status / 100 == 2 && r->body.size() > cut_) {
      if (before_any_byte > 0) {
        --before_any_byte;
        return Error{"GET " + req.url + ": Recv failure: Connection reset by peer", ECONNRESET};
      }
      return FakeTransport::CutAfter(req, *r, cut_);
    }
    return FakeTransport::Deliver(req, std::move(*r));
  }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  int cut_patches = 0;
  int before_any_byte = 0;

 private:
  FakeRegistry& reg_;
  size_t cut_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

class ResumeTest : public ClientTest {
 protected:
  std::unique_ptr<RegistryClient> CuttingClient(size_t cut) {
    cutting_ = std::make_shared<CuttingTransport>(reg_, cut);
    RegistryOptions o;
    o.retry.attempts_without_progress = 3;
    o.retry.sleep = [](std::chrono::milliseconds) {};
    o.parallel_blobs = 1;
    o.upload_chunk_bytes = 100000;
    return std::make_unique<RegistryClient>("reg.example", cutting_, std::nullopt, o);
  }
  std::shared_ptr<CuttingTransport> cutting_;
};

TEST_F(ResumeTest, CutDownloadContinuesWithRangeAndIsVerifiedEndToEnd) {
  const std::string layer = Pattern(1000000);
  oci::Descriptor root = Image(layer);
  ASSERT_TRUE(Push(*Client(), *store_, root, {Ref("reg.example/o/a:1")}).ok());
  oci::Manifest m = *oci::Manifest::Parse(*oci::ReadBlob(*store_, root.digest));
  auto client = CuttingClient(300000);
  auto cache = *BlobCache::Open(JoinPath(dir_.path(), "cache"));
  std::vector<uint64_t> seen;
  // Four attempts, each further than the last: a budget of three without progress suffices.
  Status st = client->FetchBlob("o/a", m.layers[0], *cache,
                                [&](uint64_t done, uint64_t) { seen.push_back(done); });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(*oci::ReadBlob(*cache, m.layers[0].digest, 1 << 20), layer);
  std::vector<std::string> gets;
  for (const auto& l : cutting_->lines())
    if (l.find("/blobs/" + m.layers[0].digest.str()) != std::string::npos) gets.push_back(l);
  ASSERT_EQ(gets.size(), 4u);
  EXPECT_THAT(gets[0], ::testing::EndsWith(" "));
  EXPECT_THAT(gets[1], ::testing::EndsWith(" bytes=300000-"));
  EXPECT_THAT(gets[2], ::testing::EndsWith(" bytes=600000-"));
  EXPECT_THAT(gets[3], ::testing::EndsWith(" bytes=900000-"));
  EXPECT_TRUE(std::filesystem::is_empty(JoinPath(dir_.path(), "cache/tmp")));
}

TEST_F(ResumeTest, ServerIgnoringRangeSendsTheWholeBlobAgain) {
  const std::string layer = Pattern(500000);
  oci::Descriptor root = Image(layer);
  ASSERT_TRUE(Push(*Client(), *store_, root, {Ref("reg.example/o/a:1")}).ok());
  oci::Manifest m = *oci::Manifest::Parse(*oci::ReadBlob(*store_, root.digest));
  auto client = CuttingClient(300000);
  reg_.ignore_range = true;
  auto cache = *BlobCache::Open(JoinPath(dir_.path(), "cache"));
  // Every answer is the whole blob from byte 0, cut at 300 kB: no attempt gets further.
  Status st = client->FetchBlob("o/a", m.layers[0], *cache);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message,
              HasSubstr("Connection reset by peer (gave up after 4 attempts, the last 3 "
                        "without progress)"));
  EXPECT_FALSE(*cache->Has(m.layers[0].digest));
  // Uncut, a 200 to a Range request starts the blob over and it is stored intact.
  auto whole = CuttingClient(1 << 30);
  ASSERT_TRUE(whole->FetchBlob("o/a", m.layers[0], *cache).ok());
  EXPECT_EQ(*oci::ReadBlob(*cache, m.layers[0].digest, 1 << 20), layer);
}

TEST_F(ResumeTest, BudgetCountsOnlyAttemptsWithoutProgress) {
  const std::string layer = Pattern(200000);
  oci::Descriptor root = Image(layer);
  ASSERT_TRUE(Push(*Client(), *store_, root, {Ref("reg.example/o/a:1")}).ok());
  oci::Manifest m = *oci::Manifest::Parse(*oci::ReadBlob(*store_, root.digest));
  auto client = CuttingClient(50000);
  cutting_->before_any_byte = 3;  // three resets before a byte arrives: the budget is spent
  auto cache = *BlobCache::Open(JoinPath(dir_.path(), "cache"));
  Status st = client->FetchBlob("o/a", m.layers[0], *cache);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.error().message, HasSubstr("(gave up after 3 attempts)"));
  cutting_->before_any_byte = 2;  // two, then progress in 50 kB steps: it completes
  ASSERT_TRUE(client->FetchBlob("o/a", m.layers[0], *cache).ok());
  EXPECT_EQ(*oci::ReadBlob(*cache, m.layers[0].digest, 1 << 20), layer);
}

TEST_F(ResumeTest, CutUploadContinuesFromTheOffsetTheRegistryReports) {
  const std::string layer = Pattern(450000);
  oci::Descriptor root = Image(layer);
  oci::Manifest m = *oci::Manifest::Parse(*oci::ReadBlob(*store_, root.digest));
  auto client = CuttingClient(1 << 30);
  cutting_->cut_patches = 1;  // the first PATCH stores half of its body, then breaks
  auto r = client->UploadBlob("o/a", m.layers[0], *store_, "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, UploadOutcome::kUploaded);
  EXPECT_EQ(reg_.blobs["o/a"][m.layers[0].digest.str()], layer);
  auto lines = cutting_->lines();
  EXPECT_EQ(CountPrefix(lines, "POST "), 1);  // one upload, resumed
  // GET of the upload URL says 225000 bytes arrived; the rest follows in 100 kB chunks.
  EXPECT_THAT(lines, ::testing::Contains("GET https://reg.example/v2/o/a/blobs/uploads/u1 "));
  EXPECT_THAT(lines, ::testing::Contains(
                         "PATCH https://reg.example/v2/o/a/blobs/uploads/u1 225000-324999"));
  EXPECT_THAT(lines, ::testing::Contains(
                         "PATCH https://reg.example/v2/o/a/blobs/uploads/u1 425000-449999"));
  EXPECT_EQ(CountPrefix(lines, "PATCH "), 4);
}

TEST_F(ResumeTest, UploadStartsOverOnlyWhereTheRegistryCannotSay) {
  const std::string layer = Pattern(300000);
  oci::Descriptor root = Image(layer);
  oci::Manifest m = *oci::Manifest::Parse(*oci::ReadBlob(*store_, root.digest));
  auto client = CuttingClient(1 << 30);
  cutting_->cut_patches = 1;
  // docker-registry 2.x: the upload's state token no longer matches what it holds, so it
  // cancels the upload and answers BLOB_UPLOAD_INVALID.
  reg_.hook = [&](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "GET" && req.url.find("/blobs/uploads/") != std::string::npos) {
      reg_.uploads.clear();
      return FakeTransport::Respond(
          400, R"({"errors":[{"code":"BLOB_UPLOAD_INVALID","message":"blob upload invalid"}]})");
    }
    return std::nullopt;
  };
  auto r = client->UploadBlob("o/a", m.layers[0], *store_, "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(reg_.blobs["o/a"][m.layers[0].digest.str()], layer);
  auto lines = cutting_->lines();
  EXPECT_EQ(CountPrefix(lines, "POST "), 2);
  // The new upload is one streaming PATCH again, without Content-Range.
  EXPECT_EQ(lines.back().substr(0, 4), "PUT ");
  EXPECT_THAT(lines, ::testing::Contains("PATCH https://reg.example/v2/o/a/blobs/uploads/u2 "));
}

TEST_F(ResumeTest, ResumedUploadLosingChunksStartsOver) {
  const std::string layer = Pattern(300000);
  oci::Descriptor root = Image(layer);
  oci::Manifest m = *oci::Manifest::Parse(*oci::ReadBlob(*store_, root.digest));
  auto client = CuttingClient(1 << 30);
  cutting_->cut_patches = 2;  // the streaming PATCH, then the first chunk
  int gets = 0;
  // The second status answer reports less than the chunks the registry confirmed.
  reg_.hook = [&](const HttpRequest& req) -> std::optional<HttpResponse> {
    if (req.method == "GET" && req.url.find("/blobs/uploads/") != std::string::npos && ++gets == 2)
      return FakeTransport::Respond(204, "", {{"Range", "0-0"}});
    return std::nullopt;
  };
  auto r = client->UploadBlob("o/a", m.layers[0], *store_, "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(reg_.blobs["o/a"][m.layers[0].digest.str()], layer);
  EXPECT_EQ(CountPrefix(cutting_->lines(), "POST "), 2);
}

TEST(BlobCacheTest, DefaultRootFollowsXdg) {
  EXPECT_EQ(DefaultCacheRoot({{"XDG_CACHE_HOME", "/c"}, {"HOME", "/h"}}), "/c/ocibuild");
  EXPECT_EQ(DefaultCacheRoot({{"HOME", "/h"}}), "/h/.cache/ocibuild");
  EXPECT_EQ(DefaultCacheRoot({}), "");
}

TEST(BlobCacheTest, WriterVerifiesAndPublishesAtomically) {
  auto dir = *TempDir::Create("ocibuild-cache-");
  auto cache = *BlobCache::Open(dir.path());
  auto d = oci::Digest::OfBytes("hello");
  {
    auto w = *cache->NewWriter();
    ASSERT_TRUE(w->Write("hellO").ok());
    auto c = w->Commit(d, 5);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().message,
              "blob " + d.str() + ": content has digest " + oci::Digest::OfBytes("hellO").str());
  }
  EXPECT_FALSE(*cache->Has(d));
  EXPECT_TRUE(std::filesystem::is_empty(JoinPath(dir.path(), "tmp")));
  {
    auto w = *cache->NewWriter();
    ASSERT_TRUE(w->Write("hel").ok());
    ASSERT_TRUE(w->Write("lo").ok());
    EXPECT_FALSE(*cache->Has(d));  // nothing visible before Commit
    ASSERT_TRUE(w->Commit(d, 5).ok());
  }
  EXPECT_EQ(*oci::ReadBlob(*cache, d), "hello");
  EXPECT_EQ(*cache->Size(d), 5);
}

TEST(BlobCacheTest, DigestLockExcludesOtherHolders) {
  auto dir = *TempDir::Create("ocibuild-cache-");
  auto cache = *BlobCache::Open(dir.path());
  auto d = oci::Digest::OfBytes("x");
  std::atomic<int> inside{0}, max_inside{0};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i)
    ts.emplace_back([&] {
      auto lock = cache->LockDigest(d);  // separate open file descriptions: flock excludes
      ASSERT_TRUE(lock.ok());
      int now = ++inside;
      max_inside = std::max(max_inside.load(), now);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      --inside;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(max_inside.load(), 1);
}

}  // namespace
}  // namespace ocibuild::registry
