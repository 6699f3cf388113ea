// Push, pull, mount and re-push against Debian's docker-registry on 127.0.0.1 in three auth
// modes, every pushed image read back with skopeo; faults injected by fault_proxy.py.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

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
void PrintTo(const Digest& d, std::ostream* os) { *os << d.str(); }
}  // namespace ocibuild::oci

namespace ocibuild::registry {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::AuthMode;
using testing::FaultProxy;
using testing::TestRegistry;
using nlohmann::json;

#define ASSERT_OK(expr)                                         \
  do {                                                          \
    auto ocib_st_ = (expr);                                     \
    ASSERT_TRUE(ocib_st_.ok()) << ocib_st_.error().message;     \
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

Reference Ref(const std::string& s) { return MUST(ParseReference(s)); }

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
    for (const auto& l : m.layers) EXPECT_EQ(Blob(a, l.digest), Blob(b, l.digest)) << l.digest.str();
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

  PushResult first = MUST(Push(*client, *src_, root,
                               {Ref(Name("test/app:v1")), Ref(Name("test/app:latest"))}));
  EXPECT_EQ(first.blobs_uploaded, 4);
  EXPECT_EQ(first.blobs_existed, 0);
  EXPECT_EQ(first.bytes_uploaded, 1500000u + 300000u + 10u +
                                      static_cast<uint64_t>(MUST(src_->Size(
                                          MUST(oci::Manifest::Parse(Blob(*src_, root.digest)))
                                              .config.digest))));
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

INSTANTIATE_TEST_SUITE_P(Modes, RegistryTest,
                         ::testing::Values(AuthMode::kNone, AuthMode::kHtpasswdTls,
                                           AuthMode::kToken),
                         [](const auto& info) { return testing::AuthModeName(info.param); });

}  // namespace
}  // namespace ocibuild::registry
