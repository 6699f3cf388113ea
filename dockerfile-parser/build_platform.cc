#include "dockerfile-parser/build_platform.h"

#include <sys/utsname.h>

#include "util/strings.h"

namespace ocibuild::dockerfile {
namespace {

bool IsKnownOs(std::string_view os) {
  static const char* kOs[] = {"linux",   "windows", "darwin",  "freebsd", "netbsd",
                              "openbsd", "solaris", "illumos", "aix",     "android",
                              "ios",     "plan9",   "wasip1",  "js",      "dragonfly"};
  for (const char* k : kOs)
    if (os == k) return true;
  return false;
}

void NormalizeArch(std::string* arch, std::string* variant) {
  std::string a = ToLower(*arch);
  std::string v = ToLower(*variant);
  if (a == "i386" || a == "i686" || a == "x86") {
    a = "386";
    v.clear();
  } else if (a == "x86_64" || a == "x86-64" || a == "amd64") {
    a = "amd64";
    if (v == "v1") v.clear();
  } else if (a == "aarch64" || a == "arm64") {
    a = "arm64";
    if (v == "8" || v == "v8" || v == "v8.0") v.clear();
  } else if (a == "armhf") {
    a = "arm";
    v = "v7";
  } else if (a == "armel") {
    a = "arm";
    v = "v6";
  } else if (a == "arm") {
    if (v.empty() || v == "7") v = "v7";
    if (v == "5" || v == "6" || v == "8") v = "v" + v;
  }
  *arch = a;
  *variant = v;
}

}  // namespace

std::string BuildPlatform::ToString() const {
  std::string out = os + "/" + arch;
  if (!variant.empty()) out += "/" + variant;
  return out;
}

Result<BuildPlatform> ParseBuildPlatform(std::string_view spec) {
  auto invalid = [&](const std::string& why) {
    return Error{"\"" + std::string(spec) + "\": " + why};
  };
  if (spec.empty()) return invalid("invalid platform: empty");
  for (char c : spec) {
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '/' || c == '.';
    if (!ok) return invalid("invalid platform component");
  }
  std::vector<std::string> parts = Split(spec, '/');
  BuildPlatform p;
  for (const auto& part : parts) {
    if (part.empty()) return invalid("invalid platform component");
  }
  if (parts.size() == 1) {
    std::string one = ToLower(parts[0]);
    if (IsKnownOs(one)) {
      BuildPlatform host = HostBuildPlatform();
      p = BuildPlatform{one, host.arch, host.variant};
    } else {
      p.os = "linux";
      p.arch = one;
    }
  } else if (parts.size() <= 3) {
    p.os = ToLower(parts[0]);
    p.arch = parts[1];
    if (parts.size() == 3) p.variant = parts[2];
    if (!IsKnownOs(p.os)) return invalid("unknown operating system or architecture");
  } else {
    return invalid("cannot parse platform: too many components");
  }
  NormalizeArch(&p.arch, &p.variant);
  return p;
}

BuildPlatform PlatformFromUname(std::string_view machine) {
  BuildPlatform p{"linux", std::string(machine), ""};
  std::string m = ToLower(machine);
  if (m == "armv7l" || m == "armv7") {
    p.arch = "arm";
    p.variant = "v7";
  } else if (m == "armv6l" || m == "armv6") {
    p.arch = "arm";
    p.variant = "v6";
  } else if (m == "armv5tel" || m == "armv5") {
    p.arch = "arm";
    p.variant = "v5";
  } else if (m == "ppc64le" || m == "s390x" || m == "riscv64" || m == "mips64le" ||
             m == "loong64") {
    p.arch = m;
  } else if (m == "loongarch64") {
    p.arch = "loong64";
  }
  NormalizeArch(&p.arch, &p.variant);
  return p;
}

BuildPlatform HostBuildPlatform() {
  struct utsname u;
  if (uname(&u) != 0) return BuildPlatform{"linux", "amd64", ""};
  return PlatformFromUname(u.machine);
}

}  // namespace ocibuild::dockerfile
