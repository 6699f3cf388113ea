#include "registry/reference.h"

#include <gtest/gtest.h>

namespace ocibuild::registry {
namespace {

const std::string kHex = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Case {
  std::string in, registry, repository, tag, digest, str;
};

TEST(ReferenceTest, NormalisesLikeDocker) {
  const std::vector<Case> cases = {
      {"alpine", "docker.io", "library/alpine", "latest", "", "docker.io/library/alpine:latest"},
      {"ubuntu:22.04", "docker.io", "library/ubuntu", "22.04", "",
       "docker.io/library/ubuntu:22.04"},
      {"library/ubuntu", "docker.io", "library/ubuntu", "latest", "",
       "docker.io/library/ubuntu:latest"},
      {"user/repo", "docker.io", "user/repo", "latest", "", "docker.io/user/repo:latest"},
      {"docker.io/alpine", "docker.io", "library/alpine", "latest", "",
       "docker.io/library/alpine:latest"},
      {"index.docker.io/library/alpine:3", "docker.io", "library/alpine", "3", "",
       "docker.io/library/alpine:3"},
      {"ghcr.io/org/img:v1", "ghcr.io", "org/img", "v1", "", "ghcr.io/org/img:v1"},
      {"ghcr.io/org/team/img", "ghcr.io", "org/team/img", "latest", "",
       "ghcr.io/org/team/img:latest"},
      {"localhost:5000/x", "localhost:5000", "x", "latest", "", "localhost:5000/x:latest"},
      {"localhost/x:dev", "localhost", "x", "dev", "", "localhost/x:dev"},
      {"127.0.0.1:5000/a/b", "127.0.0.1:5000", "a/b", "latest", "", "127.0.0.1:5000/a/b:latest"},
      {"[::1]:5000/x", "[::1]:5000", "x", "latest", "", "[::1]:5000/x:latest"},
      {"Registry/x", "Registry", "x", "latest", "", "Registry/x:latest"},
      {"foo--bar/a__b.c-d", "docker.io", "foo--bar/a__b.c-d", "latest", "",
       "docker.io/foo--bar/a__b.c-d:latest"},
      {"alpine@sha256:" + kHex, "docker.io", "library/alpine", "", "sha256:" + kHex,
       "docker.io/library/alpine@sha256:" + kHex},
      {"ghcr.io/o/i:v2@sha256:" + kHex, "ghcr.io", "o/i", "v2", "sha256:" + kHex,
       "ghcr.io/o/i:v2@sha256:" + kHex},
      {"localhost:5000/x@sha256:" + kHex, "localhost:5000", "x", "", "sha256:" + kHex,
       "localhost:5000/x@sha256:" + kHex},
  };
  for (const auto& c : cases) {
    auto r = ParseReference(c.in);
    ASSERT_TRUE(r.ok()) << c.in << ": " << r.error().message;
    EXPECT_EQ(r->registry, c.registry) << c.in;
    EXPECT_EQ(r->repository, c.repository) << c.in;
    EXPECT_EQ(r->tag, c.tag) << c.in;
    EXPECT_EQ(r->digest.str(), c.digest) << c.in;
    EXPECT_EQ(r->String(), c.str) << c.in;
  }
}

TEST(ReferenceTest, RejectsWithPreciseErrors) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "invalid reference \"\": empty"},
      {"Alpine", "invalid reference \"Alpine\": repository name must be lowercase"},
      {"ghcr.io/Org/img",
       "invalid reference \"ghcr.io/Org/img\": repository name must be lowercase"},
      {"alpine:",
       "invalid reference \"alpine:\": invalid tag \"\" (want [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"},
      {"alpine:-x",
       "invalid reference \"alpine:-x\": invalid tag \"-x\" (want "
       "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"},
      {"alpine:" + std::string(129, 'a'), "invalid reference \"alpine:" + std::string(129, 'a') +
                                              "\": invalid tag \"" + std::string(129, 'a') +
                                              "\" (want [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"},
      {"foo..bar",
       "invalid reference \"foo..bar\": invalid repository name component \"foo..bar\""},
      {"-foo", "invalid reference \"-foo\": invalid repository name component \"-foo\""},
      {"a/foo___bar",
       "invalid reference \"a/foo___bar\": invalid repository name component \"foo___bar\""},
      {"ghcr.io//x", "invalid reference \"ghcr.io//x\": invalid repository name component \"\""},
      {"ghcr.io/", "invalid reference \"ghcr.io/\": missing repository name"},
      {":tag", "invalid reference \":tag\": missing repository name"},
      {"bad_host.io:x/y",
       "invalid reference \"bad_host.io:x/y\": invalid registry host \"bad_host.io:x\""},
      {"alpine@sha256:abc",
       "invalid reference \"alpine@sha256:abc\": invalid digest \"sha256:abc\": want 64 hex "
       "characters, got 3"},
      {"a/" + std::string(260, 'b'),
       "invalid reference \"a/" + std::string(260, 'b') + "\": name longer than 255 characters"},
  };
  for (const auto& [in, want] : cases) {
    auto r = ParseReference(in);
    ASSERT_FALSE(r.ok()) << in;
    EXPECT_EQ(r.error().message, want);
  }
}

TEST(ReferenceTest, ApiHostAndDerivedReferences) {
  auto r = *ParseReference("alpine:3");
  EXPECT_EQ(r.ApiHost(), "registry-1.docker.io");
  EXPECT_EQ(r.Name(), "docker.io/library/alpine");
  EXPECT_EQ(r.Identifier(), "3");
  auto d = *oci::Digest::Parse("sha256:" + kHex);
  EXPECT_EQ(r.WithDigest(d).String(), "docker.io/library/alpine@sha256:" + kHex);
  EXPECT_EQ(r.WithDigest(d).Identifier(), "sha256:" + kHex);
  EXPECT_EQ(r.WithDigest(d).WithTag("edge").String(), "docker.io/library/alpine:edge");
  EXPECT_EQ(ParseReference("ghcr.io/o/i")->ApiHost(), "ghcr.io");
}

TEST(ReferenceTest, RegistryHosts) {
  for (const char* ok : {"ghcr.io", "localhost", "localhost:5000", "[::1]", "[::1]:5000",
                         "a-b.example.com:443", "127.0.0.1"})
    EXPECT_TRUE(IsValidRegistryHost(ok)) << ok;
  for (const char* bad :
       {"", "-a.io", "a..b", "host:", "host:12x", "[::1", "a_b.io", "host:123456"})
    EXPECT_FALSE(IsValidRegistryHost(bad)) << bad;
}

}  // namespace
}  // namespace ocibuild::registry
