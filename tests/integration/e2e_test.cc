// End-to-end: the real `ocibuild` binary builds real Dockerfiles; the results are checked with
// real validators (skopeo, umoci, tar, docker) and pushed to a real docker-registry. Runs as
// root, again as an unprivileged user and again inside `docker run --user 1000 --cap-drop=ALL`;
// tests that need a tool the environment lacks skip and say which.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/integration_testing.h"
#include "tests/registry/registry_fixture.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using registry::testing::HaveTool;
using testing::Busybox;
using testing::Env;

class E2E : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = Env("OCIBUILD_BINARY");
    ASSERT_FALSE(bin_.empty()) << "OCIBUILD_BINARY not set";
    if (Busybox().empty()) GTEST_SKIP() << "no static busybox on this machine";
    auto d = TempDir::Create("ocibuild-e2e-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    state_ = JoinPath(tmp_->path(), "state");
  }

  // Copies a context from the source tree (examples/NAME or testdata/e2e/NAME) and adds busybox.
  std::string Context(const std::string& rel) {
    std::string dst = JoinPath(tmp_->path(), "ctx-" + std::to_string(ctx_seq_++));
    auto r = RunProcess({"cp", "-r", JoinPath(Env("OCIBUILD_SOURCE_DIR"), rel), dst});
    EXPECT_TRUE(r.ok() && r->success()) << rel;
    r = RunProcess({"cp", Busybox(), JoinPath(dst, "busybox")});
    EXPECT_TRUE(r.ok() && r->success());
    return dst;
  }

  // AWrongImportedMemoNeverKeys*: see there.
  void ImportWrongMemo(const std::string& context, const std::string& step);

  ProcessResult Build(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {bin_, "--progress=plain"};
    argv.insert(argv.end(), args.begin(), args.end());
    SpawnOptions o;
    o.extra_env = std::move(env);
    o.extra_env["OCIBUILD_ROOT"] = state_;
    auto r = RunProcess(argv, o);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : ProcessResult{};
  }

  // A build of a cache test's context with `step` in its step.txt (the change a rebuild starts
  // from); `cached` false: with neither the step cache nor the unpacked-tree cache.
  ProcessResult BuildStep(const std::string& ctx, const std::string& step,
                          std::vector<std::string> args, std::map<std::string, std::string> env,
                          bool cached) {
    EXPECT_TRUE(WriteFile(JoinPath(ctx, "step.txt"), step + "\n").ok());
    if (!cached) {
      env["OCIBUILD_ROOTFS_CACHE"] = "0";
      args.push_back("--no-cache");
    }
    args.push_back(ctx);
    auto r = Build(std::move(args), std::move(env));
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r;
  }

  std::string Out(const std::string& name) { return JoinPath(tmp_->path(), name); }

  nlohmann::json ReadJson(const std::string& path) {
    auto t = ReadFile(path);
    EXPECT_TRUE(t.ok()) << path;
    return nlohmann::json::parse(t.ok() ? *t : "{}");
  }

  // The manifest of the single image in an OCI layout directory.
  nlohmann::json LayoutManifest(const std::string& layout) {
    auto index = ReadJson(JoinPath(layout, "index.json"));
    std::string d = index["manifests"][0]["digest"];
    return ReadJson(JoinPath(layout, "blobs/sha256/" + d.substr(7)));
  }
  nlohmann::json LayoutConfig(const std::string& layout) {
    std::string d = LayoutManifest(layout)["config"]["digest"];
    return ReadJson(JoinPath(layout, "blobs/sha256/" + d.substr(7)));
  }
  // `tar tv` of layer N: "mode uid/gid size date time name" lines.
  std::string LayerListing(const std::string& layout, size_t n) {
    auto m = LayoutManifest(layout);
    std::string d = m["layers"][n]["digest"];
    auto r = RunProcess(
        {"tar", "--numeric-owner", "-tvzf", JoinPath(layout, "blobs/sha256/" + d.substr(7))});
    EXPECT_TRUE(r.ok() && r->success());
    return r.ok() ? r->out : "";
  }

  std::string bin_;
  std::unique_ptr<TempDir> tmp_;
  std::string state_;
  int ctx_seq_ = 0;
};

TEST_F(E2E, HelloExampleToOciLayout) {
  std::string ctx = Context("examples/hello");
  std::string layout = Out("layout");
  auto r = Build({"-t", "localhost/hello:1", "--output", "type=oci,dest=" + layout, "--iidfile",
                  Out("iid"), "--metadata-file", Out("meta.json"), ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;

  auto cfg = LayoutConfig(layout);
  EXPECT_EQ(cfg["config"]["User"], "app");
  EXPECT_EQ(cfg["config"]["WorkingDir"], "/app");
  EXPECT_EQ(cfg["config"]["Cmd"], nlohmann::json::array({"/app/hello.sh"}));
  EXPECT_EQ(cfg["config"]["Labels"]["org.opencontainers.image.title"], "ocibuild hello example");
  EXPECT_EQ(cfg["config"]["Env"][1], "GREETING=hello from ocibuild");
  EXPECT_EQ(cfg["os"], "linux");
  auto manifest = LayoutManifest(layout);
  EXPECT_EQ(manifest["layers"].size(), cfg["rootfs"]["diff_ids"].size());
  size_t layered = 0;
  for (const auto& h : cfg["history"]) layered += h.value("empty_layer", false) ? 0 : 1;
  EXPECT_EQ(layered, manifest["layers"].size());

  // What the RUN's `chown -R app:app` did is in its layer, owner and all.
  bool found = false;
  for (size_t i = 0; i < manifest["layers"].size(); ++i) {
    std::string listing = LayerListing(layout, i);
    if (listing.find("app/greeting.txt") == std::string::npos) continue;
    found = true;
    EXPECT_NE(listing.find("-rw-r--r-- 1000/1000"), std::string::npos) << listing;
    EXPECT_NE(listing.find("drwxr-xr-x 1000/1000         0"), std::string::npos) << listing;
  }
  EXPECT_TRUE(found);

  auto meta = ReadJson(Out("meta.json"));
  EXPECT_EQ(meta["containerimage.config.digest"], *ReadFile(Out("iid")));
  EXPECT_EQ(meta["image.name"], "localhost/hello:1");

  if (HaveTool("skopeo")) {
    auto s = RunProcess({"skopeo", "inspect", "oci:" + layout + ":1"});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->exit_code, 0) << s->err;
    EXPECT_NE(s->out.find(meta["containerimage.digest"].get<std::string>()), std::string::npos);
  }
  if (HaveTool("umoci")) {
    std::string bundle = Out("bundle");
    auto u = RunProcess({"umoci", "unpack", "--rootless", "--image", layout + ":1", bundle});
    ASSERT_TRUE(u.ok());
    ASSERT_EQ(u->exit_code, 0) << u->err;
    EXPECT_EQ(*ReadFile(JoinPath(bundle, "rootfs/app/greeting.txt")), "hello from ocibuild\n");
    struct stat st;
    ASSERT_EQ(::stat(JoinPath(bundle, "rootfs/app/hello.sh").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0755u);
  }
}

// -o ...,compression=: BuildKit's output attributes pick how this run's layers are compressed.
TEST_F(E2E, LayerCompressionFollowsTheOutputAttributes) {
  std::string ctx = Context("examples/hello");
  struct Case {
    std::string attrs, media_suffix;
    std::vector<std::string> check;  // a command that reads the blob (appended)
  };
  std::vector<Case> cases = {
      {"compression=zstd,compression-level=5", "tar+zstd", {"zstd", "-t", "-q"}},
      {"compression=gzip,compression-level=6", "tar+gzip", {"gzip", "-t"}},
      {"compression=uncompressed", "tar", {"tar", "-tf"}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].attrs);
    std::string layout = Out("layout-c" + std::to_string(i));
    // --no-cache: cached layers keep the compression they were made with, as in BuildKit.
    auto r = Build({"--no-cache", "-o", "type=oci,dest=" + layout + "," + cases[i].attrs, ctx});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto manifest = LayoutManifest(layout);
    ASSERT_FALSE(manifest["layers"].empty());
    for (const auto& l : manifest["layers"]) {
      EXPECT_EQ(l["mediaType"], "application/vnd.oci.image.layer.v1." + cases[i].media_suffix);
      if (!HaveTool(cases[i].check[0])) continue;
      std::vector<std::string> argv = cases[i].check;
      std::string d = l["digest"];
      argv.push_back(JoinPath(layout, "blobs/sha256/" + d.substr(7)));
      auto c = RunProcess(argv);
      ASSERT_TRUE(c.ok());
      EXPECT_EQ(c->exit_code, 0) << c->err;
    }
  }
  auto bad = Build({"-o", "type=oci,dest=" + Out("bad") + ",compression=lz4", ctx});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("one of gzip, zstd, uncompressed"), std::string::npos) << bad.err;
}

