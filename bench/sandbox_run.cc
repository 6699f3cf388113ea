// sandbox_run: runs one command in a rootfs through ocibuild's RUN sandbox, for benchmarks and
// manual debugging.
//   sandbox_run [--extract TAR] [--uid N] [--gid N] [--cwd DIR] [--env K=V]... ROOTFS -- CMD...
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "builder/sandbox/sandbox.h"
#include "builder/sandbox/sandbox_testing.h"

int main(int argc, char** argv) {
  using namespace ocibuild;
  sandbox::RunSpec spec;
  spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
              "LANG=C"};
  std::string extract;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "sandbox_run: %s needs a value\n", a.c_str());
        exit(2);
      }
      return argv[++i];
    };
    if (a == "--extract")
      extract = next();
    else if (a == "--uid")
      spec.uid = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--gid")
      spec.gid = static_cast<uint32_t>(std::stoul(next()));
    else if (a == "--cwd")
      spec.cwd = next();
    else if (a == "--env")
      spec.env.push_back(next());
    else if (a == "--verbose")
      spec.verbose = true;
    else if (a == "--") {
      ++i;
      break;
    } else if (spec.rootfs.empty())
      spec.rootfs = a;
    else {
      fprintf(stderr, "sandbox_run: unexpected %s\n", a.c_str());
      return 2;
    }
  }
  if (spec.rootfs.empty()) {
    fprintf(stderr,
            "usage: sandbox_run [--extract TAR] [--uid N] [--gid N] [--cwd DIR] "
            "[--env K=V]... ROOTFS [-- CMD...]\n");
    return 2;
  }
  if (!extract.empty()) {
    Status st = sandbox::testing::ExtractRootfs(extract, spec.rootfs);
    if (!st.ok()) {
      fprintf(stderr, "sandbox_run: %s\n", st.error().message.c_str());
      return 1;
    }
  }
  for (; i < argc; ++i) spec.argv.push_back(argv[i]);
  if (spec.argv.empty()) return 0;
  auto rr = sandbox::RunStep(spec);
  if (!rr.ok()) {
    fprintf(stderr, "sandbox_run: %s\n", rr.error().message.c_str());
    return 125;
  }
  if (getenv("SANDBOX_RUN_STATS"))
    fprintf(stderr, "sandbox_run: %llu traced syscalls\n",
            static_cast<unsigned long long>(rr->traced_syscalls));
  return rr->exit_code;
}
