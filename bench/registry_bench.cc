// Push and pull throughput of a large image to a local docker-registry, ocibuild's client
// against `skopeo copy` of the same image in the same run. Each measurement gets a fresh
// registry so neither tool finds blobs the other left behind.
//   registry_bench [TOTAL_MB=500] [LAYERS=5] [RUNS=3]
// Prints BENCH|registry-<push|pull>-<N>MB|<tool>|<median s>|<peak RSS KiB> lines (bench/lib.sh).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include "oci/content_store.h"
#include "registry/blob_cache.h"
#include "registry/client.h"
#include "registry/puller.h"
#include "registry/pusher.h"
#include "registry/reference.h"
#include "tests/registry/registry_fixture.h"

using namespace ocibuild;
using namespace ocibuild::registry;
using Clock = std::chrono::steady_clock;

namespace {

template <typename T>
T Must(Result<T> r, const char* what) {
  if (!r.ok()) {
    std::cerr << "registry_bench: " << what << ": " << r.error().message << "\n";
    std::exit(1);
  }
  return std::move(r).value();
}
void Must(Status s, const char* what) {
  if (!s.ok()) {
    std::cerr << "registry_bench: " << what << ": " << s.error().message << "\n";
    std::exit(1);
  }
}

long SelfRssKiB() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}
// Forgets the peak so far (Linux >= 4.0): making the test image holds each layer in memory,
// which is the fixture's doing, not the client's.
void ResetPeakRss() {
  FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (!f) return;
  std::fputs("5", f);
  std::fclose(f);
}
long ChildRssKiB() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return ru.ru_maxrss;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Seconds(Clock::time_point a) {
  return std::chrono::duration<double>(Clock::now() - a).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int total_mb = argc > 1 ? std::atoi(argv[1]) : 500;
  const int layers = argc > 2 ? std::atoi(argv[2]) : 5;
  const int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  std::string missing = testing::MissingTools({"docker-registry", "skopeo", "openssl"});
  if (!missing.empty()) {
    std::cerr << "registry_bench: " << missing << "\n";
    return 77;
  }
  TempDir work = Must(TempDir::Create("ocibuild-regbench-"), "temp dir");
  std::string layout = JoinPath(work.path(), "layout");
  auto src = Must(oci::DirContentStore::Open(layout), "layout");
  std::vector<size_t> sizes(layers, static_cast<size_t>(total_mb) * 1000000 / layers);
  oci::Descriptor root = Must(testing::MakeTestImage(src, sizes, 7), "making the image");
  Must(testing::WriteOciLayoutIndex(layout, root, "t"), "index.json");
  ResetPeakRss();
  const std::string name = "registry-%s-" + std::to_string(total_mb) + "MB";
  auto label = [&](const char* op) {
    char buf[128];
    std::snprintf(buf, sizeof buf, name.c_str(), op);
    return std::string(buf);
  };

  std::vector<double> push_ours, push_skopeo, pull_ours, pull_skopeo;
  long ours_rss = 0;
  for (int run = 0; run < runs; ++run) {
    {
      auto reg = Must(testing::TestRegistry::Start(testing::AuthMode::kNone), "registry");
      auto client =
          Must(RegistryClient::Create(reg->host(), RegistryOptions{}, CredentialEnv{}), "client");
      auto t0 = Clock::now();
      Must(Push(*client, src, root, {Must(ParseReference(reg->host() + "/ours/img:1"), "ref")}),
           "ocibuild push");
      push_ours.push_back(Seconds(t0));

      std::string cache_dir = JoinPath(work.path(), "cache-" + std::to_string(run));
      auto cache = Must(BlobCache::Open(cache_dir), "cache");
      auto fresh =
          Must(RegistryClient::Create(reg->host(), RegistryOptions{}, CredentialEnv{}), "client");
      t0 = Clock::now();
      Must(Pull(*fresh, *cache, Must(ParseReference(reg->host() + "/ours/img:1"), "ref")),
           "ocibuild pull");
      pull_ours.push_back(Seconds(t0));
      ours_rss = std::max(ours_rss, SelfRssKiB());
      Must(RemoveAll(cache_dir), "rm cache");

      std::string out = JoinPath(work.path(), "skopeo-out");
      t0 = Clock::now();
      Must(testing::RunSkopeo({"copy", "--src-tls-verify=false",
                               "docker://" + reg->host() + "/ours/img:1", "oci:" + out + ":t"}),
           "skopeo pull");
      pull_skopeo.push_back(Seconds(t0));
      Must(RemoveAll(out), "rm skopeo-out");
    }
    {
      auto reg = Must(testing::TestRegistry::Start(testing::AuthMode::kNone), "registry");
      auto t0 = Clock::now();
      Must(testing::RunSkopeo({"copy", "--dest-tls-verify=false", "oci:" + layout + ":t",
                               "docker://" + reg->host() + "/skopeo/img:1"}),
           "skopeo push");
      push_skopeo.push_back(Seconds(t0));
    }
  }
  long skopeo_rss = ChildRssKiB();
  auto line = [&](const std::string& n, const char* tool, const std::vector<double>& v, long rss) {
    std::printf("BENCH|%s|%s|%.3f|%ld\n", n.c_str(), tool, Median(v), rss);
  };
  line(label("push"), "ocibuild", push_ours, ours_rss);
  line(label("push"), "skopeo", push_skopeo, skopeo_rss);
  line(label("pull"), "ocibuild", pull_ours, ours_rss);
  line(label("pull"), "skopeo", pull_skopeo, skopeo_rss);
  std::fprintf(stderr,
               "push: ocibuild %.0f MB/s, skopeo %.0f MB/s; pull: ocibuild %.0f MB/s, "
               "skopeo %.0f MB/s\n",
               total_mb / Median(push_ours), total_mb / Median(push_skopeo),
               total_mb / Median(pull_ours), total_mb / Median(pull_skopeo));
  return 0;
}
