// The image configuration (application/vnd.oci.image.config.v1+json and Docker's
// application/vnd.docker.container.image.v1+json, which is a superset): platform, root
// filesystem diff IDs, history and the runtime defaults in "config", including Docker's
// Healthcheck, OnBuild and Shell.
//
// Fields ocibuild does not model (Docker's container_config, docker_version, Hostname, ...)
// are kept as raw JSON and written back, so reading a base image's config and writing a derived
// one loses nothing. A JSON null on a modelled key that the schema allows to be null (Cmd,
// Entrypoint, Volumes, Labels, OnBuild, ...) is kept as null unless the field is set.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "oci/digest.h"
#include "oci/json_util.h"
#include "oci/platform.h"
#include "util/result.h"

namespace ocibuild::oci {

// Docker's HEALTHCHECK; durations are in nanoseconds as Go's time.Duration marshals them.
struct HealthConfig {
  // ["NONE"], ["CMD", args...], ["CMD-SHELL", command]; empty inherits.
  std::vector<std::string> test;
  int64_t interval = 0;
  int64_t timeout = 0;
  int64_t start_period = 0;
  int64_t start_interval = 0;
  int64_t retries = 0;
  Json extra = Json::object();

  bool operator==(const HealthConfig&) const = default;
};

struct ContainerConfig {
  std::string user;
  std::set<std::string> exposed_ports;  // "80/tcp"
  std::vector<std::string> env;         // "KEY=value", in order
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::set<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<bool> args_escaped;
  std::optional<HealthConfig> healthcheck;
  std::vector<std::string> on_build;
  std::optional<std::vector<std::string>> shell;
  Json extra = Json::object();

  // The value of KEY in env, or nullopt.
  std::optional<std::string> GetEnv(std::string_view key) const;
  // Replaces KEY's entry in place, or appends it (Docker keeps the original order).
  void SetEnv(std::string_view key, std::string_view value);

  bool operator==(const ContainerConfig&) const = default;
};

struct HistoryEntry {
  std::string created;  // RFC 3339
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
  Json extra = Json::object();

  bool operator==(const HistoryEntry&) const = default;
};

struct ImageConfig {
  std::string created;  // RFC 3339, e.g. "2024-01-02T03:04:05Z"
  std::string author;
  std::string architecture;
  std::string os;
  std::string variant;
  std::string os_version;
  std::vector<std::string> os_features;
  ContainerConfig config;
  std::vector<Digest> diff_ids;  // rootfs.diff_ids: digests of the uncompressed layer tars
  std::vector<HistoryEntry> history;
  Json extra = Json::object();

  // Reads either family's config; "architecture" and "os" are required.
  static Result<ImageConfig> Parse(std::string_view bytes);
  // Canonical JSON (see json_util.h); the config's digest, and the image ID Docker shows, is
  // the SHA-256 of these bytes.
  std::string Serialize() const;
  Json ToJson() const;

  Platform platform() const;
  void SetPlatform(const Platform& p);

  // History entries that produced a layer; equals diff_ids.size() in a consistent image.
  size_t NonEmptyHistoryCount() const;

  bool operator==(const ImageConfig&) const = default;
};

// "2024-01-02T03:04:05Z": a Unix time (UTC, whole seconds) in the RFC 3339 form that "created"
// fields use. Builds pass SOURCE_DATE_EPOCH here for reproducible configs.
std::string FormatCreated(int64_t unix_seconds);

}  // namespace ocibuild::oci
