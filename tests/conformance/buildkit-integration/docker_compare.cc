#include "tests/conformance/buildkit-integration/docker_compare.h"

#include <set>

#include "util/sha256.h"
#include "util/strings.h"

namespace ocibuild::bki {
namespace {

// Docker writes zero values (null, "", [], {}, false) where OCI configs leave keys out.
bool Empty(const nlohmann::json& v) {
  return v.is_null() || (v.is_string() && v.get<std::string>().empty()) ||
         (v.is_array() && v.empty()) || (v.is_object() && v.empty()) ||
         (v.is_boolean() && !v.get<bool>());
}

nlohmann::json Field(const nlohmann::json& obj, const std::string& key) {
  if (!obj.is_object() || !obj.contains(key)) return nullptr;
  return obj.at(key);
}

std::string Show(const nlohmann::json& v) {
  return Empty(v) ? "(none)" : v.dump();
}

std::string Describe(const FsEntry& e) {
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", e.mode);
  std::string s = std::string(1, e.type) + " " + mode + " " + std::to_string(e.uid) + ":" +
                  std::to_string(e.gid);
  if (e.type == 'f')
    s += " size=" + std::to_string(e.content.size()) +
         " sha256:" + Sha256::HexOf(e.content).substr(0, 12);
  if (!e.link.empty()) s += " -> " + e.link;
  return s;
}

}  // namespace

std::vector<std::string> CompareImages(const ImageView& ours, const ImageView& docker,
                                       const std::vector<std::string>& ignore) {
  std::vector<std::string> diffs;
  auto add = [&](const std::string& key, const std::string& what) {
    for (const auto& i : ignore)
      if (StartsWith(key, i)) return;
    diffs.push_back(key + ": " + what);
  };
  for (const char* k : {"architecture", "os", "variant", "author"}) {
    nlohmann::json a = Field(ours.config, k), b = Field(docker.config, k);
    if (Empty(a) != Empty(b) || (!Empty(a) && a != b))
      add(k, "ocibuild " + Show(a) + ", docker " + Show(b));
  }
  nlohmann::json oc = Field(ours.config, "config"), dc = Field(docker.config, "config");
  for (const char* k : {"User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir",
                        "Labels", "StopSignal", "ArgsEscaped", "Shell", "Healthcheck", "OnBuild"}) {
    nlohmann::json a = Field(oc, k), b = Field(dc, k);
    if (Empty(a) && Empty(b)) continue;
    if (a != b) add(std::string("config.") + k, "ocibuild " + Show(a) + ", docker " + Show(b));
  }
  nlohmann::json oh = Field(ours.config, "history"), dh = Field(docker.config, "history");
  size_t on = oh.is_array() ? oh.size() : 0, dn = dh.is_array() ? dh.size() : 0;
  if (on != dn) add("history", std::to_string(on) + " entries, docker " + std::to_string(dn));
  for (size_t i = 0; i < std::min(on, dn); ++i) {
    for (const char* k : {"created_by", "empty_layer", "comment"}) {
      nlohmann::json a = Field(oh[i], k), b = Field(dh[i], k);
      if (Empty(a) && Empty(b)) continue;
      if (a != b)
        add("history[" + std::to_string(i) + "]." + k,
            "ocibuild " + Show(a) + ", docker " + Show(b));
    }
  }
  if (ours.layers.size() != docker.layers.size())
    add("layers",
        std::to_string(ours.layers.size()) + ", docker " + std::to_string(docker.layers.size()));
  for (size_t i = 0; i < std::min(ours.layers.size(), docker.layers.size()); ++i) {
    const FsMap& a = ours.layers[i];
    const FsMap& b = docker.layers[i];
    std::set<std::string> paths;
    for (const auto& [p, e] : a) paths.insert(p);
    for (const auto& [p, e] : b) paths.insert(p);
    for (const auto& p : paths) {
      std::string key = "layer[" + std::to_string(i) + "]:" + (p.empty() ? "/" : p);
      auto x = a.find(p), y = b.find(p);
      if (x == a.end()) {
        add(key, "only in docker's layer (" + Describe(y->second) + ")");
      } else if (y == b.end()) {
        add(key, "only in ocibuild's layer (" + Describe(x->second) + ")");
      } else if (Describe(x->second) != Describe(y->second)) {
        add(key, "ocibuild " + Describe(x->second) + ", docker " + Describe(y->second));
      }
    }
  }
  return diffs;
}

}  // namespace ocibuild::bki
