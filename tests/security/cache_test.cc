// Cache poisoning (issue 16, class 7): a hostile build followed by a trusted build on the same
// OCIBUILD_ROOT must give exactly the image a trusted build gives on a fresh OCIBUILD_ROOT.
//
// Per probe, in one HostWorld (SOURCE_DATE_EPOCH fixed, so that equal trees give equal digests):
//   fresh:   prime and trusted (below) on a new state directory of their own -> reference digest;
//   prime:   the base layers (busybox, /data/file.txt, /report) into the shared state directory;
//   hostile: base + /probe, RUN the probe; its tree is restored from the rootfs cache, so its
//            files are hardlinks shared with the cache (the probe prints their link counts);
//            judged by every host-side check of the other probes too;
//   trusted: base + RUN /report (tree_report: every file's mode, owner, size, hash, mtime, xattrs)
//            on the shared state directory -> must equal the reference.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/integration_testing.h"
#include "tests/security/host_world.h"
#include "tests/security/security_harness.h"
#include "util/fs.h"

namespace ocibuild::security {
namespace {

constexpr char kBase[] =
    "FROM scratch\n"
    "COPY rootfs/bin /bin\n"
    "COPY data /data\n"
    "COPY report /report\n";

struct Image {
  std::string digest;  // manifest
  std::string report;  // /tree-report.txt of the last layer
  std::string error;
};

std::string Blob(const std::string& layout, const std::string& digest) {
  auto r = ReadFile(layout + "/blobs/sha256/" + digest.substr(7));
  return r.ok() ? *r : "";
}

// The content of `name` in an uncompressed tar ("" when absent).
std::string TarEntry(const std::string& tar, const std::string& name) {
  size_t pos = 0;
  while (pos + 512 <= tar.size()) {
    const char* h = tar.data() + pos;
    if (!h[0]) break;
    std::string n(h, strnlen(h, 100));
    std::string prefix(h + 345, strnlen(h + 345, 155));
    if (!prefix.empty()) n = prefix + "/" + n;
    size_t size = std::strtoul(std::string(h + 124, 12).c_str(), nullptr, 8);
    char type = h[156];
    while (n.rfind("./", 0) == 0) n = n.substr(2);
    while (!n.empty() && n[0] == '/') n = n.substr(1);
    if (n == name && (type == '0' || type == 0)) return tar.substr(pos + 512, size);
    pos += 512 + (size + 511) / 512 * 512;
  }
  return "";
}

Image ReadImage(const std::string& layout) {
  Image im;
  try {
    auto idx = ReadFile(layout + "/index.json");
    if (!idx.ok()) {
      im.error = "no index.json in " + layout;
      return im;
    }
    auto index = nlohmann::json::parse(*idx);
    im.digest = index["manifests"][0]["digest"];
    auto manifest = nlohmann::json::parse(Blob(layout, im.digest));
    std::string last = manifest["layers"].back()["digest"];
    im.report = TarEntry(Blob(layout, last), "tree-report.txt");
    if (im.report.empty()) im.error = "no tree-report.txt in the last layer of " + layout;
  } catch (const std::exception& e) {
    im.error = std::string("cannot read the image in ") + layout + ": " + e.what();
  }
  return im;
}

// Lines of `a` missing from `b` and the other way round (at most 12).
std::string ReportDiff(const std::string& fresh, const std::string& got) {
  auto lines = [](const std::string& s) {
    std::set<std::string> out;
    size_t p = 0;
    while (p < s.size()) {
      size_t n = s.find('\n', p);
      if (n == std::string::npos) n = s.size();
      out.insert(s.substr(p, n - p));
      p = n + 1;
    }
    return out;
  };
  auto a = lines(fresh), b = lines(got);
  std::string d;
  int k = 0;
  for (const auto& l : a)
    if (!b.count(l) && k++ < 6) d += "\n      fresh:   " + l;
  for (const auto& l : b)
    if (!a.count(l) && k++ < 12) d += "\n      trusted: " + l;
  return d;
}

class CacheFlow {
 public:
  explicit CacheFlow(const std::string& probe) {
    HostWorld::Options o;
    o.probe = probe;
    w = HostWorld::Create(o, &error);
    if (!w) return;
    bool ok =
        MakeDirs(w->ctx + "/data", 0755).ok() &&
        WriteFile(w->ctx + "/data/file.txt",
                  "trusted data: the trusted step reads this file; 64 bytes of it.\n")
            .ok() &&
        WriteProgram("tree_report", w->ctx + "/report") &&
        WriteFile(w->ctx + "/Dockerfile.prime", std::string(kBase) + "RUN [\"/bin/true\"]\n")
            .ok() &&
        WriteFile(w->ctx + "/Dockerfile.hostile",
                  std::string(kBase) +
                      "COPY rootfs/probe /probe\nARG OCIB_HINTS\nRUN --network=none [\"/probe\"]\n")
            .ok() &&
        WriteFile(w->ctx + "/Dockerfile.trusted",
                  std::string(kBase) + "RUN [\"/report\", \"/tree-report.txt\"]\n")
            .ok();
    if (!ok) error = "writing the cache context";
  }

