// Settings the CLI passes to the registry client (--insecure-registry, --registry-ca, ...).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "registry/retry.h"

namespace ocibuild::registry {

struct RegistryOptions {
  // Hosts ("host" or "host:port") reachable over plain HTTP or TLS without verification.
  // localhost, 127.0.0.0/8 and [::1] may always use plain HTTP (TLS is still tried first).
  std::vector<std::string> insecure_registries;
  // Extra CA bundle (PEM) trusted in addition to the system store.
  std::string ca_file;
  int parallel_blobs = 4;
  // PATCH size of an upload resumed after a failure (GHCR refuses chunks over 4 MiB).
  uint64_t upload_chunk_bytes = 4 << 20;
  RetryPolicy retry;
  std::string user_agent = "ocibuild/0.1";
};

// True for localhost, 127.0.0.0/8 and [::1], with or without a port.
bool IsLoopbackHost(const std::string& host_port);
// True when plain HTTP may be used for `host_port` under `opts`.
bool AllowsPlainHttp(const RegistryOptions& opts, const std::string& host_port);
bool IsInsecureRegistry(const RegistryOptions& opts, const std::string& host_port);

}  // namespace ocibuild::registry