TEST_F(E2E, RebuildIsCachedAndReproducible) {
  std::string ctx = Context("examples/hello");
  std::map<std::string, std::string> env = {{"SOURCE_DATE_EPOCH", "1700000000"}};
  auto a = Build({"--digest-file", Out("d1"), ctx}, env);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto b = Build({"--digest-file", Out("d2"), ctx}, env);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_EQ(*ReadFile(Out("d1")), *ReadFile(Out("d2")));
  // Every filesystem step of the second build came from the cache.
  for (const char* step : {"RUN mkdir", "COPY busybox", "WORKDIR /app"}) {
    size_t at = b.err.find(step);
    ASSERT_NE(at, std::string::npos) << step << "\n" << b.err;
    // The line after "#N <step>" is "#N CACHED".
    size_t eol = b.err.find('\n', at);
    size_t next_eol = b.err.find('\n', eol + 1);
    std::string next = b.err.substr(eol + 1, next_eol - eol - 1);
    EXPECT_TRUE(EndsWith(next, " CACHED")) << step << ": " << next << "\n" << b.err;
  }
  // --no-cache runs everything again, and still gives the same image.
  auto c = Build({"--no-cache", "--digest-file", Out("d3"), ctx}, env);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(c.err.find("CACHED"), std::string::npos);
  EXPECT_EQ(*ReadFile(Out("d1")), *ReadFile(Out("d3")));
}

TEST_F(E2E, ChangedSourceRebuildsFromThatStepOnly) {
  std::string ctx = Context("testdata/e2e/cache");
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v1\n").ok());
  auto a = Build({"--output", "type=oci,dest=" + Out("l1"), ctx});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v2\n").ok());
  auto b = Build({"--output", "type=oci,dest=" + Out("l2"), ctx});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  // Steps 2 and 3 cached; 4 and 5 ran.
  EXPECT_NE(b.err.find("#2 CACHED"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("#3 CACHED"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("#4 DONE"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("#5 DONE"), std::string::npos) << b.err;
  auto m1 = LayoutManifest(Out("l1")), m2 = LayoutManifest(Out("l2"));
  EXPECT_EQ(m1["layers"][1], m2["layers"][1]);
  EXPECT_NE(m1["layers"][2], m2["layers"][2]);
}

// The context's file hashes are kept between builds (builder/context_hash_cache.h): a file
// rewritten with the same size and its old mtime put back must still be read again.
TEST_F(E2E, AContextFileRewrittenBehindItsSizeAndMtimeIsReadAgain) {
  std::string ctx = Context("testdata/e2e/cache");
  std::string app = JoinPath(ctx, "app.txt");
  struct timespec old[2] = {{1'600'000'000, 0}, {1'600'000'000, 0}};
  ASSERT_TRUE(WriteFile(app, "v1\n").ok());
  ASSERT_EQ(::utimensat(AT_FDCWD, app.c_str(), old, 0), 0);
  // Changed (ctime) more than the racy window (2 s) before the build reads it: the hash goes
  // to the state root.
  ::sleep(3);
  auto a = Build({"--output", "type=oci,dest=" + Out("l1"), ctx});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  auto kept = RunProcess({"find", JoinPath(state_, "context-hashes"), "-type", "f"});
  ASSERT_TRUE(kept.ok() && kept->success());
  EXPECT_EQ(Split(TrimSpace(kept->out), '\n').size(), 1u) << kept->out;
  auto same = Build({"--output", "type=oci,dest=" + Out("l2"), ctx});
  ASSERT_EQ(same.exit_code, 0) << same.err;
  EXPECT_NE(same.err.find("#5 CACHED"), std::string::npos) << same.err;
  ASSERT_TRUE(WriteFile(app, "v2\n").ok());
  ASSERT_EQ(::utimensat(AT_FDCWD, app.c_str(), old, 0), 0);
  auto b = Build({"--output", "type=oci,dest=" + Out("l3"), ctx});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.err.find("#4 DONE"), std::string::npos) << b.err;
  EXPECT_NE(LayoutManifest(Out("l1"))["layers"][2], LayoutManifest(Out("l3"))["layers"][2]);
  EXPECT_EQ(LayoutManifest(Out("l1"))["layers"][2], LayoutManifest(Out("l2"))["layers"][2]);
}

// The unpacked-tree cache (OCIBUILD_ROOT/rootfs-cache): a rebuild restores the stage's tree
// instead of unpacking it and gives the very image a --no-cache build gives; RUN steps that
// write cached files in place write private copies, so the cached tree stays as it was.
// A RUN step's processes run on the builder's CPUs: nproc and the affinity mask are the same.
TEST_F(E2E, RunStepsSeeTheBuildersCpus) {
  std::string ctx = JoinPath(tmp_->path(), "ctx-cpus");
  ASSERT_TRUE(MakeDirs(ctx).ok());
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "Dockerfile"),
                        "FROM scratch\n"
                        "COPY busybox /bin/busybox\n"
                        "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n"
                        "RUN nproc > /nproc && grep Cpus_allowed_list: /proc/self/status | "
                        "cut -f2 > /cpus\n")
                  .ok());
  auto cp = RunProcess({"cp", Busybox(), JoinPath(ctx, "busybox")});
  ASSERT_TRUE(cp.ok() && cp->success());
  cpu_set_t set;
  ASSERT_EQ(::sched_getaffinity(0, sizeof set, &set), 0);
  std::string nproc = std::to_string(CPU_COUNT(&set)) + "\n";
  std::string cpus;
  {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
      if (StartsWith(line, "Cpus_allowed_list:")) cpus = line.substr(line.find('\t') + 1) + "\n";
  }
  auto r = Build({"--output", "type=local,dest=" + Out("cpus"), ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ReadFile(Out("cpus/nproc")), nproc);
  EXPECT_EQ(*ReadFile(Out("cpus/cpus")), cpus);
}

TEST_F(E2E, RebuildRestoresTheUnpackedTreeAndNeverWritesIt) {
  std::string ctx = Context("testdata/e2e/rootfs-cache");
  std::string cache = JoinPath(state_, "rootfs-cache");
  auto entries = [&] {
    std::vector<std::string> out;
    UniqueFd fd(::open(cache.c_str(), O_PATH | O_DIRECTORY));
    if (!fd) return out;
    auto names = ReadDirNames(fd.get(), cache);
    for (const auto& n : names.ok() ? *names : std::vector<std::string>{})
      if (n != "lock") out.push_back(JoinPath(cache, n));
    return out;
  };
  std::map<std::string, std::string> env = {{"SOURCE_DATE_EPOCH", "1700000000"}};
  auto build = [&](const std::string& step, const std::string& out,
                   std::vector<std::string> extra = {}) {
    EXPECT_TRUE(WriteFile(JoinPath(ctx, "step.txt"), step + "\n").ok());
    std::vector<std::string> args = {"--build-arg",   "WRITE=1",
                                     "--output",      "type=local,dest=" + Out(out),
                                     "--digest-file", Out(out + ".digest")};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(ctx);
    auto r = Build(args, env);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto seen = ReadFile(Out(out + "/seen"));
    return seen.ok() ? *seen : "(no /seen) " + r.err;
  };
  auto want = [](const std::string& step) {
    return "/etc/a 644 18\n/etc/b 600 9\n/etc/c 644 9\n/etc/d 644 3\n/etc/b 1700000000\n"
           "/etc/c 981173106\noriginal\nappended\n" +
           step + "\n";
  };
  // busybox touch -d reads local time; the tests run with TZ unset (UTC).
  env["TZ"] = "UTC";

  // The first build unpacks the base stage's layers and keeps the tree.
  EXPECT_EQ(build("1", "r1"), want("1"));
  auto saved = entries();
  ASSERT_EQ(saved.size(), 1u);
  struct stat before;
  ASSERT_EQ(::stat(saved[0].c_str(), &before), 0);
  struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, saved[0].c_str(), old, 0), 0);

  // The rebuild restores that same entry (the first RUN wrote copies, not the entry's files)
  // and sees the base's files as they were.
  EXPECT_EQ(build("2", "r2"), want("2"));
  struct stat after;
  ASSERT_EQ(::stat(saved[0].c_str(), &after), 0) << "the entry was dropped: a RUN wrote it";
  EXPECT_EQ(after.st_ino, before.st_ino) << "the entry was dropped and saved again";
  EXPECT_GT(after.st_mtim.tv_sec, 1000000000) << "the entry was not restored";

  // --no-cache ignores the layer cache only: the unpacked tree is restored all the same (as
  // BuildKit keeps its snapshots), every step runs again, and the image is the same.
  ASSERT_EQ(::utimensat(AT_FDCWD, saved[0].c_str(), old, 0), 0);
  EXPECT_EQ(build("2", "r2n", {"--no-cache"}), want("2"));
  ASSERT_EQ(::stat(saved[0].c_str(), &after), 0) << "the entry was dropped";
  EXPECT_EQ(after.st_ino, before.st_ino) << "the entry was dropped and saved again";
  EXPECT_GT(after.st_mtim.tv_sec, 1000000000) << "--no-cache did not restore the entry";
  EXPECT_EQ(*ReadFile(Out("r2.digest")), *ReadFile(Out("r2n.digest")));

  // A restored tree diffs like an unpacked one: the same image as without any cache.
  env["OCIBUILD_ROOTFS_CACHE"] = "0";
  EXPECT_EQ(build("2", "r3", {"--no-cache"}), want("2"));
  env.erase("OCIBUILD_ROOTFS_CACHE");
  EXPECT_EQ(*ReadFile(Out("r2.digest")), *ReadFile(Out("r3.digest")));
  // So does a tree saved after every step (saving links every file again).
  env["OCIBUILD_ROOTFS_CACHE_SAVE_BYTES"] = "1";
  EXPECT_EQ(build("3", "r4"), want("3"));
  EXPECT_GE(entries().size(), 2u);
  // Those saves build on the entry each tree came from (they link only what the steps since
  // made, and the stage's snapshot follows without a walk).
  size_t chained = 0;
  for (const auto& e : entries()) {
    auto chain = ReadFile(JoinPath(e, "chain"));
    if (chain.ok() && !chain->empty()) ++chained;
  }
  EXPECT_GE(chained, 1u);
  env.erase("OCIBUILD_ROOTFS_CACHE_SAVE_BYTES");
  env["OCIBUILD_ROOTFS_CACHE"] = "0";
  EXPECT_EQ(build("3", "r5", {"--no-cache"}), want("3"));
  env.erase("OCIBUILD_ROOTFS_CACHE");
  EXPECT_EQ(*ReadFile(Out("r4.digest")), *ReadFile(Out("r5.digest")));
  // A tree restored from such an entry is the same tree: only the last step runs again, in
  // the tree saved after the step before it (a chained entry).
  for (const auto& e : entries()) ASSERT_EQ(::utimensat(AT_FDCWD, e.c_str(), old, 0), 0);
  EXPECT_EQ(build("3", "r6", {"--build-arg", "LATER=2"}), want("3"));
  size_t restored = 0;
  for (const auto& e : entries()) {
    struct stat est;
    auto chain = ReadFile(JoinPath(e, "chain"));
    if (::stat(e.c_str(), &est) == 0 && est.st_mtim.tv_sec > 1000000000 && chain.ok() &&
        !chain->empty())
      ++restored;
  }
  EXPECT_EQ(restored, 1u) << "no chained entry was restored";
  env["OCIBUILD_ROOTFS_CACHE"] = "0";
  EXPECT_EQ(build("3", "r7", {"--build-arg", "LATER=2", "--no-cache"}), want("3"));
  env.erase("OCIBUILD_ROOTFS_CACHE");
  EXPECT_EQ(*ReadFile(Out("r6.digest")), *ReadFile(Out("r7.digest")));
}

