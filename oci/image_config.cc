#include "oci/image_config.h"

#include <ctime>

namespace ocibuild::oci {

namespace {

constexpr std::string_view kWhat = "image config";

// Keeps obj's keys not in `modelled`, plus those in `nullable` whose value is null.
Json Rest(const Json& obj, std::initializer_list<std::string_view> modelled,
          std::initializer_list<std::string_view> nullable) {
  Json rest = Unmodelled(obj, modelled);
  for (std::string_view k : nullable) {
    auto it = obj.find(k);
    if (it != obj.end() && it->is_null()) rest[std::string(k)] = nullptr;
  }
  return rest;
}

Status GetStringSetFromObject(const Json& obj, std::string_view key, std::set<std::string>* out,
                              std::string_view what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return Ok();
  if (!it->is_object())
    return Error{std::string(what) + ": field \"" + std::string(key) + "\" must be an object"};
  for (auto e = it->begin(); e != it->end(); ++e) out->insert(e.key());
  return Ok();
}

Json SetToObject(const std::set<std::string>& s) {
  Json j = Json::object();
  for (const std::string& k : s) j[k] = Json::object();
  return j;
}

const Json* Object(const Json& parent, std::string_view key, std::string_view what, Status* st) {
  auto it = parent.find(key);
  if (it == parent.end() || it->is_null()) return nullptr;
  if (!it->is_object()) {
    *st = Error{std::string(what) + ": field \"" + std::string(key) + "\" must be an object"};
    return nullptr;
  }
  return &*it;
}

Result<HealthConfig> ParseHealth(const Json& j) {
  constexpr std::string_view w = "image config: config: Healthcheck";
  HealthConfig h;
  OCIB_TRY(GetStringList(j, "Test", &h.test, w));
  OCIB_TRY(GetInt64(j, "Interval", &h.interval, w));
  OCIB_TRY(GetInt64(j, "Timeout", &h.timeout, w));
  OCIB_TRY(GetInt64(j, "StartPeriod", &h.start_period, w));
  OCIB_TRY(GetInt64(j, "StartInterval", &h.start_interval, w));
  OCIB_TRY(GetInt64(j, "Retries", &h.retries, w));
  h.extra =
      Unmodelled(j, {"Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries"});
  return h;
}

Json HealthToJson(const HealthConfig& h) {
  Json j = h.extra.is_object() ? h.extra : Json::object();
  if (!h.test.empty()) j["Test"] = h.test;
  if (h.interval) j["Interval"] = h.interval;
  if (h.timeout) j["Timeout"] = h.timeout;
  if (h.start_period) j["StartPeriod"] = h.start_period;
  if (h.start_interval) j["StartInterval"] = h.start_interval;
  if (h.retries) j["Retries"] = h.retries;
  return j;
}

Result<ContainerConfig> ParseContainerConfig(const Json& j) {
  constexpr std::string_view w = "image config: config";
  ContainerConfig c;
  OCIB_TRY(GetString(j, "User", &c.user, w));
  OCIB_TRY(GetStringSetFromObject(j, "ExposedPorts", &c.exposed_ports, w));
  OCIB_TRY(GetStringList(j, "Env", &c.env, w));
  OCIB_TRY(GetOptionalStringList(j, "Entrypoint", &c.entrypoint, w));
  OCIB_TRY(GetOptionalStringList(j, "Cmd", &c.cmd, w));
  OCIB_TRY(GetStringSetFromObject(j, "Volumes", &c.volumes, w));
  OCIB_TRY(GetString(j, "WorkingDir", &c.working_dir, w));
  OCIB_TRY(GetStringMap(j, "Labels", &c.labels, w));
  OCIB_TRY(GetString(j, "StopSignal", &c.stop_signal, w));
  OCIB_TRY(GetOptionalBool(j, "ArgsEscaped", &c.args_escaped, w));
  Status st;
  if (const Json* h = Object(j, "Healthcheck", w, &st)) {
    OCIB_ASSIGN_OR_RETURN(c.healthcheck, ParseHealth(*h));
  }
  OCIB_TRY(st);
  OCIB_TRY(GetStringList(j, "OnBuild", &c.on_build, w));
  OCIB_TRY(GetOptionalStringList(j, "Shell", &c.shell, w));
  c.extra = Rest(j,
                 {"User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir",
                  "Labels", "StopSignal", "ArgsEscaped", "Healthcheck", "OnBuild", "Shell"},
                 {"Entrypoint", "Cmd", "Volumes", "Labels", "Healthcheck", "OnBuild", "Shell"});
  return c;
}

Json ContainerConfigToJson(const ContainerConfig& c) {
  Json j = c.extra.is_object() ? c.extra : Json::object();
  if (!c.user.empty()) j["User"] = c.user;
  if (!c.exposed_ports.empty()) j["ExposedPorts"] = SetToObject(c.exposed_ports);
  if (!c.env.empty()) j["Env"] = c.env;
  if (c.entrypoint) j["Entrypoint"] = *c.entrypoint;
  if (c.cmd) j["Cmd"] = *c.cmd;
  if (!c.volumes.empty()) j["Volumes"] = SetToObject(c.volumes);
  if (!c.working_dir.empty()) j["WorkingDir"] = c.working_dir;
  if (!c.labels.empty()) j["Labels"] = c.labels;
  if (!c.stop_signal.empty()) j["StopSignal"] = c.stop_signal;
  if (c.args_escaped) j["ArgsEscaped"] = *c.args_escaped;
  if (c.healthcheck) j["Healthcheck"] = HealthToJson(*c.healthcheck);
  if (!c.on_build.empty()) j["OnBuild"] = c.on_build;
  if (c.shell) j["Shell"] = *c.shell;
  return j;
}

}  // namespace

std::optional<std::string> ContainerConfig::GetEnv(std::string_view key) const {
  for (const std::string& e : env) {
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return e.substr(key.size() + 1);
    if (e == key) return std::string();
  }
  return std::nullopt;
}

void ContainerConfig::SetEnv(std::string_view key, std::string_view value) {
  std::string entry = std::string(key) + "=" + std::string(value);
  for (std::string& e : env) {
    if ((e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=') ||
        e == key) {
      e = entry;
      return;
    }
  }
  env.push_back(entry);
}

Result<ImageConfig> ImageConfig::Parse(std::string_view bytes) {
  OCIB_ASSIGN_OR_RETURN(Json j, ParseJsonObject(bytes, kWhat));
  ImageConfig c;
  OCIB_TRY(GetString(j, "created", &c.created, kWhat));
  OCIB_TRY(GetString(j, "author", &c.author, kWhat));
  OCIB_TRY(GetString(j, "architecture", &c.architecture, kWhat));
  OCIB_TRY(GetString(j, "os", &c.os, kWhat));
  OCIB_TRY(GetString(j, "variant", &c.variant, kWhat));
  OCIB_TRY(GetString(j, "os.version", &c.os_version, kWhat));
  OCIB_TRY(GetStringList(j, "os.features", &c.os_features, kWhat));
  if (c.architecture.empty()) return Error{"image config: missing \"architecture\""};
  if (c.os.empty()) return Error{"image config: missing \"os\""};

  Status st;
  if (const Json* cfg = Object(j, "config", kWhat, &st)) {
    OCIB_ASSIGN_OR_RETURN(c.config, ParseContainerConfig(*cfg));
  }
  OCIB_TRY(st);

  const Json* rootfs = Object(j, "rootfs", kWhat, &st);
  OCIB_TRY(st);
  if (!rootfs) return Error{"image config: missing \"rootfs\""};
  std::string type;
  OCIB_TRY(GetString(*rootfs, "type", &type, "image config: rootfs"));
  if (type != "layers")
    return Error{"image config: rootfs.type must be \"layers\", got \"" + type + "\""};
  std::vector<std::string> diff_ids;
  OCIB_TRY(GetStringList(*rootfs, "diff_ids", &diff_ids, "image config: rootfs"));
  for (size_t i = 0; i < diff_ids.size(); i++) {
    auto d = Digest::Parse(diff_ids[i]);
    if (!d.ok())
      return std::move(d).error().Context("image config: diff_ids[" + std::to_string(i) + "]");
    c.diff_ids.push_back(*d);
  }

  if (auto h = j.find("history"); h != j.end() && !h->is_null()) {
    if (!h->is_array()) return Error{"image config: field \"history\" must be an array"};
    for (size_t i = 0; i < h->size(); i++) {
      const Json& e = (*h)[i];
      std::string w = "image config: history[" + std::to_string(i) + "]";
      if (!e.is_object()) return Error{w + ": must be an object"};
      HistoryEntry he;
      OCIB_TRY(GetString(e, "created", &he.created, w));
      OCIB_TRY(GetString(e, "created_by", &he.created_by, w));
      OCIB_TRY(GetString(e, "author", &he.author, w));
      OCIB_TRY(GetString(e, "comment", &he.comment, w));
      OCIB_TRY(GetBool(e, "empty_layer", &he.empty_layer, w));
      he.extra = Unmodelled(e, {"created", "created_by", "author", "comment", "empty_layer"});
      c.history.push_back(std::move(he));
    }
  }
  c.extra = Unmodelled(j, {"created", "author", "architecture", "os", "variant", "os.version",
                           "os.features", "config", "rootfs", "history"});
  // rootfs may carry more than type and diff_ids (Windows base layers); keep the rest.
  Json rootfs_rest = Unmodelled(*rootfs, {"type", "diff_ids"});
  if (!rootfs_rest.empty()) c.extra["rootfs"] = rootfs_rest;
  if (j.contains("config") && j["config"].is_null()) c.extra["config"] = nullptr;
  return c;
}

Json ImageConfig::ToJson() const {
  Json j = extra.is_object() ? extra : Json::object();
  if (!created.empty()) j["created"] = created;
  if (!author.empty()) j["author"] = author;
  j["architecture"] = architecture;
  j["os"] = os;
  if (!variant.empty()) j["variant"] = variant;
  if (!os_version.empty()) j["os.version"] = os_version;
  if (!os_features.empty()) j["os.features"] = os_features;
  Json cfg = ContainerConfigToJson(config);
  if (!cfg.empty() || !j.contains("config")) j["config"] = cfg;
  Json rootfs = j.contains("rootfs") && j["rootfs"].is_object() ? j["rootfs"] : Json::object();
  rootfs["type"] = "layers";
  rootfs["diff_ids"] = Json::array();
  for (const Digest& d : diff_ids) rootfs["diff_ids"].push_back(d.str());
  j["rootfs"] = rootfs;
  if (!history.empty()) {
    j["history"] = Json::array();
    for (const HistoryEntry& h : history) {
      Json e = h.extra.is_object() ? h.extra : Json::object();
      if (!h.created.empty()) e["created"] = h.created;
      if (!h.created_by.empty()) e["created_by"] = h.created_by;
      if (!h.author.empty()) e["author"] = h.author;
      if (!h.comment.empty()) e["comment"] = h.comment;
      if (h.empty_layer) e["empty_layer"] = true;
      j["history"].push_back(e);
    }
  }
  return j;
}

std::string ImageConfig::Serialize() const {
  return CanonicalJson(ToJson());
}

Platform ImageConfig::platform() const {
  Platform p;
  p.os = os;
  p.architecture = architecture;
  p.variant = variant;
  p.os_version = os_version;
  p.os_features = os_features;
  return p;
}

void ImageConfig::SetPlatform(const Platform& p) {
  os = p.os;
  architecture = p.architecture;
  variant = p.variant;
  os_version = p.os_version;
  os_features = p.os_features;
}

size_t ImageConfig::NonEmptyHistoryCount() const {
  size_t n = 0;
  for (const HistoryEntry& h : history) n += h.empty_layer ? 0 : 1;
  return n;
}

std::string FormatCreated(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return std::string(buf, n);
}

}  // namespace ocibuild::oci
