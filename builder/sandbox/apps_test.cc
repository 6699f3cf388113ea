// Real-world RUN steps in the Debian minbase rootfs through the sandbox: a C project built with
// make -j2 after apt-get install gcc make libc6-dev, a local Python package through pip, and an
// offline `npm ci` with a file: dependency. As root, the same step runs again in a real chroot:
// the output and the owners/modes of every file must agree. (No apk: there are no Alpine
// packages on a Debian host, so Alpine steps are not tested.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <vector>

#include "builder/sandbox/http_server_testing.h"
#include "builder/sandbox/sandbox_testing.h"
#include "oci/metastore.h"
#include "util/fs.h"

namespace ocibuild::sandbox {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class SandboxApps : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string cache = Env("OCIBUILD_TEST_CACHE");
    base_ = Env("OCIBUILD_DEBIAN_BASE");
    if (base_.empty()) base_ = cache + "/debian-minbase.tar";
    cache_ = cache;
    if (!PathExists(base_)) GTEST_SKIP() << "*** no Debian base tarball at " << base_ << " ***";
    auto tmp = TempDir::Create("ocibuild-apps-");
    ASSERT_TRUE(tmp.ok());
    tmp_ = std::move(*tmp);
    root_ = tmp_.path() + "/rootfs";
    Status st = testing::ExtractRootfs(base_, root_);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  // Runs `body` (bash) with the apt repositories `repos` (directories of the test cache) served
  // on 127.0.0.1, in the sandbox and, as root, in a real chroot; compares both.
  void RunAndCompare(const std::vector<std::string>& repos, const std::string& body,
                     const std::string& want_out) {
    std::vector<std::unique_ptr<testing::LocalHttpServer>> servers;
    std::string script = "set -e\n: > /etc/apt/sources.list\n";
    for (const std::string& name : repos) {
      std::string repo = cache_ + "/" + name;
      if (!PathExists(repo + "/Packages"))
        GTEST_SKIP() << "*** SKIPPED: no apt repository at " << repo
                     << "; run scripts/local-apt-repo.sh as root first ***";
      auto server = testing::LocalHttpServer::Start(repo);
      ASSERT_TRUE(server.ok()) << server.error().message;
      script += "echo 'deb [trusted=yes] http://127.0.0.1:" + std::to_string((*server)->port()) +
                " ./' >> /etc/apt/sources.list\n";
      servers.push_back(std::move(*server));
    }
    script +=
        "rm -f /etc/apt/sources.list.d/*\n"
        "apt-get update -q >/tmp/apt.log\n" +
        body;
    auto c = testing::Run(root_, {"/bin/bash", "-c", script});
    ASSERT_TRUE(c.ok()) << c.error().message;
    auto log = ReadFile(root_ + "/tmp/apt.log");
    ASSERT_EQ(c->exit_code, 0) << c->err
                               << (log.ok()
                                       ? log->substr(log->size() > 20000 ? log->size() - 20000 : 0)
                                       : "");
    EXPECT_EQ(c->out, want_out) << c->err;

    if (::geteuid() != 0) return;  // the reference chroot needs real root
    std::string ref = tmp_.path() + "/chroot";
    auto real = testing::RunInRootChroot(base_, ref, script);
    ASSERT_TRUE(real.ok()) << real.error().message;
    ASSERT_EQ(real->exit_code, 0) << real->err;
    EXPECT_EQ(real->out, c->out);
    auto store = oci::MetaStore::Load(oci::MetaStore::PathFor(root_));
    ASSERT_TRUE(store.ok());
    auto want = testing::WalkMeta(ref, nullptr);
    auto got = testing::WalkMeta(root_, &*store);
    EXPECT_GT(testing::CompareMeta(want, got), 5000);
  }

  std::string base_, cache_;
  TempDir tmp_ = std::move(*TempDir::Create("ocibuild-apps-unused-"));
  std::string root_;
};

// One step for all three (one apt run keeps the suite's time down): 32 translation units with a
// parallel make, the same build by a non-root user in its home (permission checks on the way),
// pip installing a local package, and npm ci of a project whose only dependency is a local
// directory (file:; npm 9 installs a packed copy), from its lockfile, offline.
constexpr char kAppsStep[] = R"(
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  gcc make libc6-dev python3 python3-pip nodejs npm >>/tmp/apt.log
mkdir -p /src/c && cd /src/c
for i in $(seq 1 31); do
  printf '#include "lib.h"\nint f%d(int x) { return x + %d; }\n' $i $i > f$i.c
  echo "int f$i(int x);" >> lib.h
done
{ echo '#include <stdio.h>'; echo '#include "lib.h"'; echo 'int main(void) { int s = 0;'
  for i in $(seq 1 31); do echo "s = f$i(s);"; done
  echo 'printf("sum %d\n", s); return 0; }'; } > main.c
printf 'CFLAGS = -O1\nOBJS = $(patsubst %%.c,%%.o,$(wildcard *.c))\napp: $(OBJS)\n\t$(CC) -o $@ $^\n%%.o: %%.c lib.h\n\t$(CC) $(CFLAGS) -c $<\n' > Makefile
make -s -j2
./app
useradd -m -s /bin/bash app
cp -r /src/c /home/app/c && chown -R app:app /home/app/c
su app -c 'cd ~/c && rm -f *.o app && make -s -j2 && ./app && touch ~/x && stat -c "%U %a" app ~/x'
su app -c 'touch /src/c/by-app' 2>/dev/null || echo denied
mkdir -p /src/pkg/ocibdemo
printf 'from setuptools import setup\nsetup(name="ocibdemo", version="1.0", packages=["ocibdemo"])\n' > /src/pkg/setup.py
printf 'def hello():\n    return "hello from ocibdemo"\n' > /src/pkg/ocibdemo/__init__.py
pip install -q --no-index --no-build-isolation --break-system-packages /src/pkg 2>/tmp/pip.log
python3 -c 'import ocibdemo; print(ocibdemo.hello())'
stat -c '%U:%G' /usr/local/lib/python3.11/dist-packages/ocibdemo/__init__.py
mkdir -p /src/lib /src/web && cd /src
printf '{"name":"ocib-lib","version":"1.0.0","main":"index.js"}\n' > lib/package.json
printf 'module.exports = () => "hello from ocib-lib";\n' > lib/index.js
printf '{"name":"web","version":"1.0.0","dependencies":{"ocib-lib":"file:../lib"}}\n' > web/package.json
cat > web/package-lock.json <<'EOF'
{
  "name": "web",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": {
    "": {"name": "web", "version": "1.0.0", "dependencies": {"ocib-lib": "file:../lib"}},
    "../lib": {"name": "ocib-lib", "version": "1.0.0"},
    "node_modules/ocib-lib": {"resolved": "../lib", "link": true}
  }
}
EOF
cd web && npm ci --offline --no-audit --no-fund --loglevel=error >/tmp/npm.log 2>&1
node -e 'console.log(require("ocib-lib")())'
stat -c '%U:%G %a %F' node_modules/ocib-lib node_modules/ocib-lib/index.js
)";

TEST_F(SandboxApps, MakePipAndNpmCi) {
  RunAndCompare({"apt-repo-toolchain", "apt-repo-node"}, kAppsStep,
                "sum 496\nsum 496\napp 755\napp 644\ndenied\nhello from ocibdemo\nroot:root\n"
                "hello from ocib-lib\nroot:root 755 directory\nroot:root 644 regular file\n");
}

}  // namespace
}  // namespace ocibuild::sandbox
