#include "tests/conformance/buildkit-integration/environment.h"

#include <sys/stat.h>
#include <unistd.h>

#include <clocale>
#include <cstdlib>
#include <mutex>

#include "util/strings.h"

extern char** environ;

namespace ocibuild::bki {
namespace {

std::string EnvOr(const char* name, const std::string& def = "") {
  const char* v = std::getenv(name);
  return v && *v ? v : def;
}

std::string HostBusybox() {
  for (const char* p : {"/usr/local/bin/busybox", "/bin/busybox", "/usr/bin/busybox"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

// The accounts of the official busybox image, which several BuildKit tests read back
// (`id -Gn` of root is "root wheel", `--chown=daemon`, group nobody).
constexpr char kPasswd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
    "bin:x:2:2:bin:/bin:/bin/false\n"
    "sys:x:3:3:sys:/dev:/bin/false\n"
    "sync:x:4:100:sync:/bin:/bin/sync\n"
    "mail:x:8:8:mail:/var/spool/mail:/bin/false\n"
    "www-data:x:33:33:www-data:/var/www:/bin/false\n"
    "operator:x:37:37:Operator:/var:/bin/false\n"
    "nobody:x:65534:65534:nobody:/home:/bin/false\n";
constexpr char kGroup[] =
    "root:x:0:\ndaemon:x:1:\nbin:x:2:\nsys:x:3:\nadm:x:4:\ntty:x:5:\ndisk:x:6:\nlp:x:7:\n"
    "mail:x:8:\nkmem:x:9:\nwheel:x:10:root\ncdrom:x:11:\ndialout:x:18:\nfloppy:x:19:\n"
    "video:x:28:\naudio:x:29:\ntape:x:32:\nwww-data:x:33:\noperator:x:37:\nutmp:x:43:\n"
    "plugdev:x:46:\nstaff:x:50:\nlock:x:54:\nnetdev:x:82:\nusers:x:100:\nnobody:x:65534:\n";
// Debian's busybox-static has no adduser applet; the official image's does `adduser -D NAME`
// (the only form BuildKit's tests use): the first free id from 1000 for the user and its group,
// home /home/NAME owned by it.
constexpr char kAdduser[] = R"(#!/bin/sh
set -e
uid=
while [ $# -gt 1 ]; do
  case "$1" in
    -u) uid=$2; shift 2 ;;
    *) shift ;;
  esac
done
name=$1
taken() { cut -d: -f3 /etc/passwd /etc/group | grep -qx "$1"; }
if [ -z "$uid" ]; then uid=1000; while taken $uid; do uid=$((uid + 1)); done; fi
echo "$name:x:$uid:" >> /etc/group
echo "$name:x:$uid:$uid:Linux User,,,:/home/$name:/bin/sh" >> /etc/passwd
[ ! -f /etc/shadow ] || echo "$name:!:19000:0:99999:7:::" >> /etc/shadow
mkdir -p "/home/$name" && chown "$uid:$uid" "/home/$name"
)";
constexpr char kShadow[] =
    "root:*::0:::::\ndaemon:*::0:::::\nbin:*::0:::::\nsys:*::0:::::\nsync:*::0:::::\n"
    "mail:*::0:::::\nwww-data:*::0:::::\noperator:*::0:::::\nnobody:*::0:::::\n";

}  // namespace

Environment* Environment::Get(std::string* why) {
  static std::mutex mu;
  static std::unique_ptr<Environment> env;
  static std::string failure;
  std::lock_guard lock(mu);
  if (!env && failure.empty()) {
    std::unique_ptr<Environment> e(new Environment());
    Status st = e->Start();
    if (st.ok()) {
      env = std::move(e);
    } else {
      failure = st.error().message;
    }
  }
  if (!env) *why = failure;
  return env.get();
}

Status Environment::Start() {
  // Layer paths are UTF-8: libarchive converts names through the locale.
  std::setlocale(LC_ALL, "C.UTF-8");
  binary_ = EnvOr("OCIBUILD_BINARY");
  if (binary_.empty()) return Error{"OCIBUILD_BINARY is not set"};
  std::string missing = registry::testing::MissingTools({"docker-registry", "tar", "sh"});
  if (!missing.empty()) return Error{missing};
  if (HostBusybox().empty()) return Error{"no static busybox on this machine (busybox-static)"};
  OCIB_ASSIGN_OR_RETURN(TempDir t, TempDir::Create("ocibuild-bki-"));
  tmp_ = std::make_unique<TempDir>(std::move(t));
  ::chmod(tmp_->path().c_str(), 0755);
  OCIB_TRY(MakeDirs(www_dir(), 0755));
  OCIB_ASSIGN_OR_RETURN(registry_,
                        registry::testing::TestRegistry::Start(registry::testing::AuthMode::kNone));
  OCIB_ASSIGN_OR_RETURN(server_, FileServer::Start(www_dir()));
  return Ok();
}

Result<ProcessResult> Environment::Ocibuild(const std::vector<std::string>& args,
                                            const std::string& cwd, const std::string& state,
                                            const std::map<std::string, std::string>& env,
                                            std::optional<std::string> stdin_data) {
  SpawnOptions o;
  o.stdin_data = std::move(stdin_data);
  std::vector<std::string> full;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (StartsWith(kv, "SOURCE_DATE_EPOCH=") || StartsWith(kv, "OCIBUILD_ROOT=")) continue;
    full.push_back(kv);
  }
  full.push_back("OCIBUILD_ROOT=" + state);
  for (const auto& [k, v] : env) full.push_back(k + "=" + v);
  o.env = std::move(full);
  o.cwd = cwd;
  std::vector<std::string> argv = {binary_};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, o);
}

