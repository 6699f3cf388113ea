// Layer engine benchmarks, each against a baseline measured in the same run:
//  1. unpack: ApplyLayerFile of a gzipped Debian minbase layer vs `tar -xzf` of the same blob
//     (goal: within 1.1x of tar), both into a directory marked as ocibuild's work root is;
//  2. diff: Snapshot + Diff of a 100,000-file tree after touching one file (goal: well under
//     0.5 s, and proportional to the changes: the layer holds one file and its parents).
//
//   layer_bench [--layer TAR_OR_TGZ] [--files N] [--runs R] [--workdir DIR]
// The layer defaults to $OCIBUILD_DEBIAN_BASE (gzipped into the workdir on first use).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "oci/diff.h"
#include "oci/layer_applier.h"
#include "oci/layer_writer.h"
#include "oci/snapshot.h"
#include "util/fs.h"
#include "util/subprocess.h"
#include "util/sys/inode_flags.h"

using namespace ocibuild;
using namespace ocibuild::oci;

namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// CPU time of this process (all threads): on a loaded machine the wall clock also counts time
// spent waiting for a core, so both are reported.
double Cpu() {
  struct timespec ts;
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// CPU time of waited-for children and their descendants (tar and its gzip).
double ChildCpu() {
  struct rusage ru;
  ::getrusage(RUSAGE_CHILDREN, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double Min(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "layer_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Check(Result<T> r, const std::string& what) {
  if (!r.ok()) Die(what + ": " + r.error().message);
  return std::move(*r);
}
void Check(Status s, const std::string& what) {
  if (!s.ok()) Die(what + ": " + s.error().message);
}

void Sync() {
  ::sync();
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string layer;
  if (const char* b = std::getenv("OCIBUILD_DEBIAN_BASE")) layer = b;
  int files = 100000, runs = 5;
  std::string workdir;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--layer")
      layer = argv[i + 1];
    else if (a == "--files")
      files = std::atoi(argv[i + 1]);
    else if (a == "--runs")
      runs = std::atoi(argv[i + 1]);
    else if (a == "--workdir")
      workdir = argv[i + 1];
    else
      Die("unknown flag " + a);
  }
  auto tmp = Check(TempDir::Create("ocibuild-layer-bench-", workdir), "temp dir");
  const std::string& w = tmp.path();

  if (!layer.empty()) {
    std::string blob = layer;
    if (layer.size() < 3 || layer.substr(layer.size() - 3) != ".gz") {
      blob = w + "/layer.tar.gz";
      auto r =
          Check(RunProcess({"sh", "-c", "gzip -c < '" + layer + "' > '" + blob + "'"}), "gzip");
      if (!r.success()) Die("gzip failed: " + r.err);
    }
    struct stat st;
    ::stat(blob.c_str(), &st);
    std::printf("unpack: %s (%.1f MB gzipped), %d runs each, alternating\n", layer.c_str(),
                st.st_size / 1e6, runs);
    std::vector<double> tar_t, ours_t, tar_cpu, ours_cpu;
    // Both unpack below a directory marked as ocibuild marks its work root (cli/app.cc): on an
    // ext4 without a journal, creating inodes next to ones freed in the last 30 s scans them
    // all, and each side would otherwise pay for deleting the other's tree, 3-10x, at random.
    std::string area = w + "/unpack";
    Check(MakeDirs(area), "mkdir");
    if (auto afd = OpenFile(area, O_RDONLY | O_DIRECTORY); afd.ok())
      (void)sys::SetTopDir(afd->get());
    auto run_tar = [&](const std::string& d) {
      Check(MakeDirs(d), "mkdir");
      Sync();
      double c0 = ChildCpu();
      double t0 = Now();
      auto r = Check(RunProcess({"tar", "-xzf", blob, "-C", d}), "tar");
      double t1 = Now();
      tar_cpu.push_back(ChildCpu() - c0);
      if (!r.success()) Die("tar -xzf failed: " + r.err);
      tar_t.push_back(t1 - t0);
      Check(RemoveAll(d), "rm");
    };
    auto run_ours = [&](const std::string& d) {
      Sync();
      MetaStore store;
      double c0 = Cpu();
      double t0 = Now();
      Check(ApplyLayerFile(d, store, blob), "apply");
      double t1 = Now();
      ours_cpu.push_back(Cpu() - c0);
      ours_t.push_back(t1 - t0);
      Check(RemoveAll(d), "rm");
    };
    for (int i = 0; i < runs; ++i) {
      std::string d1 = area + "/tar" + std::to_string(i), d2 = area + "/ours" + std::to_string(i);
      // Who goes first alternates: the first of a pair finds the page cache as the last
      // removal left it.
      if (i % 2 == 0) {
        run_tar(d1);
        run_ours(d2);
      } else {
        run_ours(d2);
        run_tar(d1);
      }
    }
    double mt = Median(tar_t), mo = Median(ours_t);
    std::printf(
        "  tar -xzf        median %.3f s  (min %.3f)\n"
        "  ApplyLayerFile  median %.3f s  (min %.3f)\n"
        "  ratio ours/tar  %.2fx median, %.2fx min (goal <= 1.10x)\n",
        mt, Min(tar_t), mo, Min(ours_t), mo / mt, Min(ours_t) / Min(tar_t));
    std::printf("  CPU (user+sys)  tar+gzip %.3f s, ours %.3f s (medians)\n", Median(tar_cpu),
                Median(ours_cpu));
    // Peak RSS: ours is this process so far (the unpacks), tar's the largest child.
    struct rusage self_ru, child_ru;
    ::getrusage(RUSAGE_SELF, &self_ru);
    ::getrusage(RUSAGE_CHILDREN, &child_ru);
    std::printf("BENCH|unpack-layer|ocibuild|%.3f|%ld\nBENCH|unpack-layer|tar|%.3f|%ld\n", mo,
                self_ru.ru_maxrss, mt, child_ru.ru_maxrss);

    // 3. Writing that rootfs as a gzip layer (what committing a big RUN step costs) vs
    // `tar -c | gzip` of the same directory, both to a file.
    std::string src = w + "/write-src";
    Check(MakeDirs(src), "mkdir");
    auto sroot = Check(RootDir::Open(src), "open");
    MetaStore sstore;
    Snapshot empty = Check(Snapshot::Take(sroot, sstore), "snapshot");
    Check(ApplyLayerFile(src, sstore, blob), "apply");
    auto all = Check(Diff(empty, sroot, sstore), "diff");
    std::vector<double> w_ours, w_tar;
    uint64_t ours_size = 0;
    for (int i = 0; i < runs; ++i) {
      std::string out = w + "/out.tgz";
      double t0 = Now();
      auto r =
          Check(RunProcess({"sh", "-c", "tar -C '" + src + "' -cf - . | gzip > '" + out + "'"}),
                "tar | gzip");
      w_tar.push_back(Now() - t0);
      if (!r.success()) Die("tar | gzip failed: " + r.err);
      t0 = Now();
      auto lr = Check(WriteLayerFile(sroot, sstore, all, LayerWriteOptions{}, out), "write layer");
      w_ours.push_back(Now() - t0);
      ours_size = lr.size;
    }
    std::printf(
        "write: %zu entries as a gzip layer (%.1f MB)\n  tar | gzip      median %.3f s\n"
        "  WriteLayerFile  median %.3f s\n",
        all.size(), ours_size / 1e6, Median(w_tar), Median(w_ours));
    std::printf("BENCH|write-layer-gzip|ocibuild|%.3f|0\nBENCH|write-layer-gzip|tar+gzip|%.3f|0\n",
                Median(w_ours), Median(w_tar));
    Check(RemoveAll(src), "rm");
  }

  // Diff after touching one file in a big tree.
  std::string tree = w + "/tree";
  Check(MakeDirs(tree), "mkdir");
  int per_dir = 1000;
  auto file_path = [&](int i) {
    return tree + "/d" + std::to_string(i / per_dir / 10) + "/e" + std::to_string(i / per_dir) +
           "/f" + std::to_string(i);
  };
  for (int i = 0; i < files; ++i) {
    if (i % per_dir == 0) {
      std::string f = file_path(i);
      Check(MakeDirs(f.substr(0, f.rfind('/'))), "mkdir");
    }
    Check(WriteFile(file_path(i), "content " + std::to_string(i)), "write");
  }
  // Past the racy window: these files are old news by the time of the snapshot.
  ::usleep(100000);
  auto root = Check(RootDir::Open(tree), "open tree");
  MetaStore store;
  std::vector<double> snap_t, diff_t, nochange_t, diff_cpu;
  size_t layer_entries = 0;
  for (int i = 0; i < runs; ++i) {
    double t0 = Now();
    Snapshot before = Check(Snapshot::Take(root, store), "snapshot");
    double t1 = Now();
    snap_t.push_back(t1 - t0);
    t0 = Now();
    auto none = Check(Diff(before, root, store), "diff");
    t1 = Now();
    nochange_t.push_back(t1 - t0);
    if (!none.empty()) Die("unchanged tree gave " + std::to_string(none.size()) + " changes");
    std::string victim = file_path(files / 2 + i);
    Check(WriteFile(victim, "touched " + std::to_string(i)), "touch");
    double c0 = Cpu();
    t0 = Now();
    auto changes = Check(Diff(before, root, store), "diff");
    std::string blob;
    LayerWriteOptions o;
    auto lr = Check(WriteLayer(root, store, changes, o,
                               [&](std::string_view d) {
                                 blob.append(d);
                                 return Ok();
                               }),
                    "write layer");
    t1 = Now();
    diff_cpu.push_back(Cpu() - c0);
    diff_t.push_back(t1 - t0);
    layer_entries = lr.entries;
  }
  int edirs = (files + per_dir - 1) / per_dir;
  std::printf("diff: %d files in %d directories\n", files, edirs + (edirs + 9) / 10);
  std::printf("  snapshot (walk + stat)          median %.3f s  (min %.3f)\n", Median(snap_t),
              Min(snap_t));
  std::printf("  diff, nothing changed           median %.3f s  (min %.3f)\n", Median(nochange_t),
              Min(nochange_t));
  std::printf(
      "  diff + layer, one file touched  median %.3f s (goal < 0.5 s; CPU %.3f s), "
      "%zu entries; min %.3f s\n",
      Median(diff_t), Median(diff_cpu), layer_entries, Min(diff_t));
  std::printf("BENCH|diff-100k-files-one-change|ocibuild|%.3f|0\n", Median(diff_t));
  return 0;
}
