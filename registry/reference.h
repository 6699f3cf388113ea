// Image references ("alpine", "ghcr.io/org/img:v1", "localhost:5000/x@sha256:...") parsed and
// normalised the way the docker CLI does, so that a name means the same image here as there.
#pragma once

#include <string>
#include <string_view>

#include "oci/digest.h"
#include "util/result.h"

namespace ocibuild::registry {

// Docker Hub's canonical name in references and the host its API is actually served from.
inline constexpr std::string_view kDockerHubDomain = "docker.io";
inline constexpr std::string_view kDockerHubApiHost = "registry-1.docker.io";

struct Reference {
  std::string registry;    // "docker.io", "ghcr.io", "localhost:5000"
  std::string repository;  // "library/alpine", "org/img"
  std::string tag;         // "latest" when neither tag nor digest was given; may be empty
  oci::Digest digest;      // empty unless "@algo:hex" was given

  // "docker.io/library/alpine:latest", "ghcr.io/o/i@sha256:..", "ghcr.io/o/i:v1@sha256:..".
  std::string String() const;
  // "docker.io/library/alpine".
  std::string Name() const { return registry + "/" + repository; }
  // What the registry API is asked for: the digest when pinned, else the tag.
  std::string Identifier() const { return digest.empty() ? tag : digest.str(); }
  // The host (and port) to connect to: Docker Hub's API lives on another host than its name.
  std::string ApiHost() const;
  // Same registry+repository, another tag (digest dropped).
  Reference WithTag(std::string t) const;
  Reference WithDigest(oci::Digest d) const;
};

// Parses and normalises a reference. Errors quote the input and say what is wrong with it.
Result<Reference> ParseReference(std::string_view text);

// Accepts "host", "host:port", "[::1]:5000"; used for registry hosts given on the command line.
bool IsValidRegistryHost(std::string_view host);

}  // namespace ocibuild::registry
