// The real-world corpus (testdata/real-world/): upstream Dockerfiles as their projects publish
// them (Next.js with-docker, an Express API, a Flask app under gunicorn, Docker's Go multi-stage
// example, the gcc image's C example), each built by ocibuild on stand-in base images that
// ocibuild first builds from Debian 12 packages and pushes to a real docker-registry. Each image
// is checked for what its Dockerfile promises (config, users, files); where a Docker daemon runs
// (as root, not in a container) it is run with `docker run` and asked over HTTP or run to
// completion, and Docker's BuildKit builds the same Dockerfile on the same bases so that both
// images can be compared entry by entry (tests/conformance/buildkit-integration/docker_compare).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/conformance/buildkit-integration/docker_compare.h"
#include "tests/conformance/buildkit-integration/image_view.h"
#include "tests/integration/integration_testing.h"
#include "tests/registry/registry_fixture.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using bki::FsEntry;
using bki::FsMap;
using bki::ImageView;
using testing::Env;
using testing::Exec;

// The stand-in bases: testdata/real-world/bases/NAME built with the local apt repository SET
// (scripts/local-apt-repo.sh), and the upstream FROM references each replaces.
struct StandIn {
  const char* name;
  const char* apt_set;  // "" for none
  std::vector<std::string> replaces;
};
const std::vector<StandIn>& StandIns() {
  static const std::vector<StandIn> v = {
      {"node", "node", {"node:18-alpine", "node:16"}},
      {"python", "python", {"python:3.10-slim"}},
      {"golang", "golang", {"golang:1.19"}},
      {"gcc", "toolchain", {"gcc:4.9"}},
      {"distroless", "", {"gcr.io/distroless/base-debian11"}},
  };
  return v;
}

struct Shared {
  std::unique_ptr<TempDir> tmp;
  std::string state;
  std::unique_ptr<registry::testing::TestRegistry> registry;
  std::map<std::string, std::string> from;  // upstream reference -> stand-in reference
  std::string docker_host;                  // empty: no daemon here
  std::string skip;
  std::string failure;  // set up, but a stand-in base did not build
};

std::string DockerCli() {
  // Debian's docker.io client: it still builds with the daemon's BuildKit without buildx.
  return PathExists("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// A TCP port free on 127.0.0.1 right now (the containers share the host's network).
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0) ::close(fd);
  return port;
}

class RealWorld : public ::testing::Test {
 protected:
  static Shared* shared_;

