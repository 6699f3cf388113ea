// Scoped trees (builder/scoped_tree.h) must give the very layers the whole tree gives: every
// Dockerfile here is built with them on and off (OCIBUILD_SCOPED_TREES=0), each in a state
// directory of its own, cold and then again after an edit of the context (the cache's real use),
// with the unpacked-tree cache saving after every step (OCIBUILD_ROOTFS_CACHE_SAVE_BYTES=1, so
// scoped trees are restored from it) and with its default (so they are unpacked from the
// layers). The images' manifest digests must match. The bases are busybox images whose layers
// RUN steps made, so their whiteouts, opaque directories, owners and hardlinks are real ones.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "tests/integration/integration_testing.h"
#include "util/fs.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild {
namespace {

using testing::Busybox;
using testing::Env;

// A fixed epoch in the past: every time newer than it is clamped, so what the builds made at
// different seconds compares equal, while the base's directories keep the older times set by
// `touch -d` (which a scoped tree must carry exactly).
constexpr char kEpoch[] = "1600000000";

// The base every test builds on: busybox with its applets, /etc/passwd and /etc/group naming
// `app` (1000:1000).
constexpr char kBase[] =
    "FROM scratch AS base\n"
    "COPY busybox /bin/busybox\n"
    "RUN [\"/bin/busybox\", \"sh\", \"-c\", \"/bin/busybox --install -s /bin && mkdir -p /etc && "
    "echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd && "
    "echo 'app:x:1000:1000::/home/app:/bin/sh' >> /etc/passwd && "
    "echo 'root:x:0:' > /etc/group && echo 'app:x:1000:' >> /etc/group\"]\n";

struct Image {
  std::string manifest;  // digest
  std::vector<std::string> diff_ids;
  bool ok = false;
};

class ScopedTrees : public ::testing::Test {
 protected:
  void SetUp() override {
    bin_ = Env("OCIBUILD_BINARY");
    ASSERT_FALSE(bin_.empty()) << "OCIBUILD_BINARY not set";
    if (Busybox().empty()) GTEST_SKIP() << "no static busybox on this machine";
    auto d = TempDir::Create("ocibuild-scoped-");
    ASSERT_TRUE(d.ok());
    tmp_ = std::make_unique<TempDir>(std::move(*d));
    ctx_ = JoinPath(tmp_->path(), "ctx");
    ASSERT_TRUE(MakeDirs(JoinPath(ctx_, "dir/sub")).ok());
    auto cp = RunProcess({"cp", Busybox(), JoinPath(ctx_, "busybox")});
    ASSERT_TRUE(cp.ok() && cp->success());
    Edit(0);
  }
  void TearDown() override {
    if (!trash_held_.empty()) ReleaseTrash();
  }

  // The context's files (a new version of each for every `round`).
  void Edit(int round) {
    std::string v = std::to_string(round);
    ASSERT_TRUE(WriteFile(JoinPath(ctx_, "f.txt"), "file " + v + "\n").ok());
    ASSERT_TRUE(WriteFile(JoinPath(ctx_, "g.txt"), "other " + v + "\n").ok());
    ASSERT_TRUE(WriteFile(JoinPath(ctx_, "dir/a.txt"), "a " + v + "\n").ok());
    ASSERT_TRUE(WriteFile(JoinPath(ctx_, "dir/sub/b.txt"), "b " + v + "\n").ok());
    // Fixed mtimes: COPY keeps them, and the clamp keeps old ones.
    for (const char* f : {"f.txt", "g.txt", "dir/a.txt", "dir/sub/b.txt", "dir/sub", "dir"}) {
      auto t = RunProcess({"touch", "-d", "2001-02-03 04:05:06", JoinPath(ctx_, f)});
      ASSERT_TRUE(t.ok() && t->success());
    }
  }

  // Builds the base image (kBase and then `steps`) into an OCI layout that the tests'
  // Dockerfiles use as `FROM base`: both modes start from the very same layers (a RUN step's
  // layer may differ between two builds: see the report on inode reuse).
  void MakeBase(const std::string& steps) {
    ASSERT_TRUE(WriteFile(JoinPath(ctx_, "Dockerfile"), std::string(kBase) + steps).ok());
    std::string err;
    base_layout_.clear();
    Image base = Build("base", false, false, &err);
    ASSERT_TRUE(base.ok) << err;
    base_layout_ = last_out_;
  }

