// Push, pull, mount and re-push against Debian's docker-registry on 127.0.0.1 in three auth
// modes, every pushed image read back with skopeo; faults injected by fault_proxy.py.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "oci/content_store.h"
#include "oci/index.h"
#include "oci/manifest.h"
#include "registry/blob_cache.h"
#include "registry/client.h"
#include "registry/puller.h"
#include "registry/pusher.h"
#include "registry/reference.h"
#include "tests/registry/registry_fixture.h"

namespace ocibuild::oci {
void PrintTo(const Digest& d, std::ostream* os) {
  *os << d.str();
}
}  // namespace ocibuild::oci

namespace ocibuild::registry {
namespace {

using nlohmann::json;
using testing::AuthMode;
using testing::FaultProxy;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::TestRegistry;

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    auto ocib_st_ = (expr);                                 \
    ASSERT_TRUE(ocib_st_.ok()) << ocib_st_.error().message; \
  } while (0)

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    ADD_FAILURE() << what << ": " << r.error().message;
    throw std::runtime_error(r.error().message);
  }
  return std::move(r).value();
}
#define MUST(expr) Must((expr), #expr)

Reference Ref(const std::string& s) {
  return MUST(ParseReference(s));
}

std::string Blob(const oci::ContentStore& s, const oci::Digest& d) {
  return MUST(oci::ReadBlob(s, d, 1 << 30));
}

// Every blob and manifest under `root` in `a` is byte-identical in `b`.
void ExpectSameImage(const oci::ContentStore& a, const oci::ContentStore& b,
                     const oci::Descriptor& root) {
  std::string rb = Blob(a, root.digest);
  EXPECT_EQ(rb, Blob(b, root.digest));
  std::vector<oci::Descriptor> manifests;
  if (oci::IsIndexType(root.media_type)) {
    for (const auto& m : MUST(oci::Index::Parse(rb)).manifests) manifests.push_back(m);
  } else {
    manifests.push_back(root);
  }
  for (const auto& md : manifests) {
    auto has = b.Has(md.digest);
    if (!has.ok() || !*has) continue;  // a platform pull holds only its own manifest
    oci::Manifest m = MUST(oci::Manifest::Parse(Blob(a, md.digest)));
    EXPECT_EQ(Blob(a, m.config.digest), Blob(b, m.config.digest));
    for (const auto& l : m.layers)
      EXPECT_EQ(Blob(a, l.digest), Blob(b, l.digest)) << l.digest.str();
  }
}

class RegistryTest : public ::testing::TestWithParam<AuthMode> {
 protected:
  void SetUp() override {
    std::string missing =
        testing::MissingTools({"docker-registry", "skopeo", "htpasswd", "openssl", "python3"});
    if (!missing.empty()) GTEST_SKIP() << missing;
    reg_ = MUST(TestRegistry::Start(GetParam()));
    work_ = MUST(TempDir::Create("ocibuild-regtest-"));
    src_ = std::make_unique<oci::DirContentStore>(MUST(oci::DirContentStore::Open(Path("src"))));
  }
  std::string Path(const std::string& p) { return JoinPath(work_.path(), p); }
  std::unique_ptr<RegistryClient> Client(const std::string& host, RegistryOptions o) {
    return MUST(RegistryClient::Create(host, o, reg_->ClientEnv(host)));
  }
  std::unique_ptr<RegistryClient> Client(const std::string& host) {
    return Client(host, reg_->ClientOptions());
  }
  std::unique_ptr<RegistryClient> Client() { return Client(reg_->host()); }
  std::string Name(const std::string& repo_tag) { return reg_->host() + "/" + repo_tag; }

  // skopeo reads the image back: its manifest bytes are ours, and a copy into an OCI layout
  // holds byte-identical blobs.
  void ValidateWithSkopeo(const std::string& name, const oci::Descriptor& root) {
    std::vector<std::string> args = {"inspect", "--raw"};
    auto f = reg_->SkopeoFlags("");
    args.insert(args.end(), f.begin(), f.end());
    args.push_back("docker://" + name);
    EXPECT_EQ(MUST(testing::RunSkopeo(args)), Blob(*src_, root.digest));
    std::string layout = Path("skopeo-" + std::to_string(++copies_));
    args = {"copy", "--all", "--preserve-digests"};
    f = reg_->SkopeoFlags("src");
    args.insert(args.end(), f.begin(), f.end());
    args.push_back("docker://" + name);
    args.push_back("oci:" + layout + ":t");
    MUST(testing::RunSkopeo(args));
    auto copied = MUST(oci::DirContentStore::Open(layout));
    ExpectSameImage(*src_, copied, root);
  }