  static std::string Ocibuild(const std::vector<std::string>& args, int* exit_code) {
    std::vector<std::string> argv = {Env("OCIBUILD_BINARY"), "--progress=plain"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = Exec(argv, {{"OCIBUILD_ROOT", shared_->state}});
    *exit_code = r.exit_code;
    return r.err;
  }

  static void SetUpTestSuite() {
    shared_ = new Shared;
    Shared& s = *shared_;
    std::string cache = Env("OCIBUILD_TEST_CACHE");
    std::string base_tar = Env("OCIBUILD_DEBIAN_BASE");
    if (base_tar.empty()) base_tar = JoinPath(cache, "debian-minbase.tar");
    std::string missing = registry::testing::MissingTools({"docker-registry", "cp", "sed"});
    if (!missing.empty()) {
      s.skip = missing;
      return;
    }
    if (!PathExists(base_tar)) {
      s.skip = "needs the Debian minbase tarball: run scripts/debian-base.sh as root";
      return;
    }
    for (const auto& b : StandIns()) {
      std::string set = b.apt_set;
      if (!set.empty() && !PathExists(JoinPath(cache, "apt-repo-" + set + "/Packages"))) {
        s.skip = "needs the local apt repository apt-repo-" + set + " in " + cache +
                 ": run scripts/local-apt-repo.sh CACHE " + set + " as root";
        return;
      }
    }
    auto d = TempDir::Create("ocibuild-realworld-");
    if (!d.ok()) {
      s.skip = d.error().message;
      return;
    }
    s.tmp = std::make_unique<TempDir>(std::move(*d));
    ::chmod(s.tmp->path().c_str(), 0755);
    s.state = JoinPath(s.tmp->path(), "state");
    auto reg = registry::testing::TestRegistry::Start(registry::testing::AuthMode::kNone);
    if (!reg.ok()) {
      s.skip = "docker-registry did not start: " + reg.error().message;
      return;
    }
    s.registry = std::move(*reg);
    std::string src = Env("OCIBUILD_SOURCE_DIR");
    auto t0 = std::chrono::steady_clock::now();
    // RUN steps inherit this process's open-file limit. dockerd gives containers, so BuildKit's
    // RUN steps, 1048576; an unprivileged login often has a soft limit of 1024, with which dpkg
    // unpacking golang-1.19-src (about 7,000 files) in ocibuild's sandbox fails with EMFILE
    // (reported; not narrowed down yet). The soft limit goes up to the hard one, as Go programs
    // such as dockerd do for themselves.
    struct rlimit nofile;
    if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
      nofile.rlim_cur = nofile.rlim_max;
      (void)::setrlimit(RLIMIT_NOFILE, &nofile);
    }

    // The Debian minbase image, then each stand-in on it.
    std::string debian = s.registry->host() + "/real-world/debian:12";
    std::string ctx = JoinPath(s.tmp->path(), "base-debian");
    if (Exec({"cp", "-r", JoinPath(src, "testdata/e2e/debian-base"), ctx}).exit_code != 0 ||
        Exec({"cp", base_tar, JoinPath(ctx, "debian-minbase.tar")}).exit_code != 0) {
      s.skip = "cannot prepare the Debian base context";
      return;
    }
    int rc = 0;
    std::string err = Ocibuild({"-t", debian, "--push", ctx}, &rc);
    if (rc != 0) {
      s.failure = "building the Debian base failed:\n" + err;
      return;
    }
    (void)Exec({"rm", "-rf", ctx});
    for (const auto& b : StandIns()) {
      std::string name = b.name;
      ctx = JoinPath(s.tmp->path(), "base-" + name);
      std::string ref = s.registry->host() + "/real-world/" + name + ":stand-in";
      std::string set = b.apt_set;
      bool ok =
          Exec({"cp", "-r", JoinPath(src, "testdata/real-world/bases/" + name), ctx}).exit_code ==
          0;
      if (ok && !set.empty())
        ok = Exec({"cp", "-r", JoinPath(cache, "apt-repo-" + set), JoinPath(ctx, "apt-repo")})
                 .exit_code == 0;
      // The CAs of an intercepting TLS proxy, as users behind one add them (none: no proxy).
      std::string cas = JoinPath(ctx, "ca-certificates");
      ok = ok && MakeDirs(cas, 0755).ok();
      ok = ok && Exec({"sh", "-c",
                       "for f in /usr/local/share/ca-certificates/*.crt; do [ ! -e \"$f\" ] || "
                       "cp \"$f\" \"$0\" || exit 1; done",
                       cas})
                         .exit_code == 0;
      if (!ok) {
        s.skip = "cannot prepare the context of the " + name + " stand-in";
        return;
      }
      auto tb = std::chrono::steady_clock::now();
      err = Ocibuild({"--build-arg", "DEBIAN=" + debian, "-t", ref, "--push", ctx}, &rc);
      if (rc != 0) {
        s.failure = "building the " + name + " stand-in base failed:\n" + err;
        return;
      }
      std::cerr << "stand-in " << name << ": " << Seconds(tb) << "s\n";
      (void)Exec({"rm", "-rf", ctx});
      for (const auto& up : b.replaces) s.from[up] = ref;
    }
    std::cerr << "bases built in " << Seconds(t0) << "s\n";

    // Docker runs the images and builds them with BuildKit where its daemon is reachable: as
    // root outside a container (scripts/dockerd.sh).
    if (::geteuid() == 0 && Env("OCIBUILD_IN_CONTAINER") != "1") {
      auto host = Exec({JoinPath(src, "scripts/dockerd.sh"), "start"});
      if (host.exit_code == 0) s.docker_host = std::string(TrimSpace(host.out));
    }
    if (s.docker_host.empty())
      std::cerr << "*** no Docker daemon here (root only): images are neither run nor compared "
                   "with BuildKit's ***\n";
  }

  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }

  void SetUp() override {
    if (!shared_->skip.empty()) GTEST_SKIP() << shared_->skip;
    if (!shared_->failure.empty()) FAIL() << shared_->failure;
  }

  // A new scratch directory for the next application.
  void Fresh() {
    tmp_.reset();
    auto d = TempDir::Create("app-", shared_->tmp->path());
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    ::chmod(tmp_->path().c_str(), 0755);
  }

  std::string Out(const std::string& name) const { return JoinPath(tmp_->path(), name); }
  std::string Tag(const std::string& app) const {
    return shared_->registry->host() + "/real-world/" + app + ":" + std::to_string(::getpid());
  }
  std::map<std::string, std::string> DockerEnv() const {
    return {{"DOCKER_HOST", shared_->docker_host}, {"DOCKER_BUILDKIT", "1"}};
  }

  // testdata/real-world/APP with each upstream FROM reference replaced by its stand-in: the one
  // change every Dockerfile of the corpus gets (testdata/real-world/README.md).
  std::string Context(const std::string& app) {
    std::string ctx = Out("ctx");
    std::string src = Env("OCIBUILD_SOURCE_DIR");
    EXPECT_EQ(Exec({"cp", "-r", JoinPath(src, "testdata/real-world/" + app), ctx}).exit_code, 0);
    std::string df = JoinPath(ctx, "Dockerfile");
    auto text = ReadFile(df);
    EXPECT_TRUE(text.ok());
    std::string out;
    for (const auto& line : Split(text.ok() ? *text : "", '\n')) {
      std::string l = line;
      if (StartsWith(l, "FROM ")) {
        auto words = Split(l, ' ');
        auto it = shared_->from.find(words[1]);
        if (it != shared_->from.end()) {
          words[1] = it->second;
          l = Join(words, " ");
        }
      }
      out += l + "\n";
    }
    out.pop_back();
    EXPECT_TRUE(WriteFile(df, out).ok());
    return ctx;
  }

  // Builds the context with ocibuild into an OCI layout and pushes it; the image as read back.
  std::optional<ImageView> Build(const std::string& app, const std::string& ctx) {
    auto t0 = std::chrono::steady_clock::now();
    int rc = 0;
    std::string err = Ocibuild(
        {"--output", "type=oci,dest=" + Out("layout"), "-t", Tag(app), "--push", ctx}, &rc);
    std::cerr << app << ": ocibuild " << Seconds(t0) << "s\n";
    EXPECT_EQ(rc, 0) << err;
    if (rc != 0) return std::nullopt;
    log_ = err;
    auto v = bki::ReadOciLayout(Out("layout"));
    EXPECT_TRUE(v.ok()) << v.error().message;
    if (!v.ok()) return std::nullopt;
    return std::move(*v);
  }

  // The same context built by Docker's BuildKit, as `docker save` gives it; nullopt without a
  // daemon (or when that build fails, which fails the test).
  std::optional<ImageView> BuildKit(const std::string& app, const std::string& ctx) {
    if (shared_->docker_host.empty()) return std::nullopt;
    auto t0 = std::chrono::steady_clock::now();
    std::string tag = "real-world-buildkit/" + app + ":" + std::to_string(::getpid());
    // The test daemon has no bridge network (scripts/dockerd.sh): RUN steps use the host's.
    auto b = Exec({DockerCli(), "build", "--progress=plain", "--network", "host", "-t", tag, ctx},
                  DockerEnv());
    std::cerr << app << ": BuildKit " << Seconds(t0) << "s\n";
    EXPECT_EQ(b.exit_code, 0) << b.err;
    if (b.exit_code != 0) return std::nullopt;
    std::string tar = Out("buildkit.tar");
    auto s = Exec({DockerCli(), "save", "-o", tar, tag}, DockerEnv());
    (void)Exec({DockerCli(), "rmi", "-f", tag}, DockerEnv());
    EXPECT_EQ(s.exit_code, 0) << s.err;
    if (s.exit_code != 0) return std::nullopt;
    auto v = bki::ReadDockerArchive(tar);
    ::unlink(tar.c_str());
    EXPECT_TRUE(v.ok()) << v.error().message;
    if (!v.ok()) return std::nullopt;
    return std::move(*v);
  }

  // Entry by entry (paths, types, modes, owners, sizes, link targets, file digests) and the
  // config (Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, ..., history). Differences
  // containing one of `random` are what two BuildKit builds of the same thing differ in; the
  // known differences below (each with its reason) are counted and shown, not failed on.
  void ExpectSameAsBuildKit(const std::string& app, const ImageView& ours, ImageView theirs,
                            const std::vector<std::string>& random = {}) {
    std::vector<std::string> known = DropCopyUps(ours, theirs);
    std::vector<std::string> diffs;
    for (auto& d : bki::CompareImages(ours, theirs, {})) {
      bool skip = false;
      for (const auto& r : random) skip = skip || d.find(r) != std::string::npos;
      if (skip) {
        known.push_back("random per build: " + d);
      } else if (d.find("history[") == 0 && OlderBuildKitHistory(d)) {
        known.push_back("Debian's BuildKit 0.8 history text: " + d);
      } else {
        diffs.push_back(d);
      }
    }
    EXPECT_TRUE(diffs.empty()) << app << " differs from BuildKit's image (" << diffs.size()
                               << " differences):\n  " << Join(diffs, "\n  ");
    std::cerr << app << ": compared with BuildKit's image: " << diffs.size() << " difference(s), "
              << known.size() << " known:\n  " << Join(known, "\n  ") << "\n";
  }

  // dockerd 20.10 (Debian 12) carries BuildKit 0.8, whose history leaves COPY's flags out and
  // prints EXPOSE's ports as a Go map; ocibuild writes what current BuildKit writes
  // ("COPY --chown=a:b src dest", "EXPOSE [3000/tcp]"). Same instruction, older wording.
  static bool OlderBuildKitHistory(const std::string& d) {
    auto o = d.find("ocibuild \"");
    auto k = d.find(", docker \"");
    if (o == std::string::npos || k == std::string::npos) return false;
    std::string a = d.substr(o + 10, k - o - 11), b = d.substr(k + 10, d.size() - k - 11);
    if (StartsWith(a, "EXPOSE [") && StartsWith(b, "EXPOSE map[")) return true;
    if (StartsWith(a, "COPY --") || StartsWith(a, "ADD --")) {
      std::vector<std::string> kept;
      for (const auto& w : Split(a, ' '))
        if (!StartsWith(w, "--chown=") && !StartsWith(w, "--chmod=")) kept.push_back(w);
      return Join(kept, " ") == b;
    }
    return false;
  }

  // Files a RUN step opened for writing without changing them: overlayfs copies them up, so
  // BuildKit's layer records them again as they were; ocibuild's layers hold what changed
  // (reported: a sandbox matter). Removed from BuildKit's layers, and listed, when the entry is
  // exactly what ocibuild's image already had below that layer.
  static std::vector<std::string> DropCopyUps(const ImageView& ours, ImageView& theirs) {
    std::vector<std::string> dropped;
    for (size_t i = 1; i < theirs.layers.size() && i < ours.layers.size(); ++i) {
      for (auto it = theirs.layers[i].begin(); it != theirs.layers[i].end();) {
        const std::string& p = it->first;
        const FsEntry* below = nullptr;
        if (!ours.layers[i].count(p)) {
          for (size_t j = i; j-- > 0 && !below;) {
            auto f = ours.layers[j].find(p);
            if (f != ours.layers[j].end()) below = &f->second;
          }
        }
        if (below && Same(*below, it->second)) {
          dropped.push_back("unchanged file copied up by overlayfs: layer[" + std::to_string(i) +
                            "]:" + (p.empty() ? "/" : p));
          it = theirs.layers[i].erase(it);
        } else {
          ++it;
        }
      }
    }
    return dropped;
  }

  static bool Same(const FsEntry& a, const FsEntry& b) {
    return a.type == b.type && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid &&
           a.content == b.content && a.link == b.link;
  }

  // A container of IMAGE (pulled from the registry) serving on a free port of the host's
  // network: GET PATH's body, retried until the server is up (60 s); "" on failure.
  std::string Serve(const std::string& image, const std::string& path,
                    const std::vector<std::string>& run_args = {}) {
    if (shared_->docker_host.empty()) return "";
    auto pull = Exec({DockerCli(), "pull", "-q", image}, DockerEnv());
    EXPECT_EQ(pull.exit_code, 0) << pull.err;
    int port = FreePort();
    std::vector<std::string> argv = {
        DockerCli(), "run", "-d", "--network", "host", "-e", "PORT=" + std::to_string(port)};
    argv.insert(argv.end(), run_args.begin(), run_args.end());
    argv.push_back(image);
    auto run = Exec(argv, DockerEnv());
    EXPECT_EQ(run.exit_code, 0) << run.err;
    std::string id(TrimSpace(run.out));
    std::string body;
    bool ok = false;
    for (int i = 0; i < 120 && !ok; ++i) {
      auto c = Exec({"curl", "-sS", "--fail", "--max-time", "5",
                     "http://127.0.0.1:" + std::to_string(port) + path});
      if (c.exit_code == 0) {
        body = c.out;
        ok = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
      }
    }
    if (!ok) {
      auto logs = Exec({DockerCli(), "logs", id}, DockerEnv());
      ADD_FAILURE() << image << " did not answer on port " << port << ":\n" << logs.out << logs.err;
    }
    (void)Exec({DockerCli(), "rm", "-f", id}, DockerEnv());
    return body;
  }

  // `docker run --rm IMAGE ARGS...`; nullopt without a daemon.
  std::optional<ProcessResult> Run(const std::string& image,
                                   const std::vector<std::string>& args = {}) {
    if (shared_->docker_host.empty()) return std::nullopt;
    auto pull = Exec({DockerCli(), "pull", "-q", image}, DockerEnv());
    EXPECT_EQ(pull.exit_code, 0) << pull.err;
    std::vector<std::string> argv = {DockerCli(), "run", "--rm", "--network", "none", image};
    argv.insert(argv.end(), args.begin(), args.end());
    return Exec(argv, DockerEnv());
  }

  void RemoveImage(const std::string& image) {
    if (!shared_->docker_host.empty()) (void)Exec({DockerCli(), "rmi", "-f", image}, DockerEnv());
  }

  void NextJsWithDocker();
  void ExpressApi();
  void FlaskUnderGunicorn();
  void GoMultiStage();
  void GccSingleFile();

  std::unique_ptr<TempDir> tmp_;
  std::string log_;  // ocibuild's progress output of the last build
};