// A tree that shares its files with the unpacked-tree cache (saved on the first build, restored
// on the second) shows RUN steps the link counts of a tree unpacked from the layers: the cache's
// own names of the inodes are not the image's.
TEST_F(E2E, LinkCountsInARestoredTreeAreTheImagesOwn) {
  std::string ctx = Context("testdata/e2e/rootfs-cache-links");
  std::string cache = JoinPath(state_, "rootfs-cache");
  auto build = [&](const std::string& step, const std::string& out, bool use_cache) {
    auto r = BuildStep(ctx, step, {"--output", "type=local,dest=" + Out(out)}, {}, use_cache);
    auto seen = ReadFile(Out(out + "/seen"));
    return seen.ok() ? *seen : "(no /seen) " + r.err;
  };
  auto want = [](const std::string& step) {
    return "one 2\none-new 2\ntwo 2\ntwo-link 2\nthree 1\nsym 1\nfd 2\n/etc/sym\n/etc/three\n" +
           step + "\n";
  };
  EXPECT_EQ(build("1", "first", true), want("1"));
  // The base's tree is an entry of the cache: the second build restores it.
  UniqueFd fd(::open(cache.c_str(), O_PATH | O_DIRECTORY));
  ASSERT_TRUE(fd) << cache;
  auto names = ReadDirNames(fd.get(), cache);
  ASSERT_TRUE(names.ok());
  EXPECT_GE(names->size(), 2u);  // the lock and at least one entry
  EXPECT_EQ(build("2", "restored", true), want("2"));
  EXPECT_EQ(build("3", "unpacked", false), want("3"));
}

// The tree restored from the cache and topped up with the cached layers above the entry gives
// the image a build without the cache makes, whether its snapshot was brought up to date from
// the layers' paths or (a layer removed something) walked.
TEST_F(E2E, ARestoredTreeToppedUpWithCachedLayersDiffsLikeAnUnpackedOne) {
  std::string ctx = Context("testdata/e2e/rootfs-cache-topup");
  std::map<std::string, std::string> env = {{"SOURCE_DATE_EPOCH", "1700000000"}};
  auto build = [&](const std::string& variant, const std::string& step, const std::string& out,
                   bool cache) {
    std::vector<std::string> args = {"--output", "type=local,dest=" + Out(out), "--digest-file",
                                     Out(out + ".digest")};
    if (!variant.empty()) args.insert(args.end(), {"--build-arg", variant + "=1"});
    auto r = BuildStep(ctx, step, std::move(args), env, cache);
    auto digest = ReadFile(Out(out + ".digest"));
    return digest.ok() ? *digest : "(no digest) " + r.err;
  };
  for (std::string variant : {"", "REMOVE", "REPLACE"}) {
    SCOPED_TRACE("variant " + variant);
    std::string tag = variant.empty() ? "keep" : variant;
    build(variant, "1", tag + "-first", true);  // the base's tree is saved; the rest is cached
    std::string restored = build(variant, "2", tag + "-restored", true);
    std::string unpacked = build(variant, "2", tag + "-unpacked", false);
    EXPECT_EQ(restored, unpacked);
    auto seen = ReadFile(Out(tag + "-restored/seen"));
    ASSERT_TRUE(seen.ok());
    EXPECT_EQ(*seen, *ReadFile(Out(tag + "-unpacked/seen")));
    EXPECT_NE(seen->find("2\nchanged\n"), std::string::npos) << *seen;
    EXPECT_NE(seen->find("three"), std::string::npos) << *seen;
  }
}