  std::unique_ptr<TestRegistry> reg_;
  TempDir work_ = MUST(TempDir::Create("ocibuild-regtest-"));
  std::unique_ptr<oci::DirContentStore> src_;
  int copies_ = 0;
};

TEST_P(RegistryTest, PushReadBackRepushMountAndPull) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {1500000, 300000, 10}, 1));
  auto client = Client();

  PushResult first =
      MUST(Push(*client, *src_, root, {Ref(Name("test/app:v1")), Ref(Name("test/app:latest"))}));
  EXPECT_EQ(first.blobs_uploaded, 4);
  EXPECT_EQ(first.blobs_existed, 0);
  EXPECT_EQ(first.bytes_uploaded,
            1500000u + 300000u + 10u +
                static_cast<uint64_t>(MUST(src_->Size(
                    MUST(oci::Manifest::Parse(Blob(*src_, root.digest))).config.digest))));
  ValidateWithSkopeo(Name("test/app:v1"), root);
  ValidateWithSkopeo(Name("test/app:latest"), root);

  PushResult again = MUST(Push(*client, *src_, root, {Ref(Name("test/app:v1"))}));
  EXPECT_EQ(again.blobs_existed, 4);
  EXPECT_EQ(again.blobs_uploaded, 0);
  EXPECT_EQ(again.bytes_uploaded, 0u);

  PushOptions po;
  for (const auto& d : {root.digest}) (void)d;
  oci::Manifest m = MUST(oci::Manifest::Parse(Blob(*src_, root.digest)));
  po.blob_sources[m.config.digest.str()] = Ref(Name("test/app:v1"));
  for (const auto& l : m.layers) po.blob_sources[l.digest.str()] = Ref(Name("test/app:v1"));
  PushResult mounted = MUST(Push(*client, *src_, root, {Ref(Name("other/app:v1"))}, po));
  EXPECT_EQ(mounted.blobs_mounted, 4);
  EXPECT_EQ(mounted.blobs_uploaded, 0);
  ValidateWithSkopeo(Name("other/app:v1"), root);

  auto cache = MUST(BlobCache::Open(Path("cache")));
  PullResult pulled = MUST(Pull(*client, *cache, Ref(Name("other/app:v1"))));
  EXPECT_EQ(pulled.root.digest, root.digest);
  EXPECT_EQ(pulled.manifest.digest, root.digest);
  EXPECT_EQ(pulled.blobs_fetched, 4);
  ExpectSameImage(*src_, *cache, root);

  // A second build pulls nothing: only the tag is resolved.
  PullResult second = MUST(Pull(*client, *cache, Ref(Name("other/app:v1"))));
  EXPECT_EQ(second.blobs_fetched, 0);
  EXPECT_EQ(second.blobs_cached, 4);
  EXPECT_EQ(second.bytes_fetched, 0u);
}

TEST_P(RegistryTest, PullsImagePushedBySkopeo) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {700000, 5000}, 2));
  ASSERT_OK(testing::WriteOciLayoutIndex(Path("src"), root, "t"));
  std::vector<std::string> args = {"copy"};
  auto f = reg_->SkopeoFlags("dest");
  args.insert(args.end(), f.begin(), f.end());
  args.push_back("--preserve-digests");
  args.push_back("oci:" + Path("src") + ":t");
  args.push_back("docker://" + Name("skopeo/img:t"));
  MUST(testing::RunSkopeo(args));

  auto client = Client();
  auto cache = MUST(BlobCache::Open(Path("cache")));
  PullResult pulled = MUST(Pull(*client, *cache, Ref(Name("skopeo/img:t"))));
  EXPECT_EQ(pulled.root.digest, root.digest);
  EXPECT_EQ(pulled.blobs_fetched, 3);
  ExpectSameImage(*src_, *cache, root);
}