Shared* RealWorld::shared_ = nullptr;

std::string Describe(const ImageView& v, const std::string& path) {
  const FsEntry* e = v.Find(path);
  if (!e) return "(absent)";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", e->mode);
  return std::string(1, e->type) + " " + mode + " " + std::to_string(e->uid) + ":" +
         std::to_string(e->gid);
}

nlohmann::json Cfg(const ImageView& v, const char* key) {
  const auto& c = v.config["config"];
  return c.contains(key) ? c[key] : nlohmann::json();
}

// Next.js names a build with a random id (.next/BUILD_ID) that appears in paths and contents;
// replaced by a fixed word in both images so that the rest can be compared.
void NormalizeBuildId(ImageView& v) {
  const FsEntry* e = v.Find("app/.next/BUILD_ID");
  if (!e || e->content.size() < 8) return;
  std::string id = e->content;
  auto fix = [&](std::string s) {
    for (size_t p = 0; (p = s.find(id, p)) != std::string::npos; p += 8)
      s.replace(p, id.size(), "BUILD_ID");
    return s;
  };
  for (auto& layer : v.layers) {
    FsMap out;
    for (auto& [path, entry] : layer) {
      FsEntry n = entry;
      n.content = fix(n.content);
      n.link = fix(n.link);
      out[fix(path)] = std::move(n);
    }
    layer = std::move(out);
  }
}

