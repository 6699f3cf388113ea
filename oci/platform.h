// Platforms (os/architecture/variant) as the OCI image index records them, with the alias
// normalisation and compatibility rules container runtimes apply when choosing an image from an
// index: "aarch64" is "arm64", "armhf" is "arm/v7", "linux/arm64" is "linux/arm64/v8", and an
// arm/v7 machine also runs arm/v6 and arm/v5 images when no v7 image exists.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/json_util.h"
#include "util/result.h"

namespace ocibuild::oci {

struct Platform {
  std::string os;
  std::string architecture;
  std::string variant;
  std::string os_version;                // "os.version" (Windows builds)
  std::vector<std::string> os_features;  // "os.features"

  // Parses "os/arch[/variant]" or a lone OS or architecture ("linux", "arm64"), in which case
  // the other half is taken from the host. The result is normalised.
  static Result<Platform> Parse(std::string_view spec);
  // The platform of the machine ocibuild runs on (always os "linux").
  static Platform Host();
  // The normalised platform for a uname(2) machine string ("x86_64", "armv7l", "aarch64").
  static Platform FromUnameMachine(std::string_view machine);

  // Canonical spelling: lower-case, aliases resolved, default variants filled in
  // (arm -> v7, arm64 -> v8) and redundant ones dropped (amd64/v1 -> amd64).
  Platform Normalized() const;
  // "os/arch" or "os/arch/variant".
  std::string str() const;

  Json ToJson() const;
  // Reads an image-index "platform" object; `what` names it in errors.
  static Result<Platform> FromJson(const Json& j, std::string_view what);

  bool operator==(const Platform&) const = default;
};

// True when an image built for `have` is exactly the platform `want` (after normalising both;
// os.version and os.features are not compared).
bool PlatformMatches(const Platform& want, const Platform& have);

// The platforms a `want` machine can run, most preferred first: want itself, then older
// variants of the same architecture (arm/v7 -> v6, v5; amd64/v3 -> v2, amd64), then 32-bit
// companions (arm64 -> arm/v8, arm/v7, ...; amd64 -> 386).
std::vector<Platform> CompatiblePlatforms(const Platform& want);

// Index of the best candidate for `want`: an exact match if any, else (unless `strict`) the
// candidate earliest in CompatiblePlatforms(want). Ties go to the earliest candidate, as
// registries list the preferred manifest first. nullopt when nothing fits.
std::optional<size_t> SelectPlatform(const std::vector<Platform>& candidates, const Platform& want,
                                     bool strict = false);

}  // namespace ocibuild::oci