TEST_P(RegistryTest, IndexChildrenPushedFirstAndPlatformChosenOnPull) {
  oci::Platform amd64 = MUST(oci::Platform::Parse("linux/amd64"));
  oci::Platform arm64 = MUST(oci::Platform::Parse("linux/arm64"));
  oci::Descriptor root = MUST(testing::MakeTestIndex(*src_, {amd64, arm64}, {40000, 2000}, 3));
  auto client = Client();
  PushResult r = MUST(Push(*client, *src_, root, {Ref(Name("multi/img:1"))}));
  EXPECT_EQ(r.blobs_uploaded, 6);
  ValidateWithSkopeo(Name("multi/img:1"), root);

  oci::Index idx = MUST(oci::Index::Parse(Blob(*src_, root.digest)));
  auto cache = MUST(BlobCache::Open(Path("cache")));
  PullOptions po;
  po.platform = arm64;
  PullResult pulled = MUST(Pull(*client, *cache, Ref(Name("multi/img:1")), po));
  EXPECT_EQ(pulled.root.digest, root.digest);
  EXPECT_EQ(pulled.manifest.digest, idx.manifests[1].digest);
  EXPECT_EQ(pulled.blobs_fetched, 3);
  ExpectSameImage(*src_, *cache, root);

  // By digest, with everything cached: no request at all (the registry could be gone).
  Reference by_digest = Ref(Name("multi/img@" + root.digest.str()));
  reg_->Kill();
  PullResult offline = MUST(Pull(*client, *cache, by_digest, po));
  EXPECT_EQ(offline.manifest.digest, idx.manifests[1].digest);
  EXPECT_EQ(offline.blobs_fetched, 0);
}

// Pushed as-is, then through the fault proxy; pulls likewise. Faults the client must ride out.
class FaultTest : public RegistryTest {
 protected:
  void SetUp() override {
    RegistryTest::SetUp();
    if (IsSkipped()) return;
    proxy_ = MUST(FaultProxy::Start(reg_->host()));
  }
  std::string ProxyName(const std::string& repo_tag) { return proxy_->host() + "/" + repo_tag; }
  std::unique_ptr<RegistryClient> ProxyClient() { return Client(proxy_->host()); }
  int CountAction(const json& log, const std::string& action) {
    int n = 0;
    for (const auto& e : log) n += e["action"] == action;
    return n;
  }
  std::unique_ptr<FaultProxy> proxy_;
};

TEST_P(FaultTest, ConnectionsDroppedMidBlobPushAndPullComplete) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {3000000, 1200000, 400000}, 10));
  ASSERT_OK(proxy_->SetRules(json::array({
      {{"method", "PATCH"}, {"action", "drop_request"}, {"every", 2}},
      {{"method", "GET"}, {"path", "/blobs/"}, {"action", "drop_response"}, {"every", 2}},
      {{"method", "PUT"}, {"path", "/blobs/uploads/"}, {"action", "close"}, {"count", 1}},
  })));
  auto client = ProxyClient();
  PushResult pushed = MUST(Push(*client, *src_, root, {Ref(ProxyName("faults/drop:v1"))}));
  EXPECT_EQ(pushed.blobs_uploaded, 4);
  ValidateWithSkopeo(Name("faults/drop:v1"), root);

  auto cache = MUST(BlobCache::Open(Path("cache")));
  PullResult pulled = MUST(Pull(*client, *cache, Ref(ProxyName("faults/drop:v1"))));
  EXPECT_EQ(pulled.blobs_fetched, 4);
  ExpectSameImage(*src_, *cache, root);
  json log = MUST(proxy_->Log());
  EXPECT_GE(CountAction(log, "drop_request"), 2);
  EXPECT_GE(CountAction(log, "drop_response"), 2);
  EXPECT_EQ(CountAction(log, "close"), 1);
}

