// Realistic application builds on Debian, end to end: a multi-stage C build (gcc and make from a
// local apt repository, only the binary in the final image) and a Python application (python3,
// pip installing a local package with no index, useradd -m, COPY --chown, chown -R, USER).
// The base is the Debian minbase pushed to a real docker-registry where one can run, else a stage
// of the same Dockerfile made from the tarball. Each image is checked layer by layer (owners,
// modes), unpacked by umoci and compared, inspected with skopeo, and run with `docker run` where a
// daemon starts. Runs as root, as an unprivileged user and inside a container.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/integration_testing.h"
#include "tests/registry/registry_fixture.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using registry::testing::HaveTool;
using testing::Env;
using testing::Exec;

nlohmann::json ReadJson(const std::string& path) {
  auto t = ReadFile(path);
  EXPECT_TRUE(t.ok()) << path;
  return nlohmann::json::parse(t.ok() ? *t : "{}");
}

// Everything the suite's tests share: one state root (so the base is unpacked from the blob
// cache, not rebuilt), one registry, the base image pushed once.
struct Shared {
  std::unique_ptr<TempDir> tmp;
  std::string state;
  std::unique_ptr<registry::testing::TestRegistry> registry;
  std::string base_ref;  // empty: the Dockerfile's own debian-base stage is the base
  std::string base_tar;
  std::string toolchain_repo;
  std::string skip;  // why the suite cannot run here
};

class AppE2E : public ::testing::Test {
 protected:
  static Shared* shared_;

