// Registry transfers end to end, with the real binary and docker-registry. A 110 MiB base image
// is pulled, and the built image pushed, through fault_proxy.py cutting connections about once a
// second of transfer (wherever the bytes are: request body, response body, after the head) and
// answering some requests 503 or 429; three times, each push byte-identical to a fault-free
// build. A refused connection, a name that does not resolve, an untrusted certificate and refused
// credentials are each reported at once, naming what failed.
#include <fcntl.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/integration_testing.h"
#include "tests/registry/registry_fixture.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using nlohmann::json;
using registry::testing::AuthMode;
using registry::testing::FaultProxy;
using registry::testing::TestRegistry;
using testing::Busybox;
using testing::Env;
using testing::Exec;
using Clock = std::chrono::steady_clock;

constexpr size_t kBaseBytes = 110u << 20;

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

Status WriteRandomFile(const std::string& path, size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string buf(1 << 20, '\0');
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, OpenFile(path, O_WRONLY | O_CREAT | O_TRUNC, 0644));
  for (size_t done = 0; done < n; done += buf.size()) {
    for (size_t i = 0; i < buf.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(&buf[i], &v, 8);
    }
    OCIB_TRY(
        WriteAll(fd.get(), std::string_view(buf).substr(0, std::min(buf.size(), n - done)), path));
  }
  return Ok();
}

// One registry, the base image in it, and the app's context, shared by the suite.
struct Shared {
  std::unique_ptr<TempDir> tmp;
  std::unique_ptr<TestRegistry> reg;
  std::string app;  // context of the app built on the base
  std::string skip;
};

class Transfers : public ::testing::Test {
 protected:
  static Shared* shared_;

  static void SetUpTestSuite() {
    shared_ = new Shared;
    Shared& s = *shared_;
    std::string missing =
        registry::testing::MissingTools({"docker-registry", "skopeo", "python3", "openssl"});
    if (!missing.empty() || Busybox().empty()) {
      s.skip = missing.empty() ? "no static busybox on this machine" : missing;
      return;
    }
    auto d = TempDir::Create("ocibuild-transfers-");
    if (!d.ok()) {
      s.skip = d.error().message;
      return;
    }
    s.tmp = std::make_unique<TempDir>(std::move(*d));
    auto reg = TestRegistry::Start(AuthMode::kNone);
    if (!reg.ok()) {
      s.skip = "docker-registry did not start: " + reg.error().message;
      return;
    }
    s.reg = std::move(*reg);
    // The base: busybox and 110 MiB that do not compress, pushed without faults.
    std::string base = JoinPath(s.tmp->path(), "base");
    s.app = JoinPath(s.tmp->path(), "app");
    Status st = MakeDirs(base);
    if (st.ok()) st = MakeDirs(s.app);
    if (st.ok()) st = WriteRandomFile(JoinPath(base, "big.bin"), kBaseBytes, 18);
    if (st.ok())
      st = WriteFile(JoinPath(base, "Dockerfile"),
                     "FROM scratch\nCOPY busybox /bin/busybox\nCOPY big.bin /data/big.bin\n");
    if (st.ok())
      st = WriteFile(JoinPath(s.app, "Dockerfile"),
                     "ARG BASE\nFROM ${BASE}\nCOPY hello.txt /hello.txt\n");
    if (st.ok()) st = WriteFile(JoinPath(s.app, "hello.txt"), "hello through a flaky network\n");
    if (!st.ok()) {
      s.skip = st.error().message;
      return;
    }
    if (Exec({"cp", Busybox(), JoinPath(base, "busybox")}).exit_code != 0) {
      s.skip = "cannot copy busybox";
      return;
    }
    auto b = Exec({Env("OCIBUILD_BINARY"), "--progress=plain", "-t",
                   s.reg->host() + "/transfers/base:1", base},
                  {{"OCIBUILD_ROOT", JoinPath(s.tmp->path(), "base-state")}});
    if (b.exit_code != 0) s.skip = "building the base image failed:\n" + b.err;
  }

  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }

  void SetUp() override {
    if (!shared_->skip.empty()) GTEST_SKIP() << shared_->skip;
  }

  TestRegistry& reg() { return *shared_->reg; }
  std::string Path(const std::string& p) { return JoinPath(shared_->tmp->path(), p); }

  // Builds the app FROM `base_host`/transfers/base:1 and pushes it as `target`, in a state root
  // of its own (so the base is pulled); returns the pushed manifest digest, "" on failure.
  std::string BuildAndPush(const std::string& name, const std::string& base_host,
                           const std::string& target, ProcessResult* out = nullptr) {
    std::string digest_file = Path(name + ".digest");
    auto r = Exec({Env("OCIBUILD_BINARY"), "--progress=plain", "--build-arg",
                   "BASE=" + base_host + "/transfers/base:1", "-t", target, "--digest-file",
                   digest_file, shared_->app},
                  {{"OCIBUILD_ROOT", Path(name + "-state")}, {"SOURCE_DATE_EPOCH", "1700000000"}});
    (void)RemoveAll(Path(name + "-state"));
    if (out) *out = r;
    EXPECT_EQ(r.exit_code, 0) << name << ":\n" << r.err;
    if (r.exit_code != 0) return "";
    auto d = ReadFile(digest_file);
    return d.ok() ? std::string(TrimSpace(*d)) : "";
  }

  // skopeo copies `ref` out of the registry (checking every blob's digest on the way).
  std::string SkopeoCopy(const std::string& ref, const std::string& layout) {
    std::vector<std::string> args = {"copy", "--preserve-digests"};
    auto f = reg().SkopeoFlags("src");
    args.insert(args.end(), f.begin(), f.end());
    args.push_back("docker://" + ref);
    args.push_back("oci:" + layout + ":t");
    auto r = registry::testing::RunSkopeo(args);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    auto inspect =
        registry::testing::RunSkopeo({"inspect", "--raw", "--tls-verify=false", "docker://" + ref});
    return inspect.ok() ? *inspect : "";
  }
};