TEST_F(E2E, WhiteoutsAndOpaqueDirectories) {
  std::string ctx = Context("testdata/e2e/whiteout");
  std::string layout = Out("layout");
  auto r = Build({"--output", "type=oci,dest=" + layout, ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  size_t n = LayoutManifest(layout)["layers"].size();
  std::string last = LayerListing(layout, n - 1);
  EXPECT_NE(last.find(" .wh.f\n"), std::string::npos) << last;
  // The directory made again hides the old one's entries with a whiteout each (as BuildKit),
  // never an opaque marker: which one the layer had would depend on the filesystem reusing the
  // directory's inode number, and the same build would not give the same digest.
  EXPECT_EQ(last.find(" d/.wh..wh..opq\n"), std::string::npos) << last;
  EXPECT_NE(last.find(" d/.wh.a\n"), std::string::npos) << last;
  EXPECT_NE(last.find(" d/.wh.sub\n"), std::string::npos) << last;
  EXPECT_NE(last.find(" d/new\n"), std::string::npos) << last;
  EXPECT_EQ(last.find("keep"), std::string::npos) << last;
  // What the layers mean, unpacked by ocibuild itself (works in every environment).
  std::string local = Out("local");
  auto l = Build({"--output", "type=local,dest=" + local, ctx});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_FALSE(PathExists(JoinPath(local, "f")));
  EXPECT_FALSE(PathExists(JoinPath(local, "d/a")));
  EXPECT_FALSE(PathExists(JoinPath(local, "d/sub")));
  EXPECT_TRUE(PathExists(JoinPath(local, "d/new")));
  EXPECT_TRUE(PathExists(JoinPath(local, "keep")));
  if (HaveTool("umoci")) {
    std::string bundle = Out("bundle");
    auto u = RunProcess({"umoci", "unpack", "--rootless", "--image", layout + ":latest", bundle});
    ASSERT_TRUE(u.ok());
    ASSERT_EQ(u->exit_code, 0) << u->err;
    EXPECT_FALSE(PathExists(JoinPath(bundle, "rootfs/f")));
    EXPECT_FALSE(PathExists(JoinPath(bundle, "rootfs/d/a")));
    EXPECT_FALSE(PathExists(JoinPath(bundle, "rootfs/d/sub")));
    EXPECT_TRUE(PathExists(JoinPath(bundle, "rootfs/d/new")));
    EXPECT_TRUE(PathExists(JoinPath(bundle, "rootfs/keep")));
  }
}

// A RUN step's layer holds a file it changed only through a temporary hardlink, whether the step
// read its changes from the watch of its tree (builder/tree_watch.h), walked the tree, or both.
TEST_F(E2E, AWriteThroughATemporaryHardlinkReachesTheLayer) {
  std::string ctx = Context("testdata/e2e/tree-watch-link");
  for (std::string mode : {"1", "0", "verify"}) {
    SCOPED_TRACE("OCIBUILD_TREE_WATCH=" + mode);
    std::string layout = Out("layout-" + mode);
    auto r = Build({"--no-cache", "--output", "type=oci,dest=" + layout, ctx},
                   {{"OCIBUILD_TREE_WATCH", mode}});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    size_t n = LayoutManifest(layout)["layers"].size();
    ASSERT_EQ(n, 3u);
    std::string last = LayerListing(layout, n - 1);
    EXPECT_NE(last.find(" app/conf\n"), std::string::npos) << last;
    EXPECT_EQ(last.find("tmp/c"), std::string::npos) << last;
    std::string local = Out("local-" + mode);
    auto l = Build({"--output", "type=local,dest=" + local, ctx}, {{"OCIBUILD_TREE_WATCH", mode}});
    ASSERT_EQ(l.exit_code, 0) << l.err;
    auto conf = ReadFile(JoinPath(local, "app/conf"));
    EXPECT_EQ(conf.ok() ? *conf : "", "v1\nv2\n");
  }
}

TEST_F(E2E, DockerignoreWithExceptions) {
  std::string ctx = Context("testdata/e2e/ignore");
  std::string out = Out("rootfs");
  auto r = Build({"--output", "type=local,dest=" + out, ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(PathExists(JoinPath(out, "ctx/keep.log")));
  EXPECT_TRUE(PathExists(JoinPath(out, "ctx/src/main.c")));
  EXPECT_TRUE(PathExists(JoinPath(out, "ctx/Dockerfile")));
  EXPECT_FALSE(PathExists(JoinPath(out, "ctx/debug.log")));
  EXPECT_FALSE(PathExists(JoinPath(out, "ctx/secrets")));
}

TEST_F(E2E, FailingRunReportsAndWritesNothing) {
  std::string ctx = Context("testdata/e2e/fail");
  std::string layout = Out("layout");
  auto r = Build({"--output", "type=oci,dest=" + layout, "--iidfile", Out("iid"), ctx});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find(":3: RUN: process \"/bin/busybox sh -c echo about to fail; exit 3\" did "
                       "not complete successfully: exit code: 3"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("about to fail"), std::string::npos);
  EXPECT_FALSE(PathExists(layout));
  EXPECT_FALSE(PathExists(Out("iid")));
  // Nothing is left in the scratch area.
  auto left = RunProcess({"find", JoinPath(state_, "work"), "-mindepth", "1"});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->out, "");
}

// The first file named `name` below `dir`, or "".
std::string FindFile(const std::string& dir, const std::string& name) {
  auto r = RunProcess({"find", dir, "-name", name, "-print", "-quit"});
  return r.ok() ? std::string(TrimSpace(r->out)) : "";
}

bool ProcessGone(pid_t pid) {
  // Gone, or a zombie waiting for a reaper (inside a container the test binary is PID 1).
  auto stat = ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return true;
  size_t close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() && (*stat)[close + 2] == 'Z';
}

TEST_F(E2E, InterruptStopsTheStepAndLeavesNothing) {
  std::unique_ptr<registry::testing::TestRegistry> reg;
  if (registry::testing::MissingTools({"docker-registry", "skopeo"}).empty()) {
    auto r = registry::testing::TestRegistry::Start(registry::testing::AuthMode::kNone);
    ASSERT_TRUE(r.ok()) << r.error().message;
    reg = std::move(*r);
    ASSERT_TRUE(WriteFile(Out("auth.json"), "{}").ok());  // skopeo: an open registry
  }
  for (int sig : {SIGINT, SIGTERM}) {
    SCOPED_TRACE(strsignal(sig));
    std::string ctx = Context("testdata/e2e/interrupt");
    std::string layout = Out("layout-" + std::to_string(sig));
    std::string ref = reg ? reg->host() + "/e2e/interrupted:1" : "localhost/interrupted:1";
    SpawnOptions o;
    o.extra_env["OCIBUILD_ROOT"] = state_;
    std::string log = Out("log-" + std::to_string(sig));
    auto child = Child::Start(
        {bin_, "--progress=plain", "-t", ref, "--output", "type=oci,dest=" + layout, ctx}, o, log);
    ASSERT_TRUE(child.ok()) << child.error().message;
    // Wait for the step to be running (the build fails loudly if it ends first).
    std::string ready;
    while (ready.empty() && child->Running()) {
      ::usleep(100 * 1000);
      ready = FindFile(JoinPath(state_, "work"), "ready.pid");
    }
    ASSERT_FALSE(ready.empty()) << *ReadFile(log);
    std::string pids;
    while (pids.empty()) pids = std::string(TrimSpace(*ReadFile(ready)));
    auto ids = Split(pids, ' ');
    ASSERT_EQ(ids.size(), 2u) << pids;
    pid_t shell = std::stoi(ids[0]), sleeper = std::stoi(ids[1]);
    EXPECT_FALSE(ProcessGone(shell));
    EXPECT_FALSE(ProcessGone(sleeper));

    ASSERT_EQ(::kill(child->pid(), sig), 0);
    int code = child->Wait();
    std::string err = *ReadFile(log);
    EXPECT_EQ(code, 128 + sig) << err;
    EXPECT_NE(err.find(std::string("ocibuild: interrupted (") + strsignal(sig) + ")"),
              std::string::npos)
        << err;
    EXPECT_TRUE(ProcessGone(shell)) << "the step's shell " << shell << " survived";
    EXPECT_TRUE(ProcessGone(sleeper)) << "the step's background sleep " << sleeper << " survived";
    auto left = RunProcess({"find", JoinPath(state_, "work"), "-mindepth", "1"});
    ASSERT_TRUE(left.ok());
    EXPECT_EQ(left->out, "") << "scratch files left behind";
    EXPECT_FALSE(PathExists(layout));
    if (reg) {
      auto s = RunProcess({"skopeo", "inspect", "--authfile", Out("auth.json"),
                           "--tls-verify=false", "docker://" + ref});
      ASSERT_TRUE(s.ok());
      EXPECT_NE(s->exit_code, 0) << "the tag was pushed: " << s->out;
    }
  }
}

TEST_F(E2E, IndependentStagesBuildConcurrently) {
  std::string ctx = Context("testdata/e2e/parallel");
  std::string out = Out("rootfs");
  std::string token = std::to_string(::getpid()) + "-" + std::to_string(::time(nullptr));
  auto r = Build({"--build-arg", "TOKEN=" + token, "--output", "type=local,dest=" + out, ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ReadFile(JoinPath(out, "got-right")), "from-right\n");
  EXPECT_EQ(*ReadFile(JoinPath(out, "got-left")), "from-left\n");
  // Progress lines name their stage and number the steps as BuildKit does (FROM of another
  // stage and ARG are not numbered).
  EXPECT_NE(r.err.find("[left 1/1] RUN --mount=type=cache"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("[right 1/1] RUN --mount=type=cache"), std::string::npos) << r.err;

  // Steps sharing a sharing=locked cache mount take turns, even in concurrent stages.
  auto l = Build({"-f", JoinPath(ctx, "Dockerfile.locked"), "--build-arg", "TOKEN=" + token, ctx});
  ASSERT_EQ(l.exit_code, 0) << l.err;
  EXPECT_EQ(l.err.find("OVER1LAP"), std::string::npos) << l.err;

  // The first failure cancels the stage still running.
  auto f = Build({"-f", JoinPath(ctx, "Dockerfile.fail"), ctx});
  EXPECT_NE(f.exit_code, 0);
  EXPECT_NE(f.err.find("echo broken on purpose; exit 7\" did not complete successfully: exit "
                       "code: 7"),
            std::string::npos)
      << f.err;
  // (The command's text is in the step's label; only its output has the number computed.)
  EXPECT_EQ(f.err.find("waiting ran out after 120"), std::string::npos) << f.err;
  auto left = RunProcess({"find", JoinPath(state_, "work"), "-mindepth", "1"});
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->out, "");
}

TEST_F(E2E, CopyLinkLayerSurvivesABaseChange) {
  std::string ctx = Context("testdata/e2e/link");
  auto a = Build({"--output", "type=oci,dest=" + Out("l1"), ctx});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  // The --link layer holds the copied file and the directory made for it, nothing from below.
  std::string listing = LayerListing(Out("l1"), 2);
  EXPECT_NE(listing.find(" app/linked.txt\n"), std::string::npos) << listing;
  EXPECT_NE(listing.find(" app/\n"), std::string::npos) << listing;
  EXPECT_EQ(Split(TrimSpace(listing), '\n').size(), 2u) << listing;

  auto b = Build({"--build-arg", "BASE=two", "--output", "type=oci,dest=" + Out("l2"), "--output",
                  "type=local,dest=" + Out("rootfs"), ctx});
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.err.find("#4 DONE"), std::string::npos) << b.err;    // RUN echo $BASE
  EXPECT_NE(b.err.find("#5 CACHED"), std::string::npos) << b.err;  // COPY --link
  EXPECT_NE(b.err.find("#6 DONE"), std::string::npos) << b.err;    // plain COPY
  auto m1 = LayoutManifest(Out("l1")), m2 = LayoutManifest(Out("l2"));
  EXPECT_NE(m1["layers"][1], m2["layers"][1]);
  EXPECT_EQ(m1["layers"][2], m2["layers"][2]);
  // The stage below the link and the link layer together: later steps see both.
  EXPECT_EQ(*ReadFile(Out("rootfs/combined.txt")), "two\napp content\n");
  EXPECT_EQ(*ReadFile(Out("rootfs/app/plain.txt")), "app content\n");
}

TEST_F(E2E, AddGitRepository) {
  std::string missing = registry::testing::MissingTools({"git", "python3"});
  if (!missing.empty()) GTEST_SKIP() << missing << " (a git repository served over HTTP)";
  // A repository with a tag and a branch, served read-only over git's dumb HTTP protocol.
  std::string work = Out("gitwork"), srv = Out("srv");
  auto git = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"git",
                                     "-c",
                                     "user.name=t",
                                     "-c",
                                     "user.email=t@example.com",
                                     "-c",
                                     "init.defaultBranch=main"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = RunProcess(argv);
    EXPECT_TRUE(r.ok() && r->success()) << ShellQuote(argv) << ": " << (r.ok() ? r->err : "");
    return r.ok() ? std::string(TrimSpace(r->out)) : "";
  };
  ASSERT_TRUE(MakeDirs(JoinPath(work, "src/lib")).ok());
  ASSERT_TRUE(WriteFile(JoinPath(work, "README"), "v1\n").ok());
  ASSERT_TRUE(WriteFile(JoinPath(work, "src/main.c"), "int main(void) { return 0; }\n").ok());
  ASSERT_TRUE(WriteFile(JoinPath(work, "src/lib/util.h"), "#define UTIL 1\n").ok());
  ASSERT_TRUE(WriteFile(JoinPath(work, "run.sh"), "#!/bin/sh\necho run\n", 0755).ok());
  git({"init", "-q", work});
  git({"-C", work, "add", "."});
  git({"-C", work, "commit", "-q", "-m", "one"});
  git({"-C", work, "tag", "v1"});
  ASSERT_TRUE(WriteFile(JoinPath(work, "README"), "v2\n").ok());
  git({"-C", work, "commit", "-q", "-am", "two"});
  std::string served = JoinPath(srv, "repo.git");
  auto publish = [&] {
    (void)RemoveAll(served);
    git({"clone", "-q", "--bare", work, served});
    git({"-C", served, "update-server-info"});
  };
  publish();
  auto port = registry::testing::FreePort();
  ASSERT_TRUE(port.ok());
  SpawnOptions so;
  so.cwd = srv;
  auto server = Child::Start(
      {"python3", "-m", "http.server", "--bind", "127.0.0.1", std::to_string(*port)}, so);
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(registry::testing::WaitForPort(*port).ok());
  std::string url = "http://127.0.0.1:" + std::to_string(*port) + "/repo.git";

  std::string ctx = Context("testdata/e2e/fail");
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "Dockerfile"),
                        "FROM scratch\n"
                        "ADD " +
                            url +
                            "#v1 /tagged/\n"
                            "ADD " +
                            url +
                            "#main:src /onlysrc\n"
                            "ADD --keep-git-dir=true " +
                            url + " /withgit\n")
                  .ok());
  std::string out = Out("rootfs");
  auto r = Build({"--output", "type=local,dest=" + out, ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ReadFile(JoinPath(out, "tagged/README")), "v1\n");
  struct stat st;
  ASSERT_EQ(::stat(JoinPath(out, "tagged/run.sh").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  EXPECT_FALSE(PathExists(JoinPath(out, "tagged/.git")));
  EXPECT_EQ(*ReadFile(JoinPath(out, "onlysrc/main.c")), "int main(void) { return 0; }\n");
  EXPECT_EQ(*ReadFile(JoinPath(out, "onlysrc/lib/util.h")), "#define UTIL 1\n");
  EXPECT_FALSE(PathExists(JoinPath(out, "onlysrc/README")));
  EXPECT_EQ(*ReadFile(JoinPath(out, "withgit/README")), "v2\n");
  ASSERT_TRUE(PathExists(JoinPath(out, "withgit/.git")));
  EXPECT_EQ(git({"-C", JoinPath(out, "withgit"), "rev-parse", "HEAD"}),
            git({"-C", work, "rev-parse", "HEAD"}));

  // Unchanged refs: every step cached (only `git ls-remote` asked the server).
  auto again = Build({ctx});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  for (const char* n : {"#2 CACHED", "#3 CACHED", "#4 CACHED"})
    EXPECT_NE(again.err.find(n), std::string::npos) << n << "\n" << again.err;
  // A new commit on main reruns the steps that follow main, not the tag's.
  ASSERT_TRUE(WriteFile(JoinPath(work, "src/main.c"), "int main(void) { return 1; }\n").ok());
  git({"-C", work, "commit", "-q", "-am", "three"});
  publish();
  auto moved = Build({"--output", "type=local,dest=" + Out("rootfs2"), ctx});
  ASSERT_EQ(moved.exit_code, 0) << moved.err;
  EXPECT_NE(moved.err.find("#2 CACHED"), std::string::npos) << moved.err;
  EXPECT_NE(moved.err.find("#3 DONE"), std::string::npos) << moved.err;
  EXPECT_EQ(*ReadFile(Out("rootfs2/onlysrc/main.c")), "int main(void) { return 1; }\n");
  // A ref that does not exist fails with its name.
  ASSERT_TRUE(
      WriteFile(JoinPath(ctx, "Dockerfile"), "FROM scratch\nADD " + url + "#nope /x\n").ok());
  auto bad = Build({ctx});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("repository does not contain ref nope"), std::string::npos) << bad.err;
}

TEST_F(E2E, RunMountSshForwardsTheAgent) {
  std::string missing =
      registry::testing::MissingTools({"ssh-agent", "ssh-add", "ssh-keygen", "gcc"});
  if (!missing.empty()) GTEST_SKIP() << missing << " (an ssh-agent and a static client)";
  std::string ctx = Context("testdata/e2e/ssh");
  auto cc = RunProcess(
      {"gcc", "-static", "-O2", "-o", JoinPath(ctx, "agentls"), JoinPath(ctx, "agentls.c")});
  ASSERT_TRUE(cc.ok());
  if (cc->exit_code != 0) GTEST_SKIP() << "no static libc to build the agent client: " << cc->err;
  // A real agent holding one key.
  std::string sock = Out("agent.sock");
  auto agent = Child::Start({"ssh-agent", "-D", "-a", sock});
  ASSERT_TRUE(agent.ok());
  for (int i = 0; i < 100 && !PathExists(sock); ++i) ::usleep(50 * 1000);
  ASSERT_TRUE(PathExists(sock)) << "ssh-agent did not create its socket";
  std::string key = Out("id_ed25519");
  auto kg = RunProcess(
      {"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ocibuild-e2e-key", "-f", key});
  ASSERT_TRUE(kg.ok() && kg->success()) << (kg.ok() ? kg->err : "");
  SpawnOptions so;
  so.extra_env["SSH_AUTH_SOCK"] = sock;
  auto add = RunProcess({"ssh-add", key}, so);
  ASSERT_TRUE(add.ok() && add->success()) << (add.ok() ? add->err : "");

  std::string out = Out("rootfs");
  auto r = Build(
      {"--ssh", "default", "--ssh", "other=" + sock, "--output", "type=local,dest=" + out, ctx},
      {{"SSH_AUTH_SOCK", sock}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ReadFile(JoinPath(out, "sock.txt")), "/run/buildkit/ssh_agent.0\n");
  EXPECT_EQ(*ReadFile(JoinPath(out, "agent.txt")), "1 ocibuild-e2e-key\n");
  EXPECT_EQ(*ReadFile(JoinPath(out, "other.txt")), "1 ocibuild-e2e-key\n");
  EXPECT_FALSE(PathExists(JoinPath(out, "run/buildkit/ssh_agent.0")));
  EXPECT_FALSE(PathExists(JoinPath(out, "tmp/agent.sock")));
  // The directories made for the mount targets are gone too (BuildKit's mount stubs).
  EXPECT_FALSE(PathExists(JoinPath(out, "run")));
  EXPECT_FALSE(PathExists(JoinPath(out, "tmp")));

  // A required agent that was not forwarded fails the step and says how to forward it.
  auto f = Build({"--no-cache", "--ssh", "default=" + sock, ctx});
  EXPECT_NE(f.exit_code, 0);
  EXPECT_NE(f.err.find("ssh agent other is required but was not forwarded (pass --ssh other"),
            std::string::npos)
      << f.err;
}

TEST_F(E2E, DockerfileErrorsPointAtTheLine) {
  std::string ctx = Context("testdata/e2e/fail");
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "Dockerfile"), "FROM scratch\nCOPY --chwon=1 a /b\n").ok());
  auto r = Build({ctx});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("Dockerfile:2:6: unknown flag: --chwon (did you mean chown?)\n"
                       "   2 | COPY --chwon=1 a /b\n"
                       "     |      ^"),
            std::string::npos)
      << r.err;
}