void RealWorld::NextJsWithDocker() {
  Fresh();
  std::string ctx = Context("nextjs");
  auto ours = Build("nextjs", ctx);
  ASSERT_TRUE(ours);
  EXPECT_EQ(Cfg(*ours, "User"), "nextjs");
  EXPECT_EQ(Cfg(*ours, "WorkingDir"), "/app");
  EXPECT_EQ(Cfg(*ours, "Cmd"),
            nlohmann::json::array({"/bin/sh", "-c", "HOSTNAME=\"0.0.0.0\" node server.js"}));
  EXPECT_NE(Cfg(*ours, "Env").dump().find("NODE_ENV=production"), std::string::npos);
  EXPECT_NE(Cfg(*ours, "Env").dump().find("PORT=3000"), std::string::npos);
  EXPECT_TRUE(Cfg(*ours, "ExposedPorts").contains("3000/tcp"));
  // The standalone server, chowned by COPY --chown=nextjs:nodejs; the prerender cache directory
  // made and chowned by RUN; public/ copied as root.
  EXPECT_EQ(Describe(*ours, "app/server.js"), "f 0644 1001:1001");
  EXPECT_EQ(Describe(*ours, "app/.next"), "d 0755 1001:1001");
  EXPECT_EQ(Describe(*ours, "app/.next/BUILD_ID"), "f 0644 1001:1001");
  EXPECT_EQ(Describe(*ours, "app/node_modules/next/package.json"), "f 0644 1001:1001");
  EXPECT_EQ(Describe(*ours, "app/public/logo.svg"), "f 0644 0:0");
  EXPECT_TRUE(ours->Find("app/.next/static")) << "the static assets were not copied";
  // Not the build stages' node_modules (only what the output tracing kept) nor the sources.
  EXPECT_FALSE(ours->Find("app/node_modules/typescript"));
  EXPECT_FALSE(ours->Find("app/app/page.js"));
  std::string body = Serve(Tag("nextjs"), "/");
  if (!shared_->docker_host.empty()) {
    EXPECT_NE(body.find("Next.js standalone, built by ocibuild"), std::string::npos) << body;
    std::string api = Serve(Tag("nextjs"), "/api/hello");
    EXPECT_NE(api.find("\"hello\":\"from next\""), std::string::npos) << api;
    RemoveImage(Tag("nextjs"));
  }
  if (auto theirs = BuildKit("nextjs", ctx)) {
    NormalizeBuildId(*ours);
    NormalizeBuildId(*theirs);
    // Next.js makes new preview-mode keys and a new server-action encryption key each build,
    // and writes the pages manifest in the order its build workers finish.
    ExpectSameAsBuildKit(
        "nextjs", *ours, std::move(*theirs),
        {":app/.next/prerender-manifest.json:", ":app/.next/server/server-reference-manifest.json:",
         ":app/.next/server/pages-manifest.json:"});
  }
}