Result<std::string> Environment::BuildBase(const std::string& name, const std::string& ctx) {
  std::string ref = registry() + "/bki/" + name + ":latest";
  auto r = Ocibuild({"--progress=plain", "-t", ref, ctx}, tmp(), JoinPath(tmp(), "base-state"));
  if (!r.ok()) return r.error();
  if (r->exit_code != 0) return Error{"building the " + name + " base image failed:\n" + r->err};
  return ref;
}

Result<std::string> Environment::Busybox() {
  if (busybox_) return *busybox_;
  std::string ctx = JoinPath(tmp(), "base-busybox");
  std::string root = JoinPath(ctx, "rootfs");
  // Empty /dev, /proc and /sys as in images made with `docker export`: the cases about images
  // without them (dev/*) make such an image themselves.
  for (const char* d :
       {"bin", "dev", "etc", "home", "proc", "sys", "usr/sbin", "var/spool/mail", "var/www"})
    OCIB_TRY(MakeDirs(JoinPath(root, d), 0755));
  OCIB_TRY(MakeDirs(JoinPath(root, "root"), 0700));
  OCIB_TRY(MakeDirs(JoinPath(root, "tmp"), 0755));
  ::chmod(JoinPath(root, "root").c_str(), 0700);
  ::chmod(JoinPath(root, "tmp").c_str(), 01777);
  OCIB_TRY(WriteFile(JoinPath(root, "etc/passwd"), kPasswd, 0644));
  OCIB_TRY(WriteFile(JoinPath(root, "etc/group"), kGroup, 0644));
  OCIB_TRY(WriteFile(JoinPath(root, "etc/shadow"), kShadow, 0640));
  OCIB_ASSIGN_OR_RETURN(std::string bb, ReadFile(HostBusybox()));
  OCIB_TRY(WriteFile(JoinPath(root, "bin/busybox"), bb, 0755));
  OCIB_ASSIGN_OR_RETURN(ProcessResult list, RunProcess({HostBusybox(), "--list"}));
  OCIB_TRY(WriteFile(JoinPath(root, "bin/adduser"), kAdduser, 0755));
  for (const auto& applet : Split(list.out, '\n')) {
    if (applet.empty() || applet == "busybox" || applet == "adduser") continue;
    if (::symlink("busybox", JoinPath(root, "bin/" + applet).c_str()) != 0 && errno != EEXIST)
      return SysError("symlink", applet);
  }
  OCIB_TRY(WriteFile(JoinPath(ctx, "Dockerfile"), "FROM scratch\nCOPY rootfs/ /\nCMD [\"sh\"]\n"));
  OCIB_ASSIGN_OR_RETURN(std::string ref, BuildBase("busybox", ctx));
  busybox_ = ref;
  return ref;
}

Result<std::string> Environment::Debian() {
  if (debian_) return *debian_;
  std::string tar = EnvOr("OCIBUILD_DEBIAN_BASE");
  if (tar.empty() || !PathExists(tar))
    tar = JoinPath(EnvOr("OCIBUILD_TEST_CACHE", JoinPath(EnvOr("OCIBUILD_BUILD_DIR"), "cache")),
                   "debian-minbase.tar");
  if (!PathExists(tar))
    return Error{"needs the Debian minbase tarball: run scripts/debian-base.sh as root first"};
  std::string ctx = JoinPath(tmp(), "base-debian");
  OCIB_TRY(MakeDirs(ctx, 0755));
  OCIB_ASSIGN_OR_RETURN(ProcessResult cp,
                        RunProcess({"cp", tar, JoinPath(ctx, "debian-minbase.tar")}));
  if (cp.exit_code != 0) return Error{"cp " + tar + ": " + cp.err};
  OCIB_TRY(WriteFile(JoinPath(ctx, "Dockerfile"),
                     "FROM scratch\nADD debian-minbase.tar /\nCMD [\"bash\"]\n"));
  OCIB_ASSIGN_OR_RETURN(std::string ref, BuildBase("debian", ctx));
  debian_ = ref;
  return ref;
}

std::string Environment::DockerCli() const {
  return ::access("/usr/bin/docker", X_OK) == 0 ? "/usr/bin/docker" : "docker";
}

std::optional<std::string> Environment::DockerHost() {
  if (docker_probed_) return docker_host_;
  docker_probed_ = true;
  if (::getuid() != 0 || EnvOr("OCIBUILD_IN_CONTAINER") == "1") return std::nullopt;
  auto r = RunProcess({JoinPath(EnvOr("OCIBUILD_SOURCE_DIR"), "scripts/dockerd.sh"), "start"});
  if (r.ok() && r->exit_code == 0) docker_host_ = std::string(TrimSpace(r->out));
  return docker_host_;
}

}  // namespace ocibuild::bki
