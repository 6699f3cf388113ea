#include "registry/options.h"

#include <arpa/inet.h>

namespace ocibuild::registry {
namespace {

std::string HostOnly(const std::string& hp) {
  if (!hp.empty() && hp.front() == '[') {
    size_t close = hp.find(']');
    return close == std::string::npos ? hp : hp.substr(1, close - 1);
  }
  size_t colon = hp.rfind(':');
  return colon == std::string::npos ? hp : hp.substr(0, colon);
}

}  // namespace

bool IsLoopbackHost(const std::string& host_port) {
  std::string h = HostOnly(host_port);
  if (h == "localhost" || h == "::1") return true;
  in_addr a{};
  if (inet_pton(AF_INET, h.c_str(), &a) == 1) return (ntohl(a.s_addr) >> 24) == 127;
  return false;
}

bool IsInsecureRegistry(const RegistryOptions& opts, const std::string& host_port) {
  for (const auto& r : opts.insecure_registries)
    if (r == host_port || r == HostOnly(host_port)) return true;
  return false;
}

bool AllowsPlainHttp(const RegistryOptions& opts, const std::string& host_port) {
  return IsLoopbackHost(host_port) || IsInsecureRegistry(opts, host_port);
}

}  // namespace ocibuild::registry