TEST_F(E2E, PushToRegistryAndFailedBuildKeepsTheTag) {
  std::string missing = registry::testing::MissingTools({"docker-registry", "skopeo"});
  if (!missing.empty()) GTEST_SKIP() << missing;
  auto reg = registry::testing::TestRegistry::Start(registry::testing::AuthMode::kNone);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  std::string ref = (*reg)->host() + "/e2e/hello:1";
  std::string ctx = Context("examples/hello");
  auto r = Build({"-t", ref, "--digest-file", Out("digest"), ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::string digest = *ReadFile(Out("digest"));
  // An empty auth file: the registry is open, and an unprivileged run cannot read the caller's
  // $XDG_RUNTIME_DIR/containers/auth.json.
  std::string auth = Out("auth.json");
  ASSERT_TRUE(WriteFile(auth, "{}").ok());
  auto s = RunProcess(
      {"skopeo", "inspect", "--authfile", auth, "--tls-verify=false", "docker://" + ref});
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->exit_code, 0) << s->err;
  EXPECT_NE(s->out.find(digest), std::string::npos);
  auto copy = RunProcess({"skopeo", "copy", "--authfile", auth, "--src-tls-verify=false",
                          "docker://" + ref, "oci:" + Out("pulled") + ":1"});
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(copy->exit_code, 0) << copy->err;

  // A failing build with the same tag pushes nothing: the tag still names the old image.
  std::string bad = Context("testdata/e2e/fail");
  auto f = Build({"-t", ref, bad});
  EXPECT_NE(f.exit_code, 0);
  auto again = RunProcess(
      {"skopeo", "inspect", "--authfile", auth, "--tls-verify=false", "docker://" + ref});
  ASSERT_TRUE(again.ok());
  EXPECT_NE(again->out.find(digest), std::string::npos);
}

TEST_F(E2E, RegistryCacheRoundTripFromAnEmptyDisk) {
  std::string missing = registry::testing::MissingTools({"docker-registry"});
  if (!missing.empty()) GTEST_SKIP() << missing;
  auto reg = registry::testing::TestRegistry::Start(registry::testing::AuthMode::kNone);
  ASSERT_TRUE(reg.ok()) << reg.error().message;
  std::string cache_ref = (*reg)->host() + "/e2e/cache:buildcache";
  std::string ctx = Context("testdata/e2e/cache");
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v1\n").ok());
  std::map<std::string, std::string> env = {{"SOURCE_DATE_EPOCH", "1700000000"}};
  auto a =
      Build({"--cache-to", "type=registry,ref=" + cache_ref, "--digest-file", Out("d1"), ctx}, env);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  // A new runner: nothing on disk but the context.
  state_ = JoinPath(tmp_->path(), "state-2");
  auto miss = Build({"--cache-from", cache_ref + "-missing", "--digest-file", Out("d0"), ctx}, env);
  ASSERT_EQ(miss.exit_code, 0) << miss.err;  // a missing cache only warns
  EXPECT_NE(miss.err.find("WARNING: --cache-from"), std::string::npos) << miss.err;
  state_ = JoinPath(tmp_->path(), "state-3");
  auto b = Build(
      {"--cache-from", "type=registry,ref=" + cache_ref, "--digest-file", Out("d2"), ctx}, env);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  for (const char* n : {"#2 CACHED", "#3 CACHED", "#4 CACHED", "#5 CACHED"})
    EXPECT_NE(b.err.find(n), std::string::npos) << n << "\n" << b.err;
  EXPECT_EQ(*ReadFile(Out("d1")), *ReadFile(Out("d2")));
}

TEST_F(E2E, LocalCacheRoundTripFromAnEmptyDisk) {
  std::string ctx = Context("testdata/e2e/cache");
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v1\n").ok());
  std::map<std::string, std::string> env = {{"SOURCE_DATE_EPOCH", "1700000000"}};
  std::string dir = Out("cache-dir");
  // First build: the local cache does not exist yet (only a warning), and is written.
  auto a = Build({"--cache-from", "type=local,src=" + dir, "--cache-to", "type=local,dest=" + dir,
                  "--digest-file", Out("d1"), ctx},
                 env);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.err.find("WARNING: --cache-from " + dir), std::string::npos) << a.err;
  EXPECT_EQ(a.err.find("CACHED"), std::string::npos) << a.err;
  ASSERT_TRUE(PathExists(JoinPath(dir, "index.json")));
  if (HaveTool("skopeo")) {
    // An ordinary OCI layout: its image's layers are the build's layers.
    auto s = RunProcess({"skopeo", "inspect", "oci:" + dir + ":latest"});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->exit_code, 0) << s->err;
    EXPECT_NE(s->out.find("dev.ocibuild.cache.v1"), std::string::npos) << s->out;
  }
  // A new runner: nothing on disk but the context and the cache directory.
  state_ = JoinPath(tmp_->path(), "state-2");
  auto b = Build({"--cache-from", "type=local,src=" + dir, "--digest-file", Out("d2"), ctx}, env);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  for (const char* n : {"#2 CACHED", "#3 CACHED", "#4 CACHED", "#5 CACHED"})
    EXPECT_NE(b.err.find(n), std::string::npos) << n << "\n" << b.err;
  for (const char* n : {"#2 DONE", "#3 DONE", "#4 DONE", "#5 DONE"})
    EXPECT_EQ(b.err.find(n), std::string::npos) << "a step ran again: " << n << "\n" << b.err;
  EXPECT_EQ(*ReadFile(Out("d1")), *ReadFile(Out("d2")));
  // A changed source reruns from that step on, and the cache directory takes the new steps too.
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v2\n").ok());
  state_ = JoinPath(tmp_->path(), "state-3");
  auto c = Build(
      {"--cache-from", "type=local,src=" + dir, "--cache-to", "type=local,dest=" + dir, ctx}, env);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(c.err.find("#3 CACHED"), std::string::npos) << c.err;
  EXPECT_NE(c.err.find("#4 DONE"), std::string::npos) << c.err;
  state_ = JoinPath(tmp_->path(), "state-4");
  auto d = Build({"--cache-from", "type=local,src=" + dir, ctx}, env);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.err.find("#5 CACHED"), std::string::npos) << d.err;
}