void RealWorld::ExpressApi() {
  Fresh();
  std::string ctx = Context("express");
  auto ours = Build("express", ctx);
  ASSERT_TRUE(ours);
  EXPECT_EQ(Cfg(*ours, "WorkingDir"), "/usr/src/app");
  EXPECT_EQ(Cfg(*ours, "Cmd"), nlohmann::json::array({"node", "server.js"}));
  EXPECT_TRUE(Cfg(*ours, "ExposedPorts").contains("8080/tcp"));
  EXPECT_EQ(Describe(*ours, "usr/src/app/server.js"), "f 0644 0:0");
  EXPECT_EQ(Describe(*ours, "usr/src/app/node_modules/express/package.json"), "f 0644 0:0");
  EXPECT_TRUE(ours->Find("usr/src/app/package-lock.json"));
  std::string body = Serve(Tag("express"), "/");
  if (!shared_->docker_host.empty()) {
    EXPECT_EQ(body, "Hello World");
    RemoveImage(Tag("express"));
  }
  if (auto theirs = BuildKit("express", ctx)) {
    // npm's cache index records when each package was fetched; its debug log is named by the
    // time of the run.
    ExpectSameAsBuildKit("express", *ours, std::move(*theirs),
                         {":root/.npm/_cacache/index-v5/", ":root/.npm/_logs/"});
  }
}