TEST_P(FaultTest, ServerErrorsAndSlowResponsesAreRetried) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {900000, 20000}, 11));
  ASSERT_OK(proxy_->SetRules(json::array({
      {{"method", "PUT"},
       {"path", "/manifests/"},
       {"action", "status"},
       {"status", 500},
       {"count", 2}},
      {{"method", "POST"}, {"action", "status"}, {"status", 503}, {"every", 2}},
      {{"method", "GET"},
       {"path", "/manifests/"},
       {"action", "status"},
       {"status", 502},
       {"count", 1}},
      {{"method", "HEAD"}, {"action", "slow"}, {"delay", 0.3}, {"every", 2}},
      {{"method", "GET"}, {"path", "/blobs/"}, {"action", "slow"}, {"delay", 0.5}},
  })));
  auto client = ProxyClient();
  MUST(Push(*client, *src_, root, {Ref(ProxyName("faults/errors:v1"))}));
  ValidateWithSkopeo(Name("faults/errors:v1"), root);
  auto cache = MUST(BlobCache::Open(Path("cache")));
  MUST(Pull(*client, *cache, Ref(ProxyName("faults/errors:v1"))));
  ExpectSameImage(*src_, *cache, root);
  json log = MUST(proxy_->Log());
  int s500 = 0, s503 = 0, s502 = 0;
  for (const auto& e : log) {
    s500 += e["status"] == 500;
    s503 += e["status"] == 503;
    s502 += e["status"] == 502;
  }
  EXPECT_EQ(s500, 2);
  EXPECT_GE(s503, 1);
  EXPECT_EQ(s502, 1);
  EXPECT_GE(CountAction(log, "slow"), 3);
}

TEST_P(FaultTest, TooManyRequestsWaitsForRetryAfter) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {1000}, 12));
  ASSERT_OK(proxy_->SetRules(json::array({
      {{"method", "HEAD"},
       {"path", "/blobs/"},
       {"action", "429"},
       {"retry_after", "2"},
       {"count", 1}},
  })));
  auto client = ProxyClient();
  auto start = std::chrono::steady_clock::now();
  auto missing = MUST(client->HeadBlob("faults/slow", root.digest));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(missing.has_value());
  // The policy's own backoff starts at 50 ms: only Retry-After explains a 2 s wait.
  EXPECT_GE(elapsed, std::chrono::milliseconds(1950));
  EXPECT_EQ(CountAction(MUST(proxy_->Log()), "429"), 1);
}

TEST_P(FaultTest, RegistryGoneForGoodFailsClearlyAndTagIsUnchanged) {
  oci::Descriptor v1 = MUST(testing::MakeTestImage(*src_, {50000}, 13));
  oci::Descriptor v2 = MUST(testing::MakeTestImage(*src_, {60000}, 14));
  auto direct = Client();
  MUST(Push(*direct, *src_, v1, {Ref(Name("faults/gone:latest"))}));

  ASSERT_OK(proxy_->SetRules(json::array({{{"method", "PATCH"}, {"action", "close"}}})));
  auto client = ProxyClient();
  auto r = Push(*client, *src_, v2, {Ref(ProxyName("faults/gone:latest"))});
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("pushing " + v2.digest.str() + " to " +
                                           ProxyName("faults/gone") + ": pushing blob sha256:"));
  EXPECT_THAT(r.error().message, HasSubstr("(gave up after 6 attempts)"));
  json log = MUST(proxy_->Log());
  for (const auto& e : log) EXPECT_NE(e["method"], "PUT") << e.dump();  // no manifest PUT
  auto head = MUST(direct->HeadManifest("faults/gone", "latest"));
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->digest, v1.digest);

  // The registry itself gone: the ping fails after a short retry, naming host and port.
  reg_->Kill();
  auto fresh = Client(reg_->host(), RegistryOptions{});  // the default policy, as a build has
  auto start = std::chrono::steady_clock::now();
  auto gone = Push(*fresh, *src_, v2, {Ref(Name("faults/gone:latest"))});
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(gone.ok());
  EXPECT_THAT(gone.error().message,
              HasSubstr("GET http://" + reg_->host() + "/v2/: cannot connect to " + reg_->host() +
                        ": Connection refused (3 attempts to connect)"));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  RecordProperty(
      "refused_ms",
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()));
}

TEST_P(FaultTest, CutDownloadsContinueWithRange) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {3000000}, 16));
  MUST(Push(*Client(), *src_, root, {Ref(Name("faults/range:v1"))}));
  oci::Manifest m = MUST(oci::Manifest::Parse(Blob(*src_, root.digest)));
  const std::string layer = "/blobs/" + m.layers[0].digest.str();
  ASSERT_OK(proxy_->SetRules(json::array(
      {{{"method", "GET"}, {"path", layer}, {"action", "drop_response"}, {"count", 3}}})));
  auto cache = MUST(BlobCache::Open(Path("cache")));
  MUST(Pull(*ProxyClient(), *cache, Ref(ProxyName("faults/range:v1"))));
  ExpectSameImage(*src_, *cache, root);
  // Each answer broke off half-way through what was asked: 1500000, then 2250000, 2625000.
  std::vector<std::string> ranges;
  for (const auto& e : MUST(proxy_->Log()))
    if (e["path"].get<std::string>().ends_with(layer)) ranges.push_back(e["range"]);
  EXPECT_EQ(ranges,
            (std::vector<std::string>{"", "bytes=1500000-", "bytes=2250000-", "bytes=2625000-"}));
}