// COPY --from is keyed by what it copies, and the digests travel in the exported cache (as
// memos): a runner importing it knows them without unpacking the stage they were taken from.
TEST_F(E2E, CopyFromKeyedByContentAcrossAnExportedCache) {
  std::string ctx = Context("testdata/e2e/copy-from-cache");
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v1\n").ok());
  std::map<std::string, std::string> env = {{"SOURCE_DATE_EPOCH", "1700000000"}};
  std::string dir = Out("cache-dir");
  auto a = Build({"--cache-to", "type=local,dest=" + dir, "--digest-file", Out("d1"), ctx}, env);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  // The cache image's label: step entries, and the COPY --from's digest as a memo.
  auto blob = [&](const std::string& digest) {
    return nlohmann::json::parse(
        *ReadFile(JoinPath(dir, "blobs/sha256/" + digest.substr(digest.find(':') + 1))));
  };
  auto index = nlohmann::json::parse(*ReadFile(JoinPath(dir, "index.json")));
  auto manifest = blob(index["manifests"][0]["digest"]);
  auto config = blob(manifest["config"]["digest"]);
  auto entries =
      nlohmann::json::parse(config["config"]["Labels"]["dev.ocibuild.cache.v1"].get<std::string>());
  int memos = 0;
  for (const auto& [key, e] : entries.items()) memos += e.contains("memo") ? 1 : 0;
  EXPECT_EQ(memos, 1) << entries.dump();

  auto step_line = [](const std::string& err, const std::string& step) {
    size_t at = err.find(step);
    if (at == std::string::npos) return std::string("(no step)");
    size_t eol = err.find('\n', at);
    return err.substr(eol + 1, err.find('\n', eol + 1) - eol - 1);
  };
  // A new runner with the cache imported: everything is cached.
  state_ = JoinPath(tmp_->path(), "state-2");
  auto b = Build({"--cache-from", "type=local,src=" + dir, "--digest-file", Out("d2"), ctx}, env);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_TRUE(EndsWith(step_line(b.err, "COPY --from=src"), " CACHED")) << b.err;
  EXPECT_EQ(*ReadFile(Out("d1")), *ReadFile(Out("d2")));
  // The other stage changes, but not the file copied from it: the COPY --from stays cached.
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v2\n").ok());
  state_ = JoinPath(tmp_->path(), "state-3");
  auto c = Build({"--cache-from", "type=local,src=" + dir, "--digest-file", Out("d3"), ctx}, env);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_NE(step_line(c.err, "COPY app.txt").find(" DONE "), std::string::npos) << c.err;
  EXPECT_TRUE(EndsWith(step_line(c.err, "COPY --from=src"), " CACHED")) << c.err;
  EXPECT_EQ(*ReadFile(Out("d1")), *ReadFile(Out("d3")));
}