void RealWorld::FlaskUnderGunicorn() {
  Fresh();
  std::string ctx = Context("python");
  auto ours = Build("python", ctx);
  ASSERT_TRUE(ours);
  // pip found both requirements satisfied by the stand-in's Debian packages.
  EXPECT_NE(log_.find("Requirement already satisfied: Flask==2.2.2"), std::string::npos) << log_;
  EXPECT_EQ(Cfg(*ours, "WorkingDir"), "/app");
  EXPECT_EQ(Cfg(*ours, "Cmd"),
            nlohmann::json::array(
                {"/bin/sh", "-c",
                 "exec gunicorn --bind :$PORT --workers 1 --threads 8 --timeout 0 main:app"}));
  EXPECT_NE(Cfg(*ours, "Env").dump().find("APP_HOME=/app"), std::string::npos);
  EXPECT_EQ(Describe(*ours, "app/main.py"), "f 0644 0:0");
  EXPECT_EQ(Describe(*ours, "usr/bin/gunicorn"), "f 0755 0:0");
  std::string body = Serve(Tag("python"), "/", {"-e", "NAME=ocibuild"});
  if (!shared_->docker_host.empty()) {
    EXPECT_EQ(body, "Hello ocibuild!");
    RemoveImage(Tag("python"));
  }
  if (auto theirs = BuildKit("python", ctx))
    ExpectSameAsBuildKit("python", *ours, std::move(*theirs));
}