  // One build of the context into an OCI layout; `state` names the state directory.
  Image Build(const std::string& state, bool scoped, bool save_every_step, std::string* err,
              int* exit_code = nullptr) {
    std::string out = JoinPath(tmp_->path(), "out-" + std::to_string(++builds_));
    last_out_ = out;
    std::vector<std::string> argv = {bin_, "--progress=plain", "-o", "type=oci,dest=" + out};
    if (!base_layout_.empty()) {
      argv.push_back("--build-context");
      argv.push_back("base=oci-layout://" + base_layout_);
    }
    argv.push_back(ctx_);
    SpawnOptions o;
    o.extra_env["OCIBUILD_ROOT"] = JoinPath(tmp_->path(), state);
    o.extra_env["SOURCE_DATE_EPOCH"] = kEpoch;
    if (!scoped) o.extra_env["OCIBUILD_SCOPED_TREES"] = "0";
    if (save_every_step) o.extra_env["OCIBUILD_ROOTFS_CACHE_SAVE_BYTES"] = "1";
    for (const auto& [k, v] : env_) o.extra_env[k] = v;
    auto r = RunProcess(argv, o);
    Image img;
    if (!r.ok()) {
      *err = r.error().message;
      return img;
    }
    *err = r->err;
    if (exit_code) *exit_code = r->exit_code;
    if (r->exit_code != 0) return img;
    auto index = ReadFile(JoinPath(out, "index.json"));
    if (!index.ok()) return img;
    auto blob = [&](const std::string& digest) {
      auto data = ReadFile(JoinPath(out, "blobs/sha256/" + digest.substr(7)));
      return nlohmann::json::parse(data.ok() ? *data : "{}");
    };
    img.manifest = nlohmann::json::parse(*index)["manifests"][0]["digest"];
    auto manifest = blob(img.manifest);
    auto config = blob(manifest["config"]["digest"]);
    for (const auto& d : config["rootfs"]["diff_ids"]) img.diff_ids.push_back(d);
    img.ok = true;
    return img;
  }

  // Builds `dockerfile` with scoped trees on and off, cold and after an edit, with both cache
  // settings; all images must match pairwise.
  void ExpectSameImages(const std::string& base_steps, const std::string& dockerfile) {
    if (base_layout_.empty()) MakeBase(base_steps);
    ASSERT_TRUE(WriteFile(JoinPath(ctx_, "Dockerfile"), dockerfile).ok());
    for (bool save : {false, true}) {
      std::string tag = save ? "save" : "keep";
      // Saving: the base's whole tree goes into the unpacked-tree cache first, so that the
      // scoped trees are restored from it (with its hardlinks) rather than unpacked.
      if (save) WarmUp(tag, dockerfile);
      for (int round = 0; round < 2; ++round) {
        Edit(round);
        std::string err_on, err_off;
        Image on = Build("on-" + tag, true, save, &err_on);
        Image off = Build("off-" + tag, false, save, &err_off);
        ASSERT_TRUE(off.ok) << err_off;
        ASSERT_TRUE(on.ok) << err_on;
        EXPECT_EQ(on.diff_ids, off.diff_ids)
            << "round " << round << ", cache " << tag << "\nscoped:\n"
            << Join(on.diff_ids, "\n") << "\nwhole:\n"
            << Join(off.diff_ids, "\n") << "\n"
            << err_on;
        EXPECT_EQ(on.manifest, off.manifest) << "round " << round << ", cache " << tag;
      }
    }
  }

  // Builds `FROM base` + `RUN true` in both states of `tag`, then puts `dockerfile` back.
  void WarmUp(const std::string& tag, const std::string& dockerfile) {
    ASSERT_TRUE(WriteFile(JoinPath(ctx_, "Dockerfile"), "FROM base\nRUN true\n").ok());
    for (bool scoped : {true, false}) {
      std::string err;
      ASSERT_TRUE(Build((scoped ? "on-" : "off-") + tag, scoped, true, &err).ok) << err;
    }
    ASSERT_TRUE(WriteFile(JoinPath(ctx_, "Dockerfile"), dockerfile).ok());
  }

