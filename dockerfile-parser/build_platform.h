// Platforms as the Dockerfile frontend sees them (FROM --platform, TARGETPLATFORM, ...):
// "os/arch[/variant]" normalised the way containerd's platforms.Normalize does, which is what
// the TARGETARCH/TARGETVARIANT build args expose (linux/arm64 has no variant, arm is v7).
#pragma once

#include <string>
#include <string_view>

#include "util/result.h"

namespace ocibuild::dockerfile {

struct BuildPlatform {
  std::string os;
  std::string arch;
  std::string variant;

  std::string ToString() const;  // "linux/arm/v7", "linux/amd64"
  bool operator==(const BuildPlatform&) const = default;
};

// Accepts "os/arch[/variant]", "arch" alone (os linux) and the usual aliases
// (x86_64, aarch64, armhf, armel, i386).
Result<BuildPlatform> ParseBuildPlatform(std::string_view spec);
// From a uname(2) machine string.
BuildPlatform PlatformFromUname(std::string_view machine);
// The platform of this machine.
BuildPlatform HostBuildPlatform();

}  // namespace ocibuild::dockerfile