TEST_P(FaultTest, UploadCutBeforeReachingTheRegistryResumesAtItsOffset) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {10000000}, 17));
  oci::Manifest m = MUST(oci::Manifest::Parse(Blob(*src_, root.digest)));
  // As behind a proxy that buffers requests: a cut request never reaches the registry. The
  // streaming PATCH is cut, then (resumed in 4 MiB chunks) every second chunk.
  ASSERT_OK(proxy_->SetRules(json::array({
      {{"method", "PATCH"}, {"lacks_header", "Content-Range"}, {"action", "drop_request"}},
      {{"method", "PATCH"}, {"action", "drop_request"}, {"every", 2}},
  })));
  auto client = ProxyClient();
  auto r = client->UploadBlob("faults/resume", m.layers[0], *src_, "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(*r, UploadOutcome::kUploaded);
  json log = MUST(proxy_->Log());
  ASSERT_OK(proxy_->SetRules(json::array()));
  MUST(Push(*client, *src_, root, {Ref(ProxyName("faults/resume:v1"))}));
  ValidateWithSkopeo(Name("faults/resume:v1"), root);
  int posts = 0, status_gets = 0;
  std::vector<std::string> chunks;
  for (const auto& e : log) {
    if (e["path"].get<std::string>().find("/blobs/uploads/") == std::string::npos) continue;
    posts += e["method"] == "POST";
    if (e["method"] == "GET") {
      ++status_gets;
      EXPECT_EQ(e["status"], 204) << e.dump();
    }
    if (e["method"] == "PATCH" && e["content_range"] != "")
      chunks.push_back(e["content_range"].get<std::string>() + (e["status"] == 0 ? " cut" : ""));
  }
  EXPECT_EQ(posts, 1) << log.dump(1);  // one upload, resumed
  // libcurl itself sends a request again when a reused connection turns out dead before any
  // answer, so not every cut needs a status query.
  EXPECT_GE(status_gets, 1) << log.dump(1);
  EXPECT_LE(status_gets, 3) << log.dump(1);
  EXPECT_EQ(chunks, (std::vector<std::string>{"0-4194303", "4194304-8388607 cut", "4194304-8388607",
                                              "8388608-9999999 cut", "8388608-9999999"}))
      << log.dump(1);
}

TEST_P(FaultTest, UploadThatTheRegistryCannotResumeStartsOver) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {6000000}, 18));
  // Half of the PATCH body reaches docker-registry 2.8 before the connection goes: its upload
  // now holds more than its state token says, so it cancels the upload when asked for the
  // offset. Only then does ocibuild start a new upload.
  ASSERT_OK(proxy_->SetRules(json::array({{{"method", "PATCH"},
                                           {"min_body", 1000000},
                                           {"action", "drop_request"},
                                           {"forward", true},
                                           {"count", 1}}})));
  MUST(Push(*ProxyClient(), *src_, root, {Ref(ProxyName("faults/restart:v1"))}));
  ValidateWithSkopeo(Name("faults/restart:v1"), root);
  int posts = 0, cannot_say = 0;
  json log = MUST(proxy_->Log());
  SCOPED_TRACE(log.dump(1));
  for (const auto& e : log) {
    posts += e["method"] == "POST";
    // BLOB_UPLOAD_INVALID (400) to the status query as the registry cancels the upload, or
    // BLOB_UPLOAD_UNKNOWN (404) when libcurl's own resend of the cut PATCH got it cancelled.
    cannot_say += e["path"].get<std::string>().find("/uploads/") != std::string::npos &&
                  (e["status"] == 400 || e["status"] == 404);
  }
  EXPECT_EQ(cannot_say, 1);
  EXPECT_EQ(posts, 3);  // layer, config, and the one that was cut again
}