Shared* Transfers::shared_ = nullptr;

// What a proxy's log says about one run.
struct Faults {
  int cuts = 0;         // connections cut mid-transfer of a blob
  int ranged_gets = 0;  // downloads continued with Range
  int chunks = 0;       // PATCHes with Content-Range (a resumed upload)
  int status_gets = 0;  // GETs of an upload URL (asking for its offset)
  int unavailable = 0;  // 503s injected
  int too_many = 0;     // 429s injected
  std::string Text() const {
    return std::to_string(cuts) + " cuts, " + std::to_string(ranged_gets) + " ranged GETs, " +
           std::to_string(chunks) + " chunks, " + std::to_string(status_gets) +
           " offset queries, " + std::to_string(unavailable) + "x503, " + std::to_string(too_many) +
           "x429";
  }
};

Faults Count(const json& log) {
  Faults f;
  for (const auto& e : log) {
    std::string path = e.value("path", "");
    if (e.value("cut", "") != "" && path.find("/blobs/") != std::string::npos) ++f.cuts;
    if (e["method"] == "GET" && e.value("range", "") != "") ++f.ranged_gets;
    if (e["method"] == "PATCH" && e.value("content_range", "") != "") ++f.chunks;
    if (e["method"] == "GET" && path.find("/blobs/uploads/") != std::string::npos) ++f.status_gets;
    f.unavailable += e["action"] == "status" && e["status"] == 503;
    f.too_many += e["action"] == "429";
  }
  return f;
}

// About once a second of transfer, wherever the bytes are, plus 503s and 429s now and then. The
// push side buffers request bodies as nginx does, so a cut upload never reaches the registry:
// docker-registry 2.8 cannot resume an upload that took in part of a cut request (it cancels it),
// which a new upload handles (FaultTest.UploadThatTheRegistryCannotResumeStartsOver) but which
// at this cut rate would rarely finish 110 MiB.
json FlakyRules(bool buffer_requests) {
  const double rate = 30e6;  // bytes/s: a 110 MiB layer takes ~3.8 s, so it is cut ~4 times
  return json::array({
      {{"action", "status"}, {"status", 503}, {"p", 0.04}},
      {{"action", "429"}, {"retry_after", "1"}, {"p", 0.02}},
      {{"method", "GET"},
       {"path", "/blobs/sha256:"},
       {"action", "flaky"},
       {"rate", rate},
       {"cut_mean_bytes", rate}},
      {{"method", "PATCH"},
       {"action", "flaky"},
       {"rate", rate},
       {"cut_mean_bytes", rate},
       {"buffer_requests", buffer_requests}},
  });
}