// The cache image's step map (its config's label) in the OCI layout `dir`, read or replaced.
nlohmann::json CacheLabel(const std::string& dir) {
  auto blob = [&](const std::string& digest) {
    return nlohmann::json::parse(
        *ReadFile(JoinPath(dir, "blobs/sha256/" + digest.substr(digest.find(':') + 1))));
  };
  auto index = nlohmann::json::parse(*ReadFile(JoinPath(dir, "index.json")));
  auto config = blob(blob(index["manifests"][0]["digest"])["config"]["digest"]);
  return nlohmann::json::parse(
      config["config"]["Labels"]["dev.ocibuild.cache.v1"].get<std::string>());
}

void RewriteCacheLabel(const std::string& dir, const nlohmann::json& label) {
  auto put = [&](const std::string& bytes) {
    Sha256 h;
    h.Update(bytes);
    std::string hex = h.FinishHex();
    EXPECT_TRUE(WriteFile(JoinPath(dir, "blobs/sha256/" + hex), bytes).ok());
    return nlohmann::json{{"digest", "sha256:" + hex}, {"size", bytes.size()}};
  };
  auto read = [&](const nlohmann::json& d) {
    std::string digest = d["digest"];
    return nlohmann::json::parse(
        *ReadFile(JoinPath(dir, "blobs/sha256/" + digest.substr(digest.find(':') + 1))));
  };
  auto index = nlohmann::json::parse(*ReadFile(JoinPath(dir, "index.json")));
  auto manifest = read(index["manifests"][0]);
  auto config = read(manifest["config"]);
  config["config"]["Labels"]["dev.ocibuild.cache.v1"] = label.dump();
  auto c = put(config.dump());
  manifest["config"]["digest"] = c["digest"];
  manifest["config"]["size"] = c["size"];
  auto m = put(manifest.dump());
  index["manifests"][0]["digest"] = m["digest"];
  index["manifests"][0]["size"] = m["size"];
  EXPECT_TRUE(WriteFile(JoinPath(dir, "index.json"), index.dump()).ok());
}

// An imported memo is a hint: a wrong one (here: the digest of other content, as a tampered
// cache could send) costs a miss, and the step that then runs is keyed by what it really read,
// so the local cache is not poisoned for a later build of that other content. `step` is the
// step that reads app.txt of stage src (a COPY --from or a RUN --mount=from).
void E2E::ImportWrongMemo(const std::string& context, const std::string& step) {
  std::string ctx = Context(context);
  std::map<std::string, std::string> env = {{"SOURCE_DATE_EPOCH", "1700000000"}};
  auto memos = [](const nlohmann::json& label) {
    std::map<std::string, std::string> m;
    for (const auto& [key, e] : label.items())
      if (e.contains("memo")) m[key] = e["memo"];
    return m;
  };
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v1\n").ok());
  std::string dir1 = Out("cache-v1"), dir2 = Out("cache-v2");
  auto a = Build({"--cache-to", "type=local,dest=" + dir1, ctx}, env);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v2\n").ok());
  state_ = JoinPath(tmp_->path(), "state-2");
  auto b = Build({"--cache-to", "type=local,dest=" + dir2, ctx}, env);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto m1 = memos(CacheLabel(dir1)), m2 = memos(CacheLabel(dir2));
  ASSERT_EQ(m1.size(), 1u);
  ASSERT_EQ(m2.size(), 1u);
  ASSERT_NE(m1.begin()->second, m2.begin()->second);
  // v1's cache says that v1's stage holds v2's file.
  auto label = CacheLabel(dir1);
  label[m1.begin()->first]["memo"] = m2.begin()->second;
  RewriteCacheLabel(dir1, label);

  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v1\n").ok());
  state_ = JoinPath(tmp_->path(), "state-3");
  auto c = Build({"--cache-from", "type=local,src=" + dir1, "-o", Out("out-c"), ctx}, env);
  ASSERT_EQ(c.exit_code, 0) << c.err;
  EXPECT_EQ(*ReadFile(JoinPath(Out("out-c"), "app.txt")), "v1\n");
  // Found all the same, under the key of what it really reads.
  size_t at = c.err.find(step);
  ASSERT_NE(at, std::string::npos) << c.err;
  size_t eol = c.err.find('\n', at);
  EXPECT_TRUE(EndsWith(c.err.substr(eol + 1, c.err.find('\n', eol + 1) - eol - 1), " CACHED"))
      << c.err;
  // The same machine builds v2 later: the step must not find v1's result under v2's key.
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "app.txt"), "v2\n").ok());
  auto d = Build({"-o", Out("out-d"), ctx}, env);
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(*ReadFile(JoinPath(Out("out-d"), "app.txt")), "v2\n");
}

TEST_F(E2E, AWrongImportedMemoNeverKeysACopyThatRuns) {
  ImportWrongMemo("testdata/e2e/copy-from-memo", "COPY --from=src");
}

TEST_F(E2E, AWrongImportedMemoNeverKeysARunThatRuns) {
  ImportWrongMemo("testdata/e2e/mount-from-memo", "RUN --mount=type=bind,target=/m,from=src");
}