TEST_P(FaultTest, RetryAfterIsHonouredAndTooLongOnesFailAtOnce) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {1000}, 19));
  ASSERT_OK(proxy_->SetRules(json::array({{{"method", "HEAD"},
                                           {"action", "status"},
                                           {"status", 503},
                                           {"retry_after", "1"},
                                           {"count", 2}}})));
  auto client = ProxyClient();
  auto start = std::chrono::steady_clock::now();
  MUST(client->HeadBlob("faults/ra", root.digest));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1950));
  ASSERT_OK(proxy_->SetRules(
      json::array({{{"method", "HEAD"}, {"action", "429"}, {"retry_after", "3600"}}})));
  start = std::chrono::steady_clock::now();
  auto r = client->HeadBlob("faults/ra", root.digest);
  ASSERT_FALSE(r.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_THAT(r.error().message,
              HasSubstr(": HTTP 429 (the registry asked to wait 3600 s before trying again "
                        "(Retry-After); ocibuild waits at most 60 s)"));
}

TEST_P(FaultTest, CorruptedBlobIsRejectedAndNotCached) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {100001}, 15));
  MUST(Push(*Client(), *src_, root, {Ref(Name("faults/corrupt:v1"))}));
  oci::Manifest m = MUST(oci::Manifest::Parse(Blob(*src_, root.digest)));
  const oci::Descriptor& layer = m.layers[0];
  std::string bad = Blob(*src_, layer.digest);
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0xFF);
  ASSERT_OK(proxy_->SetRules(json::array(
      {{{"method", "GET"}, {"path", "/blobs/" + layer.digest.str()}, {"action", "corrupt"}}})));

  auto cache = MUST(BlobCache::Open(Path("cache")));
  auto r = Pull(*ProxyClient(), *cache, Ref(ProxyName("faults/corrupt:v1")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "pulling " + ProxyName("faults/corrupt:v1") + ": fetching blob " +
                                   layer.digest.str() + " from " + ProxyName("faults/corrupt") +
                                   ": content has digest " + oci::Digest::OfBytes(bad).str() +
                                   "; rejected");
  EXPECT_FALSE(MUST(cache->Has(layer.digest)));
  EXPECT_TRUE(std::filesystem::is_empty(Path("cache/tmp")));
}

INSTANTIATE_TEST_SUITE_P(Modes, FaultTest, ::testing::Values(AuthMode::kNone, AuthMode::kToken),
                         [](const auto& info) { return testing::AuthModeName(info.param); });

class TokenAuthTest : public RegistryTest {};

TEST_P(TokenAuthTest, TokenRequestsListPushFirstAndCarryBasicCredentials) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {1000}, 20));
  MUST(Push(*Client(), *src_, root, {Ref(Name("tok/app:v1"))}));
  auto log = MUST(reg_->TokenLog());
  ASSERT_FALSE(log.empty());
  bool saw_push = false;
  for (const auto& e : log) {
    EXPECT_EQ(e["service"], "ocibuild-test-registry");
    EXPECT_EQ(e["auth_scheme"], "basic");
    if (!e["scopes"].empty() && e["scopes"][0] == "repository:tok/app:push,pull") saw_push = true;
  }
  EXPECT_TRUE(saw_push);
}

TEST_P(TokenAuthTest, IdentityTokenUsesRefreshTokenGrant) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {1000}, 21));
  CredentialEnv env = reg_->ClientEnv(reg_->host());
  json cfg = {
      {"auths",
       {{reg_->host(), {{"auth", "b2NpdGVzdDo="}, {"identitytoken", reg_->refresh_token}}}}}};
  ASSERT_OK(WriteFile(JoinPath(env.vars["DOCKER_CONFIG"], "config.json"), cfg.dump()));
  auto client = MUST(RegistryClient::Create(reg_->host(), reg_->ClientOptions(), env));
  MUST(Push(*client, *src_, root, {Ref(Name("tok/id:v1"))}));
  auto log = MUST(reg_->TokenLog());
  ASSERT_FALSE(log.empty());
  for (const auto& e : log) {
    EXPECT_EQ(e["method"], "POST");
    EXPECT_EQ(e["subject"], "identity");
  }
}