  // Keeps the emptier from deleting the builds' work directories (they wait in the trash).
  void HoldTrash(const std::string& state) {
    trash_held_ = JoinPath(JoinPath(tmp_->path(), state), "trash");
    ASSERT_TRUE(MakeDirs(trash_held_, 0700).ok());
    trash_lock_.reset(::open(JoinPath(trash_held_, ".lock").c_str(), O_RDWR | O_CREAT, 0600));
    ASSERT_TRUE(trash_lock_);
    ASSERT_EQ(::flock(trash_lock_.get(), LOCK_EX), 0);
  }
  void ReleaseTrash() {
    trash_lock_.reset();
    // Let the emptiers finish before the temporary directory goes.
    for (int i = 0; i < 300; ++i) {
      auto f = RunProcess(
          {"find", trash_held_, "-mindepth", "1", "-maxdepth", "1", "-not", "-name", ".*"});
      if (f.ok() && TrimSpace(f->out).empty()) break;
      ::usleep(100'000);
    }
    trash_held_.clear();
  }
  // The stage trees the held trash holds, as "stage-N" -> whether `probe` is in it.
  std::vector<std::string> TreesWith(const std::string& probe, const std::string& without) {
    auto f = RunProcess({"find", trash_held_, "-path", "*/rootfs/" + probe});
    std::vector<std::string> out;
    if (!f.ok()) return out;
    for (const auto& line : Split(TrimSpace(f->out), '\n')) {
      if (line.empty()) continue;
      std::string rootfs = line.substr(0, line.find("/rootfs/") + 7);
      if (!PathExists(JoinPath(rootfs, without))) out.push_back(rootfs);
    }
    return out;
  }

  std::string bin_;
  std::unique_ptr<TempDir> tmp_;
  std::string ctx_;
  std::string base_layout_, last_out_;
  int builds_ = 0;
  std::map<std::string, std::string> env_;  // for every build
  std::string trash_held_;
  UniqueFd trash_lock_;
};

// The base's /app is made by RUN steps with an owner, a mode and a time of its own; a scoped
// tree must carry them into the COPY's layer (as the parent of what is copied).
TEST_F(ScopedTrees, CopyIntoADirectoryWhoseMetadataComesFromLowerLayers) {
  ExpectSameImages(
      "RUN mkdir -p /app/data /srv && chown 1000:1000 /app && chmod 0750 /app && "
      "touch -d '2003-01-01 00:00:00' /app/data && touch -d '2002-01-01 00:00:00' /app\n"
      "RUN chown 1000:1000 /app/data && chmod 0700 /app/data\n",
      "FROM base\n"
      "COPY f.txt /app/data/\n"
      "COPY dir /app/data/dir\n"
      "COPY g.txt /app/data/g.txt\n");
}

TEST_F(ScopedTrees, TheScopedTreeIsReallyUsedAndHoldsOnlyTheScope) {
  MakeBase("RUN mkdir -p /app/in && echo old > /app/old && echo old > /app/in/old\n");
  std::string dockerfile = "FROM base\nCOPY f.txt /app/in/\n";
  ASSERT_TRUE(WriteFile(JoinPath(ctx_, "Dockerfile"), dockerfile).ok());
  HoldTrash("on-save");
  std::string err;
  Image on = Build("on-save", true, true, &err);
  ASSERT_TRUE(on.ok) << err;
  // A tree with the copied file and the base's /app/in/old, without busybox or /app/old.
  auto scoped = TreesWith("app/in/f.txt", "bin/busybox");
  ASSERT_EQ(scoped.size(), 1u) << "no scoped tree was made";
  EXPECT_TRUE(PathExists(JoinPath(scoped[0], "app/in/old")));
  EXPECT_FALSE(PathExists(JoinPath(scoped[0], "app/old")));
  Image off = Build("off-save", false, true, &err);
  ASSERT_TRUE(off.ok) << err;
  EXPECT_EQ(on.manifest, off.manifest);

  // With the base's tree in the unpacked-tree cache, the scoped tree links its files from there.
  WarmUp("save", dockerfile);
  Edit(1);
  on = Build("on-save", true, true, &err);
  ASSERT_TRUE(on.ok) << err;
  struct stat st;
  bool linked = false;
  for (const auto& t : TreesWith("app/in/f.txt", "bin/busybox"))
    linked = linked || (::stat(JoinPath(t, "app/in/old").c_str(), &st) == 0 && st.st_nlink > 1);
  EXPECT_TRUE(linked) << "the scoped tree was not restored from the unpacked-tree cache";
  off = Build("off-save", false, true, &err);
  ASSERT_TRUE(off.ok) << err;
  EXPECT_EQ(on.manifest, off.manifest);
}

TEST_F(ScopedTrees, CopyOverFilesAndDirectoriesOfLowerLayers) {
  ExpectSameImages(
      "RUN mkdir -p /app/dir /app/f.txt.d && echo old > /app/f.txt && "
      "echo old > /app/dir/a.txt && mkdir /app/dir/sub && echo old > /app/dir/sub/b.txt && "
      "chmod 0600 /app/dir/a.txt && echo keep > /app/dir/keep\n",
      "FROM base\n"
      "COPY f.txt /app/f.txt\n"
      "COPY dir /app/dir\n"
      "COPY f.txt /app/f.txt.d\n");
}

TEST_F(ScopedTrees, CopyADirectoryBelowAFileFailsAlike) {
  MakeBase("RUN mkdir /app && echo file > /app/thing\n");
  ASSERT_TRUE(
      WriteFile(JoinPath(ctx_, "Dockerfile"), "FROM base\nCOPY dir /app/thing/below\n").ok());
  std::string err_on, err_off;
  int code_on = 0, code_off = 0;
  Build("on", true, true, &err_on, &code_on);
  Build("off", false, true, &err_off, &code_off);
  EXPECT_NE(code_off, 0);
  EXPECT_EQ(code_on, code_off) << err_on;
  EXPECT_NE(err_off.find("is not a directory"), std::string::npos) << err_off;
  EXPECT_NE(err_on.find("is not a directory"), std::string::npos) << err_on;
}

TEST_F(ScopedTrees, Workdirs) {
  ExpectSameImages(
      "RUN mkdir -p /usr/src && chmod 0700 /usr/src && "
      "touch -d '2004-04-04 04:04:04' /usr/src /usr\n",
      "FROM base\n"
      "WORKDIR /usr/src\n"      // exists
      "WORKDIR /usr/src/app\n"  // missing
      "WORKDIR /srv/a/b/c\n"    // under missing directories
      "USER app\n"              // owns what WORKDIR makes: /etc/passwd is read
      "WORKDIR /home/app/work\n"
      "COPY f.txt ./\n"
      "COPY --chown=app:app dir ./dir\n"  // names too
      "WORKDIR /usr/src/app\n"
      "COPY g.txt ./\n");
}

// Bases and steps shared by the scoped and the focused cases.
constexpr char kWhiteoutsBase[] =
    "RUN mkdir -p /app/x/old /app/x/dest /app/y/z /app/gone && echo 1 > /app/x/dest/f.txt && "
    "echo 1 > /app/y/z/f && echo 1 > /app/x/old/f\n"
    "RUN rm -rf /app/x/old /app/x/dest /app/gone\n"
    "RUN mv /app/y /app/y.old && mkdir -p /app/y/z && echo 2 > /app/y/keep && "
    "rm -rf /app/y.old\n";
constexpr char kWhiteoutsCopies[] =
    "FROM base\n"
    "COPY f.txt /app/x/dest/\n"
    "COPY dir /app/y/z/\n"
    "COPY g.txt /app/gone/again/\n";
constexpr char kSymlinksBase[] =
    "RUN mkdir -p /opt/real /data/in /data/ok/real && ln -s /opt /app && "
    "ln -s ../../opt/real /data/in/sub && ln -s /opt/real /data/abs && "
    "ln -s real /data/ok/sub && echo 1 > /opt/real/f && chmod 0711 /opt /opt/real && "
    "touch -d '2005-05-05 05:05:05' /opt/real /opt\n";

// Whiteouts and opaque directories in upper layers of the base, on the destination's ancestors,
// on its siblings and on the destination itself. (The replaced directories are made before the
// old ones go, so that no inode number is reused: see MakeBase.)
TEST_F(ScopedTrees, WhiteoutsAndOpaqueDirectoriesOnTheWay) {
  ExpectSameImages(kWhiteoutsBase, kWhiteoutsCopies);
}

// COPY follows a symlink on the way in the root: the scoped tree cannot show where it leads.
TEST_F(ScopedTrees, SymlinkedAncestorsAndLinksBelowTheDestination) {
  ExpectSameImages(kSymlinksBase,
                   "FROM base\n"
                   "COPY f.txt /app/x/\n"
                   "COPY dir /data/in/\n"    // in/sub is a link out of the scope
                   "COPY dir /data/abs/\n"   // the destination is a link
                   "COPY dir /data/ok/\n");  // ok/sub links inside the scope
}

// A hardlink of the base with one name inside the scope and one outside, in both orders of the
// layer (the first name is the file, the second the link to it).
TEST_F(ScopedTrees, HardlinksCrossingTheScope) {
  ExpectSameImages(
      "RUN mkdir -p /a /z /m && echo 1 > /a/h && ln /a/h /z/h && echo 2 > /m/i && "
      "ln /m/i /a/i\n",
      "FROM base AS zed\n"
      "COPY f.txt /z/\n"  // /z/h links to /a/h, outside: the whole tree
      "FROM base\n"
      "COPY f.txt /a/\n"
      "COPY g.txt /a/h\n"  // over the linked file
      "COPY --from=zed /z /a/z\n");
}

// Layers that splice the gzip blocks an earlier layer of the build compressed (COPY --from of
// files another stage's step made: the same inodes, oci/layer_blocks.h) are the layers that
// compressing everything again gives (OCIBUILD_REUSE_BLOCKS=0), also where a later step
// changed a copied file in place or a COPY --chown gave it another owner.
TEST_F(ScopedTrees, LayersSplicingBlocksOfEarlierLayersAreTheSame) {
  MakeBase(
      "RUN mkdir /data && seq 1 400000 | sed 's/$/ row/' > /data/big && "
      "head -c 300000 /data/big > /data/mid\n");
  ASSERT_TRUE(WriteFile(JoinPath(ctx_, "Dockerfile"),
                        "FROM base AS gen\n"
                        "RUN cp -a /data /d1\n"
                        "FROM base AS two\n"
                        "COPY --from=gen /d1 /d2\n"
                        "RUN echo x >> /d2/mid\n"
                        "FROM base\n"
                        "COPY --from=gen /d1 /d3\n"
                        "COPY --from=gen --chown=app /d1/big /d4/big\n"
                        "COPY --from=two /d2 /d5\n")
                  .ok());
  // Blocks reused by the layers (OCIBUILD_LAYER_STATS: a JSON line per layer written).
  auto reused = [&](const std::string& stats) {
    uint64_t n = 0;
    auto text = ReadFile(stats);
    if (!text.ok()) return n;
    for (const auto& line : Split(TrimSpace(*text), '\n'))
      if (!line.empty()) n += nlohmann::json::parse(line).value("reused_blocks", uint64_t{0});
    return n;
  };
  std::string stats_on = JoinPath(tmp_->path(), "stats-on"),
              stats_off = JoinPath(tmp_->path(), "stats-off");
  std::string err_on, err_off;
  env_["OCIBUILD_LAYER_STATS"] = stats_on;
  Image on = Build("reuse", true, false, &err_on);
  env_["OCIBUILD_REUSE_BLOCKS"] = "0";
  env_["OCIBUILD_LAYER_STATS"] = stats_off;
  Image off = Build("full", true, false, &err_off);
  ASSERT_TRUE(on.ok) << err_on;
  ASSERT_TRUE(off.ok) << err_off;
  EXPECT_EQ(on.diff_ids, off.diff_ids);
  EXPECT_EQ(on.manifest, off.manifest);
  // The three COPYs of a whole copy of /data (5 + 1 blocks each, the appended mid's from two's
  // RUN) and /d4/big (5).
  EXPECT_GE(reused(stats_on), 20u);
  EXPECT_EQ(reused(stats_off), 0u);
  EXPECT_TRUE(PathExists(stats_off));
}

// A reader of a stage whose last step made a scoped tree sees the whole tree.
TEST_F(ScopedTrees, CopyFromAStageThatEndedScoped) {
  ExpectSameImages("RUN mkdir /app\n",
                   "FROM base AS mid\n"
                   "COPY f.txt /app/f.txt\n"
                   "FROM scratch\n"
                   "COPY --from=mid /bin/busybox /x/busybox\n"
                   "COPY --from=mid /app /x/app\n"
                   "COPY --from=mid /etc/passwd /x/passwd\n");
}

// Steps outside the first scope make a tree for both; heredocs and ADD work like COPY.
TEST_F(ScopedTrees, LaterStepsOutsideTheScopeAndOtherSources) {
  ExpectSameImages("RUN mkdir -p /app /other && echo 1 > /other/o\n",
                   "FROM base\n"
                   "COPY f.txt /app/\n"
                   "COPY g.txt /other/\n"
                   "COPY <<EOF /app/heredoc.txt\nhello\nEOF\n"
                   "ADD dir /third/\n"
                   "COPY --link f.txt /linked/\n"
                   "COPY --link --chown=app f.txt /linked/owned\n");
}

// The scoped tree's step is cached; a later build adds a RUN after it, which needs the whole
// tree: it is unpacked from the layers and the cache (a scoped tree saved there would lack
// busybox and fail the RUN).
TEST_F(ScopedTrees, AScopedStepFollowedByARunInALaterBuild) {
  std::string first = "FROM base\nCOPY f.txt /app/\n";
  ExpectSameImages("RUN mkdir /app\n", first);
  ExpectSameImages("", first + "RUN cat /app/f.txt > /app/copy && ls /bin/busybox\n");
}

// Focused commits (StageWorkspace::Focus): with a RUN later in the stage, COPY and WORKDIR work
// in the whole tree, and their layers come from a walk of their destination alone. The same
// cases as above, each stage ending in a RUN; OCIBUILD_SCOPED_TREES=0 walks the whole tree.
TEST_F(ScopedTrees, FocusedCopiesOverLowerLayersAndWorkdirs) {
  ExpectSameImages(
      "RUN mkdir -p /app/dir /app/f.txt.d /usr/src && echo old > /app/f.txt && "
      "echo old > /app/dir/a.txt && mkdir /app/dir/sub && echo old > /app/dir/sub/b.txt && "
      "chmod 0600 /app/dir/a.txt && echo keep > /app/dir/keep && chmod 0700 /usr/src && "
      "touch -d '2004-04-04 04:04:04' /usr/src /usr\n",
      "FROM base\n"
      "COPY f.txt /app/f.txt\n"
      "COPY dir /app/dir\n"
      "COPY f.txt /app/f.txt.d\n"
      "WORKDIR /usr/src/app\n"
      "WORKDIR /srv/a/b/c\n"
      "USER app\n"
      "WORKDIR /home/app/work\n"
      "COPY --chown=app:app dir ./dir\n"
      "COPY <<EOF /app/heredoc.txt\nhello\nEOF\n"
      "ADD dir /third/\n"
      "USER root\n"
      "RUN cat /app/f.txt > /app/copy\n");
}

TEST_F(ScopedTrees, FocusedCopiesWithWhiteoutsOnTheWay) {
  ExpectSameImages(kWhiteoutsBase, std::string(kWhiteoutsCopies) + "RUN true\n");
}

TEST_F(ScopedTrees, FocusedCopiesThroughSymlinks) {
  ExpectSameImages(kSymlinksBase,
                   "FROM base\n"
                   "COPY f.txt /app/x/\n"
                   "COPY dir /data/in/\n"
                   "COPY dir /data/abs/\n"
                   "COPY dir /data/ok/\n"
                   "RUN true\n");
}

TEST_F(ScopedTrees, FocusedCopiesOverHardlinks) {
  ExpectSameImages(
      "RUN mkdir -p /a /z /m && echo 1 > /a/h && ln /a/h /z/h && echo 2 > /m/i && "
      "ln /m/i /a/i\n",
      "FROM base AS zed\n"
      "COPY f.txt /z/\n"
      "RUN true\n"
      "FROM base\n"
      "COPY f.txt /a/\n"
      "COPY g.txt /a/h\n"
      "COPY --from=zed /z /a/z\n"
      "RUN true\n");
}

// A symlink below the destination that leads back to a directory on the way (`dir -> ..`):
// COPY --parents writes through it beside the destination, where the base already has a file.
// Neither a scoped tree nor a focused walk can show that: both must give the whole tree's layer.
TEST_F(ScopedTrees, ALinkBackToADirectoryOnTheWay) {
  constexpr char kBase[] =
      "RUN mkdir -p /srv/app /srv/sub && ln -s .. /srv/app/dir && echo old > /srv/sub/b.txt && "
      "echo keep > /srv/sub/keep\n";
  ExpectSameImages(kBase, "FROM base\nCOPY --parents dir/sub/b.txt /srv/app/\n");
  ExpectSameImages("", "FROM base\nCOPY --parents dir/sub/b.txt /srv/app/\nRUN true\n");
}

}  // namespace
}  // namespace ocibuild