  static void SetUpTestSuite() {
    shared_ = new Shared;
    Shared& s = *shared_;
    std::string cache = Env("OCIBUILD_TEST_CACHE");
    s.base_tar = Env("OCIBUILD_DEBIAN_BASE");
    if (s.base_tar.empty()) s.base_tar = JoinPath(cache, "debian-minbase.tar");
    s.toolchain_repo = JoinPath(cache, "apt-repo-toolchain");
    if (!PathExists(s.base_tar) || !PathExists(JoinPath(s.toolchain_repo, "Packages"))) {
      s.skip = "needs the Debian minbase tarball and the toolchain apt repository in " + cache +
               ": run scripts/debian-base.sh and scripts/local-apt-repo.sh CACHE toolchain";
      return;
    }
    auto d = TempDir::Create("ocibuild-apps-e2e-");
    if (!d.ok()) {
      s.skip = d.error().message;
      return;
    }
    s.tmp = std::make_unique<TempDir>(std::move(*d));
    s.state = JoinPath(s.tmp->path(), "state");
    if (!registry::testing::MissingTools({"docker-registry"}).empty()) return;
    auto reg = registry::testing::TestRegistry::Start(registry::testing::AuthMode::kNone);
    if (!reg.ok()) {
      s.skip = "docker-registry did not start: " + reg.error().message;
      return;
    }
    s.registry = std::move(*reg);
    // The base image, from the debootstrap tarball, pushed.
    std::string ctx = JoinPath(s.tmp->path(), "base");
    std::string src = Env("OCIBUILD_SOURCE_DIR");
    if (Exec({"cp", "-r", JoinPath(src, "testdata/e2e/debian-base"), ctx}).exit_code != 0 ||
        !LinkOrCopy(s.base_tar, JoinPath(ctx, "debian-minbase.tar"))) {
      s.skip = "cannot prepare the base context";
      return;
    }
    s.base_ref = s.registry->host() + "/e2e/debian:12";
    auto b = Exec({Env("OCIBUILD_BINARY"), "--progress=plain", "-t", s.base_ref, ctx},
                  {{"OCIBUILD_ROOT", s.state}});
    if (b.exit_code != 0) s.skip = "building the base image failed:\n" + b.err;
  }

  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }

  static bool LinkOrCopy(const std::string& from, const std::string& to) {
    if (::link(from.c_str(), to.c_str()) == 0) return true;
    return Exec({"cp", from, to}).exit_code == 0;
  }

  void SetUp() override {
    if (!shared_->skip.empty()) GTEST_SKIP() << shared_->skip;
    auto d = TempDir::Create("app-", shared_->tmp->path());
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
  }

  // testdata/e2e/NAME plus the toolchain repository as apt-repo/, plus the base tarball when the
  // base is the Dockerfile's own stage.
  std::string Context(const std::string& name) {
    std::string ctx = Out("ctx");
    std::string src = Env("OCIBUILD_SOURCE_DIR");
    EXPECT_EQ(Exec({"cp", "-r", JoinPath(src, "testdata/e2e/" + name), ctx}).exit_code, 0);
    EXPECT_EQ(Exec({"cp", "-r", shared_->toolchain_repo, JoinPath(ctx, "apt-repo")}).exit_code, 0);
    if (shared_->base_ref.empty()) {
      EXPECT_TRUE(LinkOrCopy(shared_->base_tar, JoinPath(ctx, "debian-minbase.tar")));
    }
    return ctx;
  }

  // Builds CTX into an OCI layout (Out("layout")) and a docker archive (Out("docker.tar")), and
  // pushes it as REF when a registry runs.
  ProcessResult Build(const std::string& ctx, const std::string& repo) {
    std::vector<std::string> argv = {Env("OCIBUILD_BINARY"),
                                     "--progress=plain",
                                     "--output",
                                     "type=oci,dest=" + Out("layout"),
                                     "--output",
                                     "type=docker,dest=" + Out("docker.tar"),
                                     "-t",
                                     Tag(repo)};
    if (!shared_->base_ref.empty()) {
      argv.push_back("--build-arg");
      argv.push_back("BASE=" + shared_->base_ref);
      argv.push_back("--push");
    }
    argv.push_back(ctx);
    return Exec(argv, {{"OCIBUILD_ROOT", shared_->state}});
  }

  std::string Tag(const std::string& repo) const {
    std::string host = shared_->registry ? shared_->registry->host() : "localhost";
    return host + "/e2e/" + repo + ":" + std::to_string(::getpid());
  }

  std::string Out(const std::string& name) const { return JoinPath(tmp_->path(), name); }

  nlohmann::json Manifest() {
    auto index = ReadJson(JoinPath(Out("layout"), "index.json"));
    std::string d = index["manifests"][0]["digest"];
    return ReadJson(JoinPath(Out("layout"), "blobs/sha256/" + d.substr(7)));
  }
  nlohmann::json Config() {
    std::string d = Manifest()["config"]["digest"];
    return ReadJson(JoinPath(Out("layout"), "blobs/sha256/" + d.substr(7)));
  }

  // "TYPE+MODE UID/GID" of each path in the image, the top layer's entry winning, from
  // `tar tv` of every layer; whiteouts remove. Works the same in every environment.
  std::map<std::string, std::string> Entries() {
    std::map<std::string, std::string> out;
    nlohmann::json manifest = Manifest();
    for (const auto& l : manifest["layers"]) {
      std::string d = l["digest"];
      auto t = Exec({"tar", "--numeric-owner", "-tvzf",
                     JoinPath(Out("layout"), "blobs/sha256/" + d.substr(7))});
      EXPECT_EQ(t.exit_code, 0) << t.err;
      for (const auto& line : Split(t.out, '\n')) {
        auto f = Split(line, ' ');
        std::vector<std::string> w;
        for (auto& x : f)
          if (!x.empty()) w.push_back(x);
        if (w.size() < 6) continue;
        std::string name = w[5];
        if (EndsWith(name, "/")) name.pop_back();
        auto slash = name.rfind('/');
        std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
        if (StartsWith(base, ".wh.")) {
          std::string dir = slash == std::string::npos ? "" : name.substr(0, slash + 1);
          if (base == ".wh..wh..opq") continue;
          out.erase(dir + base.substr(4));
          continue;
        }
        out[name] = w[0] + " " + w[1];
      }
    }
    return out;
  }

  // umoci's view of the image: unpacked (as root with the owners applied; unprivileged
  // --rootless), returns the rootfs or "" when umoci is missing.
  std::string UmociUnpack() {
    if (!HaveTool("umoci")) return "";
    std::string bundle = Out("bundle");
    std::vector<std::string> argv = {"umoci", "unpack"};
    if (::geteuid() != 0) argv.push_back("--rootless");
    argv.insert(argv.end(), {"--image", Out("layout") + ":" + std::to_string(::getpid()), bundle});
    auto u = Exec(argv);
    EXPECT_EQ(u.exit_code, 0) << u.err;
    return JoinPath(bundle, "rootfs");
  }

  // Checks a path of the umoci rootfs: file type and permission bits, and owners when umoci
  // could apply them (as root).
  void ExpectStat(const std::string& rootfs, const std::string& path, mode_t type_mode, uid_t uid,
                  gid_t gid) {
    struct stat st;
    ASSERT_EQ(::lstat(JoinPath(rootfs, path).c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mode & (S_IFMT | 07777), type_mode) << path;
    if (::geteuid() == 0) {
      EXPECT_EQ(st.st_uid, uid) << path;
      EXPECT_EQ(st.st_gid, gid) << path;
    }
  }

  void Skopeo(const std::string& repo) {
    if (!shared_->registry || !HaveTool("skopeo")) return;
    // An empty auth file: the registry is open, and an unprivileged run must not read the
    // invoking user's (unreadable) $XDG_RUNTIME_DIR/containers/auth.json.
    std::string auth = Out("auth.json");
    ASSERT_TRUE(WriteFile(auth, "{}").ok());
    auto s = Exec(
        {"skopeo", "inspect", "--authfile", auth, "--tls-verify=false", "docker://" + Tag(repo)});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto j = nlohmann::json::parse(s.out);
    auto index = ReadJson(JoinPath(Out("layout"), "index.json"));
    EXPECT_EQ(j["Digest"], index["manifests"][0]["digest"]);
    EXPECT_EQ(j["Layers"].size(), Manifest()["layers"].size());
  }

  // `docker run --rm IMAGE` output, or nullopt (and a note) where no daemon starts.
  std::optional<ProcessResult> DockerRun(const std::string& repo) {
    auto host = Exec({JoinPath(Env("OCIBUILD_SOURCE_DIR"), "scripts/dockerd.sh"), "start"});
    if (host.exit_code != 0) {
      std::cerr << "*** no Docker daemon here; the image was not run ***\n";
      return std::nullopt;
    }
    std::map<std::string, std::string> denv = {{"DOCKER_HOST", std::string(TrimSpace(host.out))}};
    std::string docker = PathExists("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
    auto load = Exec({docker, "load", "-i", Out("docker.tar")}, denv);
    EXPECT_EQ(load.exit_code, 0) << load.err;
    auto run = Exec({docker, "run", "--rm", "--network", "none", Tag(repo)}, denv);
    (void)Exec({docker, "rmi", "-f", Tag(repo)}, denv);
    return run;
  }

  std::unique_ptr<TempDir> tmp_;
};

Shared* AppE2E::shared_ = nullptr;

TEST_F(AppE2E, MultiStageCBuild) {
  auto r = Build(Context("c-app"), "c-app");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Setting up gcc"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("self-test ok"), std::string::npos) << r.err;

  auto cfg = Config();
  EXPECT_EQ(cfg["config"]["User"], "greeter");
  EXPECT_EQ(cfg["config"]["WorkingDir"], "/home/greeter");
  EXPECT_EQ(cfg["config"]["Cmd"], nlohmann::json::array({"greet", "from", "ocibuild"}));

  auto e = Entries();
  EXPECT_EQ(e["usr/local/bin/greet"], "-rwxr-xr-x 0/0");
  EXPECT_EQ(e["home/greeter"], "drwxr-xr-x 1200/1200");
  EXPECT_EQ(e["usr/bin/dpkg"], "-rwxr-xr-x 0/0");  // the base is there
  // The build stage's toolchain, sources and repository are not.
  for (const char* p : {"usr/bin/make", "usr/bin/gcc", "usr/include/stdio.h", "src", "src/main.o",
                        "srv/repo", "etc/apt/sources.list.d/local.list"})
    EXPECT_EQ(e.count(p), 0u) << p;
  Skopeo("c-app");

  std::string rootfs = UmociUnpack();
  if (!rootfs.empty()) {
    ExpectStat(rootfs, "usr/local/bin/greet", S_IFREG | 0755, 0, 0);
    ExpectStat(rootfs, "home/greeter", S_IFDIR | 0755, 1200, 1200);
    EXPECT_FALSE(PathExists(JoinPath(rootfs, "usr/bin/gcc")));
    EXPECT_FALSE(PathExists(JoinPath(rootfs, "src")));
    auto passwd = ReadFile(JoinPath(rootfs, "etc/passwd"));
    ASSERT_TRUE(passwd.ok());
    EXPECT_NE(passwd->find("greeter:x:1200:1200::/home/greeter:/bin/sh\n"), std::string::npos);
    // The host is Debian 12 as well: the binary runs straight from the unpacked image.
    auto g = Exec({JoinPath(rootfs, "usr/local/bin/greet"), "a", "b", "c"});
    EXPECT_EQ(g.exit_code, 0) << g.err;
    EXPECT_TRUE(StartsWith(g.out, "hello a b c (3 words) as ")) << g.out;
  }
  if (auto run = DockerRun("c-app")) {
    EXPECT_EQ(run->exit_code, 0) << run->err;
    EXPECT_EQ(run->out, "hello from ocibuild (2 words) as greeter\n");
  }
}

TEST_F(AppE2E, PythonAppWithPipAndChown) {
  auto r = Build(Context("py-app"), "py-app");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Successfully installed greeter-1.0"), std::string::npos) << r.err;

  auto cfg = Config();
  EXPECT_EQ(cfg["config"]["User"], "app");
  EXPECT_EQ(cfg["config"]["WorkingDir"], "/srv/app");
  EXPECT_NE(cfg["config"]["Env"].dump().find("PYTHONDONTWRITEBYTECODE=1"), std::string::npos);

  auto e = Entries();
  EXPECT_EQ(e["home/app"], "drwxr-xr-x 1300/1300");
  EXPECT_EQ(e["srv/app/app.py"], "-rw-r--r-- 1300/1300");             // COPY --chown
  EXPECT_EQ(e["srv/app/localpkg/setup.py"], "-rw-r--r-- 1300/1300");  // COPY --chown of a dir
  EXPECT_EQ(e["srv/app/localpkg"], "drwxr-xr-x 1300/1300");
  EXPECT_EQ(e["srv/app/data"], "drwxr-x--- 1300/1300");  // chown -R, chmod in RUN
  EXPECT_EQ(e["srv/app/data/state.txt"], "-rw-r--r-- 1300/1300");
  EXPECT_EQ(e["srv/app/data/cache"], "drwxr-xr-x 1300/1300");
  EXPECT_EQ(e["usr/local/lib/python3.11/dist-packages/greeter/__init__.py"], "-rw-r--r-- 0/0");
  EXPECT_EQ(e["usr/bin/python3.11"], "-rwxr-xr-x 0/0");
  EXPECT_EQ(e.count("srv/repo"), 0u);
  Skopeo("py-app");

  std::string rootfs = UmociUnpack();
  if (!rootfs.empty()) {
    ExpectStat(rootfs, "srv/app/app.py", S_IFREG | 0644, 1300, 1300);
    ExpectStat(rootfs, "srv/app/data", S_IFDIR | 0750, 1300, 1300);
    ExpectStat(rootfs, "srv/app/data/state.txt", S_IFREG | 0644, 1300, 1300);
    ExpectStat(rootfs, "usr/local/lib/python3.11/dist-packages/greeter/__init__.py", S_IFREG | 0644,
               0, 0);
    ExpectStat(rootfs, "usr/bin/python3", S_IFLNK | 0777, 0, 0);
    auto app = ReadFile(JoinPath(rootfs, "srv/app/app.py"));
    auto want = ReadFile(JoinPath(Env("OCIBUILD_SOURCE_DIR"), "testdata/e2e/py-app/app.py"));
    ASSERT_TRUE(app.ok() && want.ok());
    EXPECT_EQ(*app, *want);
    EXPECT_EQ(*ReadFile(JoinPath(rootfs, "srv/app/data/state.txt")), "started\n");
  }
  if (auto run = DockerRun("py-app")) {
    EXPECT_EQ(run->exit_code, 0) << run->err;
    EXPECT_EQ(run->out, "hello from python, packaged by pip\nuser=app state=started\n");
  }
}

}  // namespace
}  // namespace ocibuild