TEST_P(TokenAuthTest, WrongPasswordFailsWithoutRevealingIt) {
  CredentialEnv env = reg_->ClientEnv(reg_->host());
  json cfg = {
      {"auths", {{reg_->host(), {{"username", "ocitest"}, {"password", "wrong-Secret-42"}}}}}};
  std::string cfg_path = JoinPath(env.vars["DOCKER_CONFIG"], "config.json");
  ASSERT_OK(WriteFile(cfg_path, cfg.dump()));
  auto client = MUST(RegistryClient::Create(reg_->host(), reg_->ClientOptions(), env));
  auto cache = MUST(BlobCache::Open(Path("cache")));
  auto r = Pull(*client, *cache, Ref(Name("tok/none:v1")));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, Not(HasSubstr("wrong-Secret-42")));
  EXPECT_THAT(r.error().message, HasSubstr("HTTP 401 (UNAUTHORIZED: authentication required); "
                                           "credentials from " +
                                           cfg_path + " were not accepted"));
  // Refused credentials are not tried again.
  EXPECT_EQ(MUST(reg_->TokenLog()).size(), 1u);
}

TEST_P(TokenAuthTest, AnonymousPullOfPrivateRepositoryNamesMissingCredentials) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {1000}, 22));
  MUST(Push(*Client(), *src_, root, {Ref(Name("tok/private:v1")), Ref(Name("public/image:v1"))}));
  CredentialEnv anon;
  anon.vars["HOME"] = Path("anon-home");
  auto client = MUST(RegistryClient::Create(reg_->host(), reg_->ClientOptions(), anon));
  auto cache = MUST(BlobCache::Open(Path("cache")));
  MUST(Pull(*client, *cache, Ref(Name("public/image:v1"))));  // anonymous pull is granted
  auto r = Pull(*client, *cache, Ref(Name("tok/private:v1")));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message,
              HasSubstr("checking manifest " + Name("tok/private:v1") +
                        ": HTTP 401 (UNAUTHORIZED: authentication required); no credentials "
                        "found for " +
                        reg_->host()));
}

TEST_P(TokenAuthTest, BlobRedirectToAnotherHostCarriesNoAuthorization) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {200000, 3000}, 23));
  MUST(Push(*Client(), *src_, root, {Ref(Name("tok/redirect:v1"))}));
  auto proxy = MUST(FaultProxy::Start(reg_->host()));
  ASSERT_OK(proxy->SetRules(
      json::array({{{"method", "GET"}, {"path", "/blobs/"}, {"action", "redirect"}}})));
  std::string name = proxy->host() + "/tok/redirect:v1";
  auto client = Client(proxy->host());
  auto cache = MUST(BlobCache::Open(Path("cache")));
  PullResult pulled = MUST(Pull(*client, *cache, Ref(name)));
  EXPECT_EQ(pulled.blobs_fetched, 3);
  ExpectSameImage(*src_, *cache, root);
  int redirected = 0, originals_with_auth = 0;
  for (const auto& e : MUST(proxy->Log())) {
    if (e["redirected"] == true) {
      ++redirected;
      EXPECT_EQ(e["auth"], false) << e.dump();
    } else if (e["action"] == "redirect") {
      originals_with_auth += e["auth"] == true;
    }
  }
  EXPECT_EQ(redirected, 3);
  EXPECT_EQ(originals_with_auth, 3);
}

INSTANTIATE_TEST_SUITE_P(Modes, TokenAuthTest, ::testing::Values(AuthMode::kToken),
                         [](const auto& info) { return testing::AuthModeName(info.param); });

class TlsTest : public RegistryTest {};

TEST_P(TlsTest, UntrustedCertificateIsAnErrorNotAFallbackToHttp) {
  RegistryOptions o = reg_->ClientOptions();
  o.ca_file.clear();
  auto r = Client(reg_->host(), o)->HeadManifest("tls/app", "v1");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message,
              HasSubstr("GET https://" + reg_->host() + "/v2/: SSL certificate problem"));
}

TEST_P(TlsTest, InsecureRegistrySkipsVerification) {
  RegistryOptions o = reg_->ClientOptions();
  o.ca_file.clear();
  o.insecure_registries = {reg_->host()};
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {1000}, 30));
  MUST(Push(*Client(reg_->host(), o), *src_, root, {Ref(Name("tls/app:v1"))}));
  ValidateWithSkopeo(Name("tls/app:v1"), root);
}

