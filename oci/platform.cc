#include "oci/platform.h"

#include <sys/utsname.h>

#include "util/strings.h"

namespace ocibuild::oci {

namespace {

bool IsKnownOs(std::string_view os) {
  for (std::string_view k :
       {"linux", "windows", "darwin", "freebsd", "netbsd", "openbsd", "solaris", "illumos",
        "android", "aix", "plan9", "dragonfly", "ios", "js", "wasip1", "zos"})
    if (os == k) return true;
  return false;
}

bool ValidComponent(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// Resolves architecture aliases; may also imply a variant ("armhf" is arm/v7).
void NormalizeArch(std::string* arch, std::string* variant) {
  *arch = ToLower(*arch);
  *variant = ToLower(*variant);
  std::string& a = *arch;
  std::string& v = *variant;
  if (a == "i386" || a == "i486" || a == "i586" || a == "i686" || a == "x86" || a == "386") {
    a = "386";
    v.clear();
  } else if (a == "x86_64" || a == "x86-64" || a == "amd64") {
    a = "amd64";
    if (v == "v1") v.clear();
  } else if (a == "aarch64" || a == "arm64" || a == "armv8" || a == "armv8l") {
    a = "arm64";
    if (v.empty() || v == "8" || v == "v8" || v == "v8.0")
      v = "v8";
    else if (v == "9" || v == "9.0" || v == "v9.0")
      v = "v9";
  } else if (a == "armhf") {
    a = "arm";
    v = "v7";
  } else if (a == "armel") {
    a = "arm";
    v = "v6";
  } else if (a == "armv7" || a == "armv7l" || a == "armv7hl") {
    a = "arm";
    v = "v7";
  } else if (a == "armv6" || a == "armv6l") {
    a = "arm";
    v = "v6";
  } else if (a == "armv5" || a == "armv5l" || a == "armv5tel") {
    a = "arm";
    v = "v5";
  } else if (a == "arm") {
    if (v.empty() || v == "7")
      v = "v7";
    else if (v == "5" || v == "6" || v == "8")
      v = "v" + v;
  }
}

// "v7" -> 7; -1 when the variant is not of the form v<N>.
int VariantNumber(const std::string& v) {
  if (v.size() < 2 || v[0] != 'v') return -1;
  int n = 0;
  for (size_t i = 1; i < v.size(); i++) {
    if (v[i] < '0' || v[i] > '9') return -1;
    n = n * 10 + (v[i] - '0');
    if (n > 1000) return -1;
  }
  return n;
}

}  // namespace

Platform Platform::Normalized() const {
  Platform p = *this;
  p.os = ToLower(p.os);
  if (p.os == "macos") p.os = "darwin";
  NormalizeArch(&p.architecture, &p.variant);
  return p;
}

std::string Platform::str() const {
  std::string s = os + "/" + architecture;
  if (!variant.empty()) s += "/" + variant;
  return s;
}

Platform Platform::FromUnameMachine(std::string_view machine) {
  Platform p;
  p.os = "linux";
  p.architecture = std::string(machine);
  return p.Normalized();
}

Platform Platform::Host() {
  struct utsname u {};
  if (uname(&u) != 0) return FromUnameMachine("x86_64");  // uname(2) cannot fail on Linux
  return FromUnameMachine(u.machine);
}

Result<Platform> Platform::Parse(std::string_view spec) {
  auto bad = [&](const std::string& why) {
    return Error{"invalid platform \"" + std::string(spec) + "\": " + why};
  };
  if (spec.empty()) return bad("empty");
  std::vector<std::string> parts = Split(spec, '/');
  if (parts.size() > 3) return bad("want os/arch[/variant]");
  for (const std::string& part : parts)
    if (!ValidComponent(part)) return bad("empty or invalid component \"" + part + "\"");
  Platform p;
  if (parts.size() == 1) {
    Platform host = Host();
    std::string one = ToLower(parts[0]);
    if (IsKnownOs(one)) {
      p.os = one;
      p.architecture = host.architecture;
      p.variant = host.variant;
    } else {
      p.os = host.os;
      p.architecture = one;
    }
  } else {
    p.os = parts[0];
    p.architecture = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
  }
  return p.Normalized();
}

Json Platform::ToJson() const {
  Json j = Json::object();
  j["architecture"] = architecture;
  j["os"] = os;
  if (!variant.empty()) j["variant"] = variant;
  if (!os_version.empty()) j["os.version"] = os_version;
  if (!os_features.empty()) j["os.features"] = os_features;
  return j;
}

Result<Platform> Platform::FromJson(const Json& j, std::string_view what) {
  if (!j.is_object()) return Error{std::string(what) + ": must be an object"};
  Platform p;
  OCIB_TRY(GetString(j, "architecture", &p.architecture, what));
  OCIB_TRY(GetString(j, "os", &p.os, what));
  OCIB_TRY(GetString(j, "variant", &p.variant, what));
  OCIB_TRY(GetString(j, "os.version", &p.os_version, what));
  OCIB_TRY(GetStringList(j, "os.features", &p.os_features, what));
  if (p.architecture.empty() || p.os.empty())
    return Error{std::string(what) + ": \"os\" and \"architecture\" are required"};
  return p;
}

bool PlatformMatches(const Platform& want, const Platform& have) {
  Platform w = want.Normalized(), h = have.Normalized();
  return w.os == h.os && w.architecture == h.architecture && w.variant == h.variant;
}

std::vector<Platform> CompatiblePlatforms(const Platform& want) {
  Platform w = want.Normalized();
  std::vector<Platform> out{w};
  auto add = [&](const std::string& arch, const std::string& variant) {
    Platform p = w;
    p.architecture = arch;
    p.variant = variant;
    out.push_back(p);
  };
  int n = VariantNumber(w.variant);
  if (w.architecture == "arm") {
    for (int v = n - 1; n > 5 && v >= 5; v--) add("arm", "v" + std::to_string(v));
  } else if (w.architecture == "arm64") {
    // Not every arm64 CPU runs 32-bit code, but the common server and board parts do, and the
    // fallbacks only apply when no arm64 image exists.
    if (w.variant == "v9") add("arm64", "v8");
    for (int v = 8; v >= 5; v--) add("arm", "v" + std::to_string(v));
  } else if (w.architecture == "amd64") {
    for (int v = n - 1; n > 1 && v >= 2; v--) add("amd64", "v" + std::to_string(v));
    if (n > 1) add("amd64", "");
    add("386", "");
  }
  return out;
}

std::optional<size_t> SelectPlatform(const std::vector<Platform>& candidates, const Platform& want,
                                     bool strict) {
  std::vector<Platform> prefs = CompatiblePlatforms(want);
  if (strict) prefs.resize(1);
  for (const Platform& pref : prefs) {
    for (size_t i = 0; i < candidates.size(); i++) {
      if (PlatformMatches(pref, candidates[i])) return i;
    }
  }
  return std::nullopt;
}

}  // namespace ocibuild::oci