TEST_F(Transfers, PullAndPushThroughACuttingProxyAreByteIdenticalThreeTimesOutOfThree) {
  // The fault-free build: pulled and pushed directly.
  auto t0 = Clock::now();
  const std::string ref_name = reg().host() + "/transfers/reference:1";
  const std::string want = BuildAndPush("reference", reg().host(), ref_name);
  ASSERT_FALSE(want.empty());
  const double clean_s = Seconds(Clock::now() - t0);
  const std::string want_manifest = SkopeoCopy(ref_name, Path("reference-layout"));
  ASSERT_FALSE(want_manifest.empty());

  Faults total_pull, total_push;
  for (int run = 1; run <= 3; ++run) {
    SCOPED_TRACE("run " + std::to_string(run));
    auto pull = FaultProxy::Start(reg().host(), 100 + run);
    auto push = FaultProxy::Start(reg().host(), 200 + run);
    ASSERT_TRUE(pull.ok() && push.ok());
    ASSERT_TRUE((*pull)->SetRules(FlakyRules(false)).ok());
    ASSERT_TRUE((*push)->SetRules(FlakyRules(true)).ok());
    const std::string name = "run" + std::to_string(run);
    const std::string target = (*push)->host() + "/transfers/" + name + ":1";
    t0 = Clock::now();
    ProcessResult out;
    std::string got = BuildAndPush(name, (*pull)->host(), target, &out);
    const double run_s = Seconds(Clock::now() - t0);
    EXPECT_EQ(got, want);
    // What the registry holds is the same image, every blob intact (skopeo checks digests).
    EXPECT_EQ(SkopeoCopy(reg().host() + "/transfers/" + name + ":1", Path(name + "-layout")),
              want_manifest);
    Faults fp = Count(*(*pull)->Log()), fu = Count(*(*push)->Log());
    std::printf("run %d: %.1f s (fault-free %.1f s); pull: %s; push: %s\n", run, run_s, clean_s,
                fp.Text().c_str(), fu.Text().c_str());
    RecordProperty(name + "_seconds", std::to_string(run_s));
    total_pull.cuts += fp.cuts;
    total_pull.ranged_gets += fp.ranged_gets;
    total_push.cuts += fu.cuts;
    total_push.chunks += fu.chunks;
    total_push.status_gets += fu.status_gets;
    total_pull.unavailable += fp.unavailable + fu.unavailable;
    total_pull.too_many += fp.too_many + fu.too_many;
  }
  // The faults happened, and were ridden out by resuming, not by luck.
  EXPECT_GE(total_pull.cuts, 3);
  EXPECT_GE(total_pull.ranged_gets, 3);
  EXPECT_GE(total_push.cuts, 3);
  EXPECT_GE(total_push.chunks, 3);
  EXPECT_GE(total_push.status_gets, 3);
  EXPECT_GE(total_pull.unavailable, 1);
  EXPECT_GE(total_pull.too_many, 1);
}