TEST_F(E2E, AddUrlWithChecksum) {
  if (!HaveTool("python3")) GTEST_SKIP() << "python3 (for a local HTTP server) is missing";
  auto port = registry::testing::FreePort();
  ASSERT_TRUE(port.ok());
  std::string srv = Out("srv");
  ASSERT_TRUE(MakeDirs(srv).ok());
  ASSERT_TRUE(WriteFile(JoinPath(srv, "tool.txt"), "remote content\n").ok());
  SpawnOptions so;
  so.cwd = srv;
  auto server = Child::Start(
      {"python3", "-m", "http.server", "--bind", "127.0.0.1", std::to_string(*port)}, so);
  ASSERT_TRUE(server.ok());
  ASSERT_TRUE(registry::testing::WaitForPort(*port).ok());
  std::string url = "http://127.0.0.1:" + std::to_string(*port) + "/tool.txt";
  std::string good = "sha256:" + std::string(Sha256::HexOf("remote content\n"));
  std::string ctx = Context("testdata/e2e/fail");
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "Dockerfile"), "FROM scratch\nADD " + url +
                                                         " /a/\nADD --checksum=" + good + " " +
                                                         url + " /b/renamed.txt\n")
                  .ok());
  std::string out = Out("rootfs");
  auto r = Build({"--output", "type=local,dest=" + out, ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(*ReadFile(JoinPath(out, "a/tool.txt")), "remote content\n");
  EXPECT_EQ(*ReadFile(JoinPath(out, "b/renamed.txt")), "remote content\n");
  struct stat st;
  ASSERT_EQ(::stat(JoinPath(out, "a/tool.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // Docker's mode for downloads
  // A wrong checksum fails the build and names both digests.
  std::string bad = "sha256:" + std::string(64, '0');
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "Dockerfile"),
                        "FROM scratch\nADD --checksum=" + bad + " " + url + " /c\n")
                  .ok());
  auto f = Build({ctx});
  EXPECT_NE(f.exit_code, 0);
  EXPECT_NE(f.err.find("checksum mismatch: expected " + bad + ", got " + good), std::string::npos)
      << f.err;
}

TEST_F(E2E, EveryInstructionInTheConfig) {
  std::string ctx = Context("testdata/e2e/every-instruction");
  ASSERT_TRUE(MakeDirs(JoinPath(ctx, "tree")).ok());
  ASSERT_TRUE(WriteFile(JoinPath(ctx, "tree/inner.txt"), "from-tar\n").ok());
  auto t = RunProcess({"tar", "--owner=0", "--group=0", "--numeric-owner", "-cf",
                       JoinPath(ctx, "files.tar"), "-C", JoinPath(ctx, "tree"), "."});
  ASSERT_TRUE(t.ok() && t->success());
  std::string layout = Out("layout");
  auto r =
      Build({"-t", "localhost/every:1", "--build-arg", "FLAVOR=spicy", "--output",
             "type=oci,dest=" + layout, "--output", "type=docker,dest=" + Out("img.tar"), ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto cfg = LayoutConfig(layout);
  const auto& c = cfg["config"];
  EXPECT_EQ(cfg["author"], "ocibuild tests <tests@example.com>");
  EXPECT_EQ(c["Env"], nlohmann::json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/"
                                             "bin:/sbin:/bin",
                                             "APP_VERSION=1.2", "APP_HOME=/srv/app"}));
  EXPECT_EQ(c["Labels"], nlohmann::json({{"org.example.version", "1.2"},
                                         {"org.example.flavor", "spicy"},
                                         {"org.example.onbuild", "yes"}}));
  EXPECT_EQ(c["ExposedPorts"], nlohmann::json({{"8080/tcp", nlohmann::json::object()},
                                               {"53/udp", nlohmann::json::object()}}));
  EXPECT_EQ(c["Volumes"], nlohmann::json({{"/data", nlohmann::json::object()}}));
  EXPECT_EQ(c["User"], "app:app");
  EXPECT_EQ(c["WorkingDir"], "/srv/app");
  EXPECT_EQ(c["Shell"], nlohmann::json::array({"/bin/sh", "-ec"}));
  EXPECT_EQ(c["StopSignal"], "SIGQUIT");
  EXPECT_EQ(c["Cmd"], nlohmann::json::array({"from-cmd"}));
  ASSERT_EQ(c["Entrypoint"].size(), 3u);
  EXPECT_EQ(c["Entrypoint"][0], "/bin/sh");
  EXPECT_EQ(c["Healthcheck"]["Test"],
            nlohmann::json::array({"CMD-SHELL", "test -f /srv/app/version.txt"}));
  EXPECT_EQ(c["Healthcheck"]["Interval"], 30000000000LL);
  EXPECT_EQ(c["Healthcheck"]["Timeout"], 5000000000LL);
  EXPECT_EQ(c["Healthcheck"]["StartPeriod"], 10000000000LL);
  EXPECT_EQ(c["Healthcheck"]["Retries"], 4);
  // The parent's triggers ran (and are not inherited); this stage's own trigger is recorded.
  EXPECT_EQ(c["OnBuild"], nlohmann::json::array({"COPY . /srv/app/child/"}));

  // History: one entry per step; the filesystem steps carry the layers, in order.
  std::vector<std::pair<std::string, bool>> want = {
      {"COPY busybox /bin/busybox # buildkit", false},
      {"RUN /bin/busybox --install -s /bin # buildkit", false},
      {"RUN /bin/sh -c echo triggered > /onbuild.txt # buildkit", false},
      {"LABEL org.example.onbuild=yes", true},
      {"ARG VERSION=1.2", true},
      {"ARG FLAVOR=spicy", true},
      {"MAINTAINER ocibuild tests <tests@example.com>", true},
      {"ENV APP_VERSION=1.2 APP_HOME=/srv/app", true},
      {"LABEL org.example.version=1.2 org.example.flavor=spicy", true},
      {"SHELL [/bin/sh -ec]", true},
      {"COPY <<EOT /etc/passwd # buildkit", false},
      {"COPY <<EOT /etc/group # buildkit", false},
      {"WORKDIR /srv/app", false},
      {"COPY --chown=app:app --chmod=0640 config.ini ./ # buildkit", false},
      {"ADD files.tar ./extracted/ # buildkit", false},
      {"RUN |2 VERSION=1.2 FLAVOR=spicy /bin/sh -ec echo \"$APP_VERSION $FLAVOR\" > version.txt "
       " && mkdir /data && chown app:app /data version.txt # buildkit",
       false},
      {"EXPOSE [53/udp 8080/tcp]", true},
      {"VOLUME [/data]", true},
      {"USER app:app", true},
      {"HEALTHCHECK [CMD-SHELL test -f /srv/app/version.txt]", true},
      {"STOPSIGNAL SIGQUIT", true},
      {"ENTRYPOINT [\"/bin/sh\" \"-c\" \"echo \\\"$(cat version.txt) $(cat extracted/inner.txt) "
       "$(id -un) $(cat /onbuild.txt) $0\\\"\"]",
       true},
      {"CMD [\"from-cmd\"]", true},
  };
  std::vector<std::pair<std::string, bool>> got;
  for (const auto& h : cfg["history"])
    got.emplace_back(h.value("created_by", ""), h.value("empty_layer", false));
  EXPECT_EQ(got, want);
  size_t layered = 0;
  for (const auto& [cb, empty] : got) layered += empty ? 0 : 1;
  EXPECT_EQ(LayoutManifest(layout)["layers"].size(), layered);

  // Owners and modes in the layers (the last entry for a path wins).
  std::string all;
  for (size_t i = 0; i < layered; ++i) all += LayerListing(layout, i);
  auto entry = [&](const std::string& path) {
    std::string found;
    for (const auto& line : Split(all, '\n')) {
      auto f = Split(line, ' ');
      if (!f.empty() && (f.back() == path || f.back() == path + "/")) found = f[0] + " " + f[1];
    }
    return found;
  };
  EXPECT_EQ(entry("srv/app/config.ini"), "-rw-r----- 1500/1500");
  EXPECT_EQ(entry("srv/app/extracted/inner.txt"), "-rw-r--r-- 0/0");
  EXPECT_EQ(entry("srv/app/version.txt"), "-rw-r--r-- 1500/1500");
  EXPECT_EQ(entry("data"), "drwxr-xr-x 1500/1500");
  EXPECT_EQ(entry("onbuild.txt"), "-rw-r--r-- 0/0");

  if (HaveTool("umoci")) {
    std::string bundle = Out("bundle");
    auto u = RunProcess({"umoci", "unpack", "--rootless", "--image", layout + ":1", bundle});
    ASSERT_TRUE(u.ok());
    ASSERT_EQ(u->exit_code, 0) << u->err;
    EXPECT_EQ(*ReadFile(JoinPath(bundle, "rootfs/srv/app/version.txt")), "1.2 spicy\n");
    EXPECT_EQ(*ReadFile(JoinPath(bundle, "rootfs/srv/app/extracted/inner.txt")), "from-tar\n");
    EXPECT_EQ(*ReadFile(JoinPath(bundle, "rootfs/onbuild.txt")), "triggered\n");
    // umoci's runtime config carries the image config through.
    auto rt = ReadJson(JoinPath(bundle, "config.json"));
    EXPECT_EQ(rt["process"]["cwd"], "/srv/app");
    EXPECT_EQ(rt["process"]["args"].back(), "from-cmd");
  }

  std::string script = JoinPath(Env("OCIBUILD_SOURCE_DIR"), "scripts/dockerd.sh");
  auto host = RunProcess({script, "start"});
  if (!host.ok() || host->exit_code != 0) {
    std::cerr << "*** no Docker daemon here; the image was not run ***\n";
    return;
  }
  SpawnOptions o;
  o.extra_env["DOCKER_HOST"] = std::string(TrimSpace(host->out));
  std::string docker = PathExists("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
  auto load = RunProcess({docker, "load", "-i", Out("img.tar")}, o);
  ASSERT_TRUE(load.ok());
  ASSERT_EQ(load->exit_code, 0) << load->err;
  auto run = RunProcess({docker, "run", "--rm", "--network", "none", "localhost/every:1"}, o);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->exit_code, 0) << run->err;
  EXPECT_EQ(run->out, "1.2 spicy from-tar app triggered from-cmd\n");
  (void)RunProcess({docker, "rmi", "-f", "localhost/every:1"}, o);
}

TEST_F(E2E, DockerRunsTheImage) {
  std::string script = JoinPath(Env("OCIBUILD_SOURCE_DIR"), "scripts/dockerd.sh");
  auto host = RunProcess({script, "start"});
  if (!host.ok() || host->exit_code != 0)
    GTEST_SKIP() << "no Docker daemon here: " << (host.ok() ? host->err : "");
  std::string docker_host(TrimSpace(host->out));
  std::string docker = PathExists("/usr/bin/docker") ? "/usr/bin/docker" : "docker";
  std::string ctx = Context("examples/hello");
  std::string tag = "ocibuild-e2e/hello:" + std::to_string(::getpid());
  auto r = Build({"-t", tag, "--output", "type=docker,dest=" + Out("img.tar"), ctx});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  SpawnOptions o;
  o.extra_env["DOCKER_HOST"] = docker_host;
  auto load = RunProcess({docker, "load", "-i", Out("img.tar")}, o);
  ASSERT_TRUE(load.ok());
  ASSERT_EQ(load->exit_code, 0) << load->err;
  auto run = RunProcess({docker, "run", "--rm", "--network", "none", tag}, o);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->exit_code, 0) << run->err;
  EXPECT_EQ(run->out, "hello from ocibuild\nrunning as app in /app\n");
  (void)RunProcess({docker, "rmi", "-f", tag}, o);
}

}  // namespace
}  // namespace ocibuild