TEST_P(TlsTest, WrongPasswordIsRejectedWithoutRevealingIt) {
  CredentialEnv env = reg_->ClientEnv(reg_->host());
  json cfg = {{"auths",
               {{"https://" + reg_->host() + "/v1/",
                 {{"username", "ocitest"}, {"password", "wrong-Secret-42"}}}}}};
  std::string cfg_path = JoinPath(env.vars["DOCKER_CONFIG"], "config.json");
  ASSERT_OK(WriteFile(cfg_path, cfg.dump()));
  auto client = MUST(RegistryClient::Create(reg_->host(), reg_->ClientOptions(), env));
  auto r = client->HeadManifest("tls/app", "v1");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, Not(HasSubstr("wrong-Secret-42")));
  // The HEAD's answer has no body: the registry's words come from the same request as a GET.
  EXPECT_EQ(r.error().message, "checking manifest " + Name("tls/app:v1") +
                                   ": HTTP 401 (UNAUTHORIZED: authentication required); "
                                   "credentials from " +
                                   cfg_path + " were not accepted");
}

INSTANTIATE_TEST_SUITE_P(Modes, TlsTest, ::testing::Values(AuthMode::kHtpasswdTls),
                         [](const auto& info) { return testing::AuthModeName(info.param); });

TEST_P(RegistryTest, ConcurrentBuildsShareTheCacheAndFetchEachBlobOnce) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {2000000, 1000000, 500000}, 4));
  MUST(Push(*Client(), *src_, root, {Ref(Name("shared/img:1"))}));
  // Two "builds": separate clients and cache handles on one directory, pulling at once.
  std::vector<PullResult> results(2);
  std::vector<std::string> errors(2);
  std::vector<std::thread> builds;
  for (int i = 0; i < 2; ++i) {
    builds.emplace_back([&, i] {
      auto client = MUST(RegistryClient::Create(reg_->host(), reg_->ClientOptions(),
                                                reg_->ClientEnv(reg_->host())));
      auto cache = MUST(BlobCache::Open(Path("cache")));
      auto r = Pull(*client, *cache, Ref(Name("shared/img:1")));
      if (r.ok())
        results[i] = *r;
      else
        errors[i] = r.error().message;
    });
  }
  for (auto& t : builds) t.join();
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
  EXPECT_EQ(results[0].blobs_fetched + results[1].blobs_fetched, 4);
  EXPECT_EQ(results[0].blobs_cached + results[1].blobs_cached, 4);
  auto cache = MUST(BlobCache::Open(Path("cache")));
  ExpectSameImage(*src_, *cache, root);
  EXPECT_TRUE(std::filesystem::is_empty(Path("cache/tmp")));
}

TEST_P(RegistryTest, ProgressReportsEveryBlobToItsTotal) {
  oci::Descriptor root = MUST(testing::MakeTestImage(*src_, {3000000, 1000}, 5));
  oci::Manifest m = MUST(oci::Manifest::Parse(Blob(*src_, root.digest)));
  std::mutex mu;
  std::map<std::string, BlobProgress> last;
  std::map<std::string, uint64_t> max_done;
  auto record = [&](const BlobProgress& p) {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_LE(p.done, p.total);
    last[p.digest.str()] = p;
    max_done[p.digest.str()] = std::max(max_done[p.digest.str()], p.done);
  };
  PushOptions po;
  po.progress = record;
  MUST(Push(*Client(), *src_, root, {Ref(Name("progress/img:1"))}, po));
  ASSERT_EQ(last.size(), 3u);
  for (const auto& [d, p] : last) {
    EXPECT_EQ(p.state, BlobProgress::State::kPushed) << d;
    EXPECT_EQ(p.done, p.total) << d;
  }
  EXPECT_EQ(last[m.layers[0].digest.str()].total, 3000000u);
  last.clear();
  PullOptions pull;
  pull.progress = record;
  auto cache = MUST(BlobCache::Open(Path("cache")));
  MUST(Pull(*Client(), *cache, Ref(Name("progress/img:1")), pull));
  ASSERT_EQ(last.size(), 3u);
  for (const auto& [d, p] : last) EXPECT_EQ(p.state, BlobProgress::State::kFetched) << d;
  last.clear();
  MUST(Pull(*Client(), *cache, Ref(Name("progress/img:1")), pull));
  for (const auto& [d, p] : last) EXPECT_EQ(p.state, BlobProgress::State::kCached) << d;
}

INSTANTIATE_TEST_SUITE_P(Modes, RegistryTest,
                         ::testing::Values(AuthMode::kNone, AuthMode::kHtpasswdTls,
                                           AuthMode::kToken),
                         [](const auto& info) { return testing::AuthModeName(info.param); });

}  // namespace
}  // namespace ocibuild::registry