  BuildResult Build(const std::string& dockerfile, const std::string& root,
                    const std::string& layout, bool hints = false) {
    std::vector<std::string> args = {"--progress=plain", "-f", w->ctx + "/" + dockerfile};
    if (hints) {
      args.push_back("--build-arg");
      args.push_back("OCIB_HINTS=" + w->Hints());
    }
    args.push_back("-o");
    args.push_back("type=oci,dest=" + layout + ",compression=uncompressed");
    args.push_back(w->ctx);
    BuildSpec s = w->Spec(args);
    s.env["OCIBUILD_ROOT"] = root;
    s.env["SOURCE_DATE_EPOCH"] = "1700000000";
    return RunOcibuild(s);
  }

  // The entries of the shared rootfs cache (each a directory next to its lock).
  std::vector<std::string> CacheEntries() {
    std::vector<std::string> out;
    for (const auto& p : NamesContaining(w->state + "/rootfs-cache", ""))
      if (p.size() > 5 && p.substr(p.size() - 5) != "/lock" && p.find("/.") == std::string::npos) {
        struct stat st;
        if (::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) out.push_back(p);
      }
    return out;
  }

  std::unique_ptr<HostWorld> w;
  std::string error;
};

// Overwrites, as the host would, the cache's copy of /data/file.txt in place, keeping its size
// and times.
bool HarnessTamper(CacheFlow& flow) {
  bool done = false;
  for (const auto& e : flow.CacheEntries())
    for (const auto& n : NamesContaining(e + "/nodes", "")) {
      auto text = ReadFile(n);
      if (!text.ok() || text->rfind("trusted data", 0) != 0) continue;
      struct stat st;
      ::stat(n.c_str(), &st);
      int fd = ::open(n.c_str(), O_WRONLY);
      if (fd < 0 || ::pwrite(fd, "HARNESS!", 8, 0) != 8) continue;
      timespec ts[2] = {st.st_atim, st.st_mtim};
      ::futimens(fd, ts);
      ::close(fd);
      done = true;
    }
  return done;
}

void RunCacheProbe(const std::string& probe, bool harness_tamper = false) {
  if (testing::Env("OCIBUILD_BINARY").empty()) GTEST_SKIP() << "OCIBUILD_BINARY not set";
  if (testing::Busybox().empty()) GTEST_SKIP() << "no static busybox on this machine";
  CacheFlow flow(probe);
  ASSERT_TRUE(flow.w) << flow.error;
  ASSERT_TRUE(flow.error.empty()) << flow.error;
  HostWorld& w = *flow.w;
  // The reference takes the same road (prime, then trusted on the same state), so that its tree
  // too is unpacked from the layers rather than made by COPY.
  BuildResult fp = flow.Build("Dockerfile.prime", w.out + "/fresh-state", w.out + "/fresh-prime");
  ASSERT_EQ(fp.exit_code, 0) << "the fresh priming build failed:\n" << fp.log;
  BuildResult fr =
      flow.Build("Dockerfile.trusted", w.out + "/fresh-state", w.out + "/fresh-layout");
  ASSERT_EQ(fr.exit_code, 0) << "the fresh trusted build failed:\n" << fr.log;
  Image fresh = ReadImage(w.out + "/fresh-layout");
  ASSERT_TRUE(fresh.error.empty()) << fresh.error;
  BuildResult pr = flow.Build("Dockerfile.prime", w.state, w.out + "/prime-layout");
  ASSERT_EQ(pr.exit_code, 0) << "the priming build failed:\n" << pr.log;

  w.Before();
  BuildResult r = flow.Build("Dockerfile.hostile", w.state, w.out + "/hostile-layout", true);
  std::set<long> none;
  std::vector<std::string> f = ProbeFindings(probe, r, "", none);
  for (auto& s : w.After(r)) f.push_back(std::move(s));
  ProbeOutput o = ParseProbeOutput(r.log, probe);
  // The hostile step's file was shared when its inode is one the cache holds (the step's own
  // stat does not show the cache's extra names in the link count). The hostile build saved the
  // entry; nothing in it may be dropped (the harness tampers with its nodes next).
  std::set<unsigned long long> cached_inodes;
  for (const auto& e : flow.CacheEntries())
    for (const auto& n : NamesContaining(e + "/nodes", "")) {
      struct stat st;
      if (::lstat(n.c_str(), &st) == 0) cached_inodes.insert(st.st_ino);
    }
  bool shared = false;
  for (const auto& l : o.lines) {
    size_t at = l.find("/data/file.txt: inode ");
    if (at != std::string::npos &&
        cached_inodes.count(std::strtoull(l.c_str() + at + 22, nullptr, 10)))
      shared = true;
  }
  if (!shared)
    std::cout << "*** " << probe << ": the hostile step's /data/file.txt was not shared with the "
              << "rootfs cache (its inode is in no entry): in-place poisoning of shared inodes was "
              << "not exercised ***" << std::endl;
  if (flow.CacheEntries().empty())
    f.push_back("the rootfs cache kept no tree: the flow did not exercise the cache");
  if (harness_tamper && !HarnessTamper(flow))
    f.push_back("the harness found no cache node of /data/file.txt to tamper with");

  BuildResult tr = flow.Build("Dockerfile.trusted", w.state, w.out + "/trusted-layout");
  if (tr.exit_code != 0) {
    std::string tail = tr.log.substr(tr.log.size() > 700 ? tr.log.size() - 700 : 0);
    for (char& c : tail)
      if (c == '\n') c = '|';
    f.push_back("the trusted build after the hostile one failed: " + tail);
  } else {
    Image trusted = ReadImage(w.out + "/trusted-layout");
    if (!trusted.error.empty()) {
      f.push_back(trusted.error);
    } else if (trusted.digest != fresh.digest) {
      std::string msg = "the trusted build on the shared state differs from a fresh one (" +
                        trusted.digest.substr(0, 19) + " vs " + fresh.digest.substr(0, 19) + ")" +
                        ReportDiff(fresh.report, trusted.report);
      if (harness_tamper)
        std::cout << "harness tamper reached the trusted build, as it must:" << msg << std::endl;
      else
        f.push_back(msg);
    } else if (harness_tamper) {
      f.push_back(
          "a same-size, same-mtime write to the cache's node by the HOST did not reach "
          "the trusted build: the comparison cannot see a poisoned entry (or the cache "
          "now verifies contents: then this control must change)");
    }
  }
  Report(probe, f, r);
}

}  // namespace

// Controls: the method itself.
TEST(CacheControl, equal_inputs_give_equal_digests_and_changed_data_does_not) {
  if (testing::Env("OCIBUILD_BINARY").empty()) GTEST_SKIP() << "OCIBUILD_BINARY not set";
  if (testing::Busybox().empty()) GTEST_SKIP() << "no static busybox on this machine";
  CacheFlow flow("cache_benign");
  ASSERT_TRUE(flow.w) << flow.error;
  HostWorld& w = *flow.w;
  ASSERT_EQ(flow.Build("Dockerfile.trusted", w.out + "/a", w.out + "/la").exit_code, 0);
  ASSERT_EQ(flow.Build("Dockerfile.trusted", w.out + "/b", w.out + "/lb").exit_code, 0);
  ASSERT_TRUE(WriteFile(w.ctx + "/data/file.txt",
                        "TAMPERED data: the trusted step reads this file; 64 bytes of it.\n")
                  .ok());
  ASSERT_EQ(flow.Build("Dockerfile.trusted", w.out + "/c", w.out + "/lc").exit_code, 0);
  Image a = ReadImage(w.out + "/la"), b = ReadImage(w.out + "/lb"), c = ReadImage(w.out + "/lc");
  ASSERT_TRUE(a.error.empty()) << a.error;
  EXPECT_EQ(a.digest, b.digest) << "two fresh builds of the same input differ:"
                                << ReportDiff(a.report, b.report);
  EXPECT_NE(a.digest, c.digest) << "a changed data file does not change the trusted image";
  EXPECT_NE(a.report.find("/data/file.txt"), std::string::npos) << a.report;
}
TEST(CacheControl, cache_benign) {
  RunCacheProbe("cache_benign");
}
// With the current cache (size, mtime and mode compared), a host-side in-place write reaches the
// trusted build: this proves the flow restores the cached tree and the comparison sees it.
TEST(CacheControl, harness_tamper_reaches_trusted_build) {
  RunCacheProbe("cache_benign", true);
}

// Class 7: the step poisons the cache.
TEST(CachePoisoning, cache_procfd_write) {
  RunCacheProbe("cache_procfd_write");
}
TEST(CachePoisoning, cache_other_spelling) {
  RunCacheProbe("cache_other_spelling");
}
TEST(CachePoisoning, cache_hardlink) {
  RunCacheProbe("cache_hardlink");
}
TEST(CachePoisoning, cache_mmap) {
  RunCacheProbe("cache_mmap");
}
TEST(CachePoisoning, cache_truncate) {
  RunCacheProbe("cache_truncate");
}
TEST(CachePoisoning, cache_xattr) {
  RunCacheProbe("cache_xattr");
}
TEST(CachePoisoning, cache_metadata) {
  RunCacheProbe("cache_metadata");
}
TEST(CachePoisoning, cache_openat2_flags) {
  RunCacheProbe("cache_openat2_flags");
}
TEST(CachePoisoning, cache_state_dir) {
  RunCacheProbe("cache_state_dir");
}

}  // namespace ocibuild::security
