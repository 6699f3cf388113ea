// A realistic Debian build, end to end: ocibuild makes a Debian base image from a debootstrap
// tarball, pushes it to a real docker-registry, then builds a multi-stage application on it
// (apt-get install from a local repository, useradd -m, chown -R, COPY --chown, USER) and the
// result is checked layer by layer, with skopeo, and by `docker run` where a daemon runs.
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

using testing::Env;
using testing::Exec;

TEST(DebianE2E, BaseImageAptUseraddChownUser) {
  std::string missing = registry::testing::MissingTools({"docker-registry", "skopeo", "tar", "cp"});
  if (!missing.empty()) GTEST_SKIP() << missing;
  std::string base_tar = Env("OCIBUILD_DEBIAN_BASE");
  std::string build_dir = Env("OCIBUILD_BUILD_DIR");
  if (base_tar.empty()) base_tar = JoinPath(build_dir, "cache/debian-minbase.tar");
  std::string repo = JoinPath(build_dir, "cache/apt-repo");
  if (!PathExists(base_tar) || !PathExists(JoinPath(repo, "Packages")))
    GTEST_SKIP() << "needs the Debian minbase tarball and the local apt repository: run "
                    "scripts/debian-base.sh and scripts/local-apt-repo.sh as root first";
  std::string bin = Env("OCIBUILD_BINARY");
  std::string src = Env("OCIBUILD_SOURCE_DIR");
  auto tmp = TempDir::Create("ocibuild-debian-e2e-");
  ASSERT_TRUE(tmp.ok());
  std::string state = JoinPath(tmp->path(), "state");
  std::map<std::string, std::string> env = {{"OCIBUILD_ROOT", state}};

  auto reg = registry::testing::TestRegistry::Start(registry::testing::AuthMode::kNone);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  std::string base_ref = (*reg)->host() + "/e2e/debian:12";
  std::string app_ref = (*reg)->host() + "/e2e/app:1";

  // 1. The base image, from the debootstrap tarball.
  std::string base_ctx = JoinPath(tmp->path(), "base");
  ASSERT_EQ(Exec({"cp", "-r", JoinPath(src, "testdata/e2e/debian-base"), base_ctx}).exit_code, 0);
  ASSERT_EQ(Exec({"cp", base_tar, JoinPath(base_ctx, "debian-minbase.tar")}).exit_code, 0);
  auto b = Exec({bin, "--progress=plain", "-t", base_ref, base_ctx}, env);
  ASSERT_EQ(b.exit_code, 0) << b.err;

  // 2. The application on top of it.
  std::string ctx = JoinPath(tmp->path(), "app");
  ASSERT_EQ(Exec({"cp", "-r", JoinPath(src, "testdata/e2e/debian"), ctx}).exit_code, 0);
  ASSERT_EQ(Exec({"cp", "-r", repo, JoinPath(ctx, "apt-repo")}).exit_code, 0);
  std::string layout = JoinPath(tmp->path(), "layout");
  auto a = Exec({bin, "--progress=plain", "--build-arg", "BASE=" + base_ref, "-t", app_ref,
                 "--output", "type=oci,dest=" + layout, "--push", ctx},
                env);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.err.find("Setting up hello"), std::string::npos) << a.err;

  // Layer by layer: what each step did, with the owners and modes it set.
  auto read_json = [](const std::string& p) { return nlohmann::json::parse(*ReadFile(p)); };
  auto index = read_json(JoinPath(layout, "index.json"));
  std::string md = index["manifests"][0]["digest"];
  auto manifest = read_json(JoinPath(layout, "blobs/sha256/" + md.substr(7)));
  std::string all;
  for (const auto& l : manifest["layers"]) {
    std::string d = l["digest"];
    auto t =
        Exec({"tar", "--numeric-owner", "-tvzf", JoinPath(layout, "blobs/sha256/" + d.substr(7))});
    ASSERT_EQ(t.exit_code, 0) << t.err;
    all += t.out;
  }
  auto has = [&](const std::string& what) { return all.find(what) != std::string::npos; };
  // "mode uid/gid" of the last entry for `path` in the layers (the top layer wins).
  auto entry = [&](const std::string& path) {
    std::string found;
    for (const auto& line : Split(all, '\n')) {
      if (EndsWith(line, " " + path) || line.find(" " + path + " -> ") != std::string::npos) {
        auto f = Split(line, ' ');
        found = f[0] + " " + f[1];
      }
    }
    return found;
  };
  EXPECT_EQ(entry("usr/bin/hello"), "-rwxr-xr-x 0/0");
  EXPECT_EQ(entry("usr/bin/tree"), "-rwxr-xr-x 0/0");
  EXPECT_FALSE(has("srv/repo")) << "the bind mount leaked into a layer";
  // useradd -m: Debian's login.defs has UMASK 022 and no HOME_MODE, so the home is 0755.
  EXPECT_EQ(entry("home/app/"), "drwxr-xr-x 1001/1001");
  EXPECT_EQ(entry("home/app/.bashrc"), "-rw-r--r-- 1001/1001");
  EXPECT_EQ(entry("etc/shadow"), "-rw-r----- 0/42");  // root:shadow 0640 kept through useradd
  EXPECT_EQ(entry("srv/app/data/state.txt"), "-rw-r--r-- 1001/1001");
  EXPECT_EQ(entry("srv/app/app.sh"), "-rwxr-x--- 1001/1001");
  EXPECT_EQ(entry("srv/app/greeting.txt"), "-rw-r--r-- 0/0");
  auto cfg = read_json(JoinPath(
      layout, "blobs/sha256/" + manifest["config"]["digest"].get<std::string>().substr(7)));
  EXPECT_EQ(cfg["config"]["User"], "app");
  EXPECT_EQ(cfg["config"]["WorkingDir"], "/srv/app");

  // The pushed image is what the layout holds.
  ASSERT_TRUE(WriteFileAtomic(JoinPath(tmp->path(), "auth.json"), "{}\n", 0600).ok());
  auto s = Exec({"skopeo", "inspect", "--authfile", JoinPath(tmp->path(), "auth.json"),
                 "--tls-verify=false", "docker://" + app_ref});
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find(md), std::string::npos);

  // Run it where a Docker daemon is available.
  auto host = Exec({JoinPath(src, "scripts/dockerd.sh"), "start"});
  if (host.exit_code != 0) GTEST_SKIP() << "no Docker daemon here; the image was not run";
  std::map<std::string, std::string> denv = {{"DOCKER_HOST", std::string(TrimSpace(host.out))}};
  std::string docker = PathExists("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
  auto pull = Exec({docker, "pull", app_ref}, denv);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  auto run = Exec({docker, "run", "--rm", "--network", "none", app_ref}, denv);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "Hello, world!\nuser=app home=/home/app\n/srv/app/data\n`-- state.txt\n");
  (void)Exec({docker, "rmi", "-f", app_ref}, denv);
}

}  // namespace
}  // namespace ocibuild