void RealWorld::GoMultiStage() {
  Fresh();
  std::string ctx = Context("go");
  auto ours = Build("go", ctx);
  ASSERT_TRUE(ours);
  EXPECT_EQ(Cfg(*ours, "User"), "nonroot:nonroot");
  EXPECT_EQ(Cfg(*ours, "Entrypoint"), nlohmann::json::array({"/docker-gs-ping"}));
  EXPECT_TRUE(Cfg(*ours, "ExposedPorts").contains("8080/tcp"));
  EXPECT_EQ(Describe(*ours, "docker-gs-ping"), "f 0755 0:0");
  EXPECT_FALSE(ours->Find("usr/bin/go")) << "the build stage leaked into the release image";
  EXPECT_FALSE(ours->Find("app/main.go"));
  EXPECT_EQ(log_.find("go test"), std::string::npos) << "the unused test stage ran";
  std::string body = Serve(Tag("go"), "/");
  if (!shared_->docker_host.empty()) {
    EXPECT_EQ(body, "Hello, Docker! <3");
    auto r = Run(Tag("go"), {"-version"});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->exit_code, 0) << r->err;
    EXPECT_EQ(r->out, "docker-gs-ping, uid 65532\n");
    RemoveImage(Tag("go"));
  }
  if (auto theirs = BuildKit("go", ctx)) ExpectSameAsBuildKit("go", *ours, std::move(*theirs));
}

void RealWorld::GccSingleFile() {
  Fresh();
  std::string ctx = Context("c");
  auto ours = Build("c", ctx);
  ASSERT_TRUE(ours);
  EXPECT_EQ(Cfg(*ours, "WorkingDir"), "/usr/src/myapp");
  EXPECT_EQ(Cfg(*ours, "Cmd"), nlohmann::json::array({"./myapp"}));
  EXPECT_EQ(Describe(*ours, "usr/src/myapp/myapp"), "f 0755 0:0");
  EXPECT_EQ(Describe(*ours, "usr/src/myapp/main.c"), "f 0644 0:0");
  if (auto r = Run(Tag("c"), {"./myapp", "a", "b"})) {
    EXPECT_EQ(r->exit_code, 0) << r->err;
    EXPECT_EQ(r->out, "Hello from C, built with gcc 12.2, 2 argument(s), fnv1a 4d2505ca, uid 0\n");
    RemoveImage(Tag("c"));
  }
  if (auto theirs = BuildKit("c", ctx)) ExpectSameAsBuildKit("c", *ours, std::move(*theirs));
}

// One test for the corpus: the stand-in bases take minutes to build, and each test of a suite
// runs in a process of its own under ctest.
TEST_F(RealWorld, UpstreamDockerfiles) {
  auto t0 = std::chrono::steady_clock::now();
  {
    SCOPED_TRACE("nextjs");
    NextJsWithDocker();
  }
  {
    SCOPED_TRACE("express");
    ExpressApi();
  }
  {
    SCOPED_TRACE("python");
    FlaskUnderGunicorn();
  }
  {
    SCOPED_TRACE("go");
    GoMultiStage();
  }
  {
    SCOPED_TRACE("c");
    GccSingleFile();
  }
  std::cerr << "applications built, run and compared in " << Seconds(t0) << "s\n";
}

}  // namespace
}  // namespace ocibuild
