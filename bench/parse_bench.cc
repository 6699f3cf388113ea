// Parse (+type +plan) time for a generated 10,000-line Dockerfile: several stages, every
// instruction kind, continuations, heredocs, mounts and global ARGs. Prints the median of
// repeated runs as a BENCH line (bench/lib.sh format) plus a human-readable summary on stderr.
//   bench_parse [LINES] [RUNS]
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dockerfile-parser/plan.h"

namespace {

std::string Generate(int lines) {
  std::string df = "# syntax=docker/dockerfile:1\nARG BASE=debian:12\nARG VERSION=1.0\n";
  int n = 3;
  int stage = 0;
  int next_stage_at = 0;
  int k = 0;
  auto add = [&](const std::string& s, int physical) {
    df += s;
    n += physical;
  };
  while (n < lines) {
    if (n >= next_stage_at) {
      next_stage_at = n + 500;
      add("FROM --platform=$BUILDPLATFORM ${BASE} AS s" + std::to_string(stage) + "\n", 1);
      add("ARG TARGETARCH\n", 1);
      ++stage;
      continue;
    }
    switch (k++ % 12) {
      case 0:
        add("RUN apt-get update && \\\n    apt-get install -y --no-install-recommends \\\n"
            "      curl ca-certificates git && \\\n    rm -rf /var/lib/apt/lists/*\n",
            4);
        break;
      case 1:
        add("ENV PATH=/opt/bin:$PATH GOFLAGS=\"-mod=vendor -trimpath\" V=${VERSION}\n", 1);
        break;
      case 2:
        add("COPY --chown=1000:1000 --chmod=0644 --link src/ /app/src/\n", 1);
        break;
      case 3:
        add("RUN --mount=type=cache,target=/root/.cache/go-build,sharing=locked \\\n"
            "    --mount=type=secret,id=token,required go build ./...\n",
            2);
        break;
      case 4:
        add("WORKDIR /app/$VERSION\n", 1);
        break;
      case 5:
        add("LABEL org.opencontainers.image.version=\"$VERSION\" maintainer=\"dev team\"\n", 1);
        break;
      case 6:
        add("RUN <<EOF\nset -eux\necho building\nmake -j2\nEOF\n", 5);
        break;
      case 7:
        if (stage >= 2) {
          add("COPY --from=s" + std::to_string(stage / 2 - 1) + " /out/bin /usr/local/bin/\n", 1);
        } else {
          add("STOPSIGNAL SIGINT\n", 1);
        }
        break;
      case 8:
        add("HEALTHCHECK --interval=30s --timeout=3s CMD [\"curl\", \"-f\", \"http://l/\"]\n", 1);
        break;
      case 9:
        add("EXPOSE 8080/tcp 9090\n# a comment line\n", 2);
        break;
      case 10:
        add("USER app\nCMD [\"/usr/local/bin/app\", \"--serve\"]\n", 2);
        break;
      default:
        add("ADD --checksum=sha256:0123 https://example.com/f.tar.gz /tmp/\n", 1);
        break;
    }
  }
  return df;
}

}  // namespace

int main(int argc, char** argv) {
  int lines = argc > 1 ? std::atoi(argv[1]) : 10000;
  int runs = argc > 2 ? std::atoi(argv[2]) : 21;
  std::string df = Generate(lines);
  int physical = static_cast<int>(std::count(df.begin(), df.end(), '\n'));
  ocibuild::dockerfile::PlanOptions opts;
  opts.target_platform = "linux/amd64";
  opts.build_platform = "linux/amd64";
  std::vector<double> times;
  std::vector<double> cpu_times;
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
  };
  size_t stages = 0;
  for (int i = 0; i < runs; ++i) {
    double c0 = cpu_now();
    auto t0 = std::chrono::steady_clock::now();
    auto plan = ocibuild::dockerfile::PlanDockerfile(df, "Dockerfile", opts);
    auto t1 = std::chrono::steady_clock::now();
    cpu_times.push_back(cpu_now() - c0);
    if (!plan.ok()) {
      std::fprintf(stderr, "bench_parse: plan failed: %s\n", plan.error().message.c_str());
      return 1;
    }
    stages = plan->stages.size();
    times.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  std::sort(times.begin(), times.end());
  std::sort(cpu_times.begin(), cpu_times.end());
  double median = times[times.size() / 2];
  double cpu_median = cpu_times[cpu_times.size() / 2];
  struct rusage ru {};
  getrusage(RUSAGE_SELF, &ru);
  std::fprintf(stderr,
               "bench_parse: %d lines (%zu bytes), %zu stage(s) planned: median %.3f ms wall "
               "(min %.3f ms), median %.3f ms CPU, over %d runs\n",
               physical, df.size(), stages, median * 1e3, times.front() * 1e3, cpu_median * 1e3,
               runs);
  std::printf("BENCH|parse-10k-lines|ocibuild|%.6f|%ld\n", median, ru.ru_maxrss);
  return 0;
}
