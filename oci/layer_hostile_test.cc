// The hostile layer corpus (testdata/hostile, from scripts/gen-hostile-layers.py): every tar is
// either rejected with the expected error or applied without touching anything outside the root.
// Runs as root, as an unprivileged user and in a container (see oci/CMakeLists.txt), with both
// in-root resolution methods.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "oci/layer_applier.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild::oci {
namespace {

constexpr char kHostEscape[] = "/tmp/ocibuild-hostile-escape";

struct Case {
  std::string name, outcome, message;
};

std::string CorpusDir() {
  const char* td = std::getenv("OCIBUILD_TESTDATA");
  return std::string(td ? td : "testdata") + "/hostile";
}

std::vector<Case> LoadCases() {
  std::vector<Case> out;
  std::ifstream in(CorpusDir() + "/expectations.tsv");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    auto parts = Split(line, '\t');
    if (parts.size() < 2) continue;
    out.push_back({parts[0], parts[1], parts.size() > 2 ? parts[2] : ""});
  }
  return out;
}

// Everything under `dir` except `skip`: type, mode, size, mtime and content, by path.
void Record(const std::string& dir, const std::string& rel, const std::string& skip,
            std::map<std::string, std::string>* out) {
  DIR* d = ::opendir(dir.c_str());
  ASSERT_NE(d, nullptr) << dir;
  while (struct dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n == "." || n == "..") continue;
    std::string path = dir + "/" + n, r = rel.empty() ? n : rel + "/" + n;
    if (path == skip) continue;
    struct stat st;
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    std::string v = std::to_string(st.st_mode) + " " + std::to_string(st.st_size) + " " +
                    std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) +
                    " " + std::to_string(st.st_nlink);
    if (S_ISREG(st.st_mode)) v += " " + Sha256::HexOf(*ReadFile(path));
    (*out)[r] = v;
    if (S_ISDIR(st.st_mode)) Record(path, r, skip, out);
  }
  ::closedir(d);
}

class HostileTest : public ::testing::TestWithParam<sys::InRootMethod> {};

TEST_P(HostileTest, EachLayerIsRejectedOrContained) {
  auto cases = LoadCases();
  ASSERT_GE(cases.size(), 20u) << "corpus missing at " << CorpusDir();
  std::string host_passwd = *ReadFile("/etc/passwd");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    if (PathExists(kHostEscape)) {
      ASSERT_TRUE(RemoveAll(kHostEscape).ok());
    }
    auto sandbox = TempDir::Create("ocibuild-hostile-");
    ASSERT_TRUE(sandbox.ok());
    std::string root = sandbox->path() + "/root";
    std::string sentinel = sandbox->path() + "/sentinel";
    ASSERT_EQ(::mkdir(root.c_str(), 0755), 0);
    ASSERT_TRUE(MakeDirs(sentinel + "/sub").ok());
    ASSERT_TRUE(WriteFile(sentinel + "/secret", "secret\n").ok());
    ASSERT_TRUE(WriteFile(sandbox->path() + "/sentinel-file", "s\n").ok());
    std::map<std::string, std::string> before, after;
    Record(sandbox->path(), "", root, &before);

    auto rootdir = RootDir::Open(root, GetParam());
    ASSERT_TRUE(rootdir.ok());
    MetaStore store;
    auto blob = OpenFile(CorpusDir() + "/" + c.name + ".tar", O_RDONLY);
    ASSERT_TRUE(blob.ok()) << blob.error().message;
    auto r = ApplyLayer(*rootdir, store, blob->get());

    if (c.outcome == "rejected") {
      ASSERT_FALSE(r.ok());
      if (EndsWith(c.message, "...")) {
        EXPECT_TRUE(StartsWith(r.error().message, c.message.substr(0, c.message.size() - 3)))
            << r.error().message;
      } else {
        EXPECT_EQ(r.error().message, c.message);
      }
    } else {
      EXPECT_EQ(c.outcome, "contained");
      EXPECT_TRUE(r.ok()) << r.error().message;
    }
    Record(sandbox->path(), "", root, &after);
    EXPECT_EQ(before, after) << "something outside the root changed";
    EXPECT_FALSE(PathExists(kHostEscape));
    EXPECT_EQ(*ReadFile("/etc/passwd"), host_passwd);

    if (c.name == "symlink-then-write") {
      EXPECT_EQ(*ReadFile(root + "/sentinel/pwned"), "pwned\n");  // landed inside
    }
    if (c.name == "devices-inside") {
      struct stat st;
      ASSERT_EQ(::lstat((root + "/dev/sda").c_str(), &st), 0);
      EXPECT_TRUE(S_ISREG(st.st_mode));
      EXPECT_EQ(store.Effective(st).mode, S_IFBLK | 0660u);
      ASSERT_EQ(::lstat((root + "/dev/mem").c_str(), &st), 0);
      EXPECT_TRUE(S_ISREG(st.st_mode));
      EXPECT_EQ(st.st_size, 0);
    }
    if (c.name == "symlink-over-file") {
      EXPECT_EQ(*ReadFile(root + "/f"), "pwned\n");
      struct stat st;
      ASSERT_EQ(::lstat((root + "/f").c_str(), &st), 0);
      EXPECT_TRUE(S_ISREG(st.st_mode));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Methods, HostileTest,
                         ::testing::Values(sys::InRootMethod::kOpenat2, sys::InRootMethod::kWalk),
                         [](const auto& info) {
                           return info.param == sys::InRootMethod::kOpenat2 ? "openat2" : "walk";
                         });

TEST(HostileCorpus, MatchesItsGenerator) {
  const char* src = std::getenv("OCIBUILD_SOURCE_DIR");
  if (!src || ::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "no python3 or source dir";
  auto tmp = TempDir::Create("ocibuild-corpus-");
  ASSERT_TRUE(tmp.ok());
  auto r =
      RunProcess({"python3", std::string(src) + "/scripts/gen-hostile-layers.py", tmp->path()});
  ASSERT_TRUE(r.ok() && r->success()) << (r.ok() ? r->err : r.error().message);
  for (const auto& c : LoadCases()) {
    EXPECT_EQ(*ReadFile(tmp->path() + "/" + c.name + ".tar"),
              *ReadFile(CorpusDir() + "/" + c.name + ".tar"))
        << c.name << ": regenerate with scripts/gen-hostile-layers.py";
  }
}

}  // namespace
}  // namespace ocibuild::oci