// Needs nothing but the binary (so it runs in the container too).
class FastFailure : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::Create("ocibuild-fastfail-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
  }
  // Builds `FROM base`; returns the result and the seconds it took.
  ProcessResult BuildFrom(const std::string& base, double* seconds) {
    EXPECT_TRUE(WriteFile(JoinPath(tmp_->path(), "Dockerfile"), "FROM " + base + "\n").ok());
    // A trust store of its own: the container's minbase has none, and https is refused before
    // any connection without one. Nothing here gets as far as TLS.
    std::string ca = JoinPath(tmp_->path(), "ca.pem");
    EXPECT_TRUE(WriteFile(ca, "not reached\n").ok());
    auto t0 = Clock::now();
    auto r = Exec({Env("OCIBUILD_BINARY"), "--progress=plain", tmp_->path()},
                  {{"OCIBUILD_ROOT", JoinPath(tmp_->path(), "state")}, {"SSL_CERT_FILE", ca}});
    *seconds = Seconds(Clock::now() - t0);
    return r;
  }
  std::unique_ptr<TempDir> tmp_;
};

TEST_F(FastFailure, RefusedConnectionFailsWithinFiveSecondsNamingHostAndPort) {
  auto port = registry::testing::FreePort();  // nothing listens there
  ASSERT_TRUE(port.ok());
  const std::string host = "127.0.0.1:" + std::to_string(*port);
  double s = 0;
  auto r = BuildFrom(host + "/x/y:1", &s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect to " + host +
                       ": Connection refused (3 attempts to "
                       "connect)"),
            std::string::npos)
      << r.err;
  EXPECT_LT(s, 5.0);
  std::printf("refused connection reported after %.2f s\n", s);
  RecordProperty("refused_seconds", std::to_string(s));
}

TEST_F(FastFailure, NameThatDoesNotResolveFailsAtOnce) {
  double s = 0;
  auto r = BuildFrom("registry.nonexistent.invalid/x/y:1", &s);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect to registry.nonexistent.invalid:443: the host name does "
                       "not resolve"),
            std::string::npos)
      << r.err;
  EXPECT_LT(s, 5.0);
  std::printf("unresolvable name reported after %.2f s\n", s);
}

TEST_F(Transfers, UntrustedCertificateFailsAtOnceNamingTheRegistry) {
  auto tls = TestRegistry::Start(AuthMode::kHtpasswdTls);
  ASSERT_TRUE(tls.ok()) << tls.error().message;
  auto t0 = Clock::now();
  auto r = Exec({Env("OCIBUILD_BINARY"), "--progress=plain", "--build-arg",
                 "BASE=" + (*tls)->host() + "/x/y:1", shared_->app},
                {{"OCIBUILD_ROOT", Path("tls-state")}});
  const double s = Seconds(Clock::now() - t0);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("GET https://" + (*tls)->host() + "/v2/: SSL certificate problem"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("(the certificate of " + (*tls)->host() + " is not trusted"),
            std::string::npos)
      << r.err;
  EXPECT_LT(s, 5.0);
}

TEST_F(Transfers, RefusedCredentialsAreTriedOnceAndTheRegistrysMessageShown) {
  auto tok = TestRegistry::Start(AuthMode::kToken);
  ASSERT_TRUE(tok.ok()) << tok.error().message;
  std::string cfgdir = Path("bad-creds");
  ASSERT_TRUE(MakeDirs(cfgdir).ok());
  json cfg = {
      {"auths", {{(*tok)->host(), {{"username", "ocitest"}, {"password", "wrong-Secret-42"}}}}}};
  ASSERT_TRUE(WriteFile(JoinPath(cfgdir, "config.json"), cfg.dump()).ok());
  auto t0 = Clock::now();
  auto r = Exec({Env("OCIBUILD_BINARY"), "--progress=plain", "--build-arg",
                 "BASE=" + (*tok)->host() + "/private/base:1", shared_->app},
                {{"OCIBUILD_ROOT", Path("creds-state")}, {"DOCKER_CONFIG", cfgdir}});
  const double s = Seconds(Clock::now() - t0);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("HTTP 401 (UNAUTHORIZED: authentication required); credentials from " +
                       JoinPath(cfgdir, "config.json") + " were not accepted"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("wrong-Secret-42"), std::string::npos);
  EXPECT_EQ(r.err.find("gave up"), std::string::npos) << r.err;
  auto log = (*tok)->TokenLog();
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->size(), 1u);  // one token request with the refused credentials
  EXPECT_LT(s, 5.0);
}

}  // namespace
}  // namespace ocibuild
