// What every ported case runs against, set up once per test process: a docker-registry on
// 127.0.0.1 holding stand-ins for the base images BuildKit's tests use (a busybox image with the
// official image's /etc/passwd and /etc/group, and the Debian minbase), a static file server
// for ADD <url> and git's dumb HTTP protocol, and (as root) a Docker daemon to compare with.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "tests/conformance/buildkit-integration/file_server.h"
#include "tests/registry/registry_fixture.h"
#include "util/fs.h"
#include "util/result.h"
#include "util/subprocess.h"

namespace ocibuild::bki {

class Environment {
 public:
  // The process-wide environment, started on first use; null (with `why` set) when a tool it
  // needs is missing, so the caller can skip loudly.
  static Environment* Get(std::string* why);

  const std::string& tmp() const { return tmp_->path(); }
  const std::string& binary() const { return binary_; }
  std::string registry() const { return registry_->host(); }
  int http_port() const { return server_->port(); }
  std::string www_dir() const { return JoinPath(tmp(), "www"); }
  const FileServer& server() const { return *server_; }

  // Base image references, built and pushed on first use.
  Result<std::string> Busybox();
  Result<std::string> Debian();
  // DOCKER_HOST of a daemon to compare with; nullopt when none can run here (not root).
  std::optional<std::string> DockerHost();
  std::string DockerCli() const;

  // Runs ocibuild with `args` in `cwd`, OCIBUILD_ROOT=`state`, SOURCE_DATE_EPOCH unset unless
  // `env` sets it.
  Result<ProcessResult> Ocibuild(const std::vector<std::string>& args, const std::string& cwd,
                                 const std::string& state,
                                 const std::map<std::string, std::string>& env = {},
                                 std::optional<std::string> stdin_data = std::nullopt);

 private:
  Environment() = default;
  Status Start();
  Result<std::string> BuildBase(const std::string& name, const std::string& ctx);

  std::unique_ptr<TempDir> tmp_;
  std::string binary_;
  std::unique_ptr<registry::testing::TestRegistry> registry_;
  std::unique_ptr<FileServer> server_;
  std::optional<std::string> busybox_, debian_;
  bool docker_probed_ = false;
  std::optional<std::string> docker_host_;
};

}  // namespace ocibuild::bki
