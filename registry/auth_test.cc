#include "registry/auth.h"

#include <gtest/gtest.h>

#include "registry/base64.h"
#include "registry/fake_transport.h"

namespace ocibuild::registry {
namespace {

TEST(ChallengeTest, ParsesBearerBasicAndSeveralPerHeader) {
  auto cs = ParseChallenges(
      {R"(Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:u/i:pull")",
       R"(Basic realm="a \"quoted\" realm", Bearer realm=https://x/t, error="insufficient_scope")"});
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].scheme, "bearer");
  EXPECT_EQ(cs[0].Param("realm"), "https://ghcr.io/token");
  EXPECT_EQ(cs[0].Param("service"), "ghcr.io");
  EXPECT_EQ(cs[0].Param("scope"), "repository:u/i:pull");
  EXPECT_EQ(cs[1].scheme, "basic");
  EXPECT_EQ(cs[1].Param("realm"), "a \"quoted\" realm");
  EXPECT_EQ(cs[2].scheme, "bearer");
  EXPECT_EQ(cs[2].Param("realm"), "https://x/t");
  EXPECT_EQ(cs[2].Param("error"), "insufficient_scope");
  EXPECT_TRUE(ParseChallenges({""}).empty());
}

TEST(ChallengeTest, RepositoryScopeListsPushFirst) {
  EXPECT_EQ(RepositoryScope("org/img", true), "repository:org/img:push,pull");
  EXPECT_EQ(RepositoryScope("org/img", false), "repository:org/img:pull");
}

Challenge Bearer() {
  return ParseChallenges({R"(Bearer realm="https://auth.example/token",service="reg.example")"})[0];
}

TEST(AuthenticatorTest, FetchesTokenWithBasicCredentialsAndCachesPerScope) {
  FakeTransport t([](const HttpRequest&) {
    return FakeTransport::Respond(200, R"({"token":"T1","expires_in":300})");
  });
  Authenticator a(t, "reg.example", Credential{"user", "pa ss", "", "test"});
  a.SetChallenges({Bearer()});
  auto h = a.Authorize({"repository:o/i:push,pull", "repository:o/base:pull"});
  ASSERT_TRUE(h.ok()) << h.error().message;
  EXPECT_EQ(*h, "Bearer T1");
  ASSERT_EQ(t.requests().size(), 1u);
  const HttpRequest req = t.requests()[0];
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.url,
            "https://auth.example/token?service=reg.example&scope=repository%3Ao%2Fi%3Apush%2Cpull"
            "&scope=repository%3Ao%2Fbase%3Apull");
  EXPECT_EQ(FakeTransport::HeaderOf(req, "authorization"), "Basic " + Base64Encode("user:pa ss"));
  // Same scopes in another order: cached.
  ASSERT_TRUE(a.Authorize({"repository:o/base:pull", "repository:o/i:push,pull"}).ok());
  EXPECT_EQ(t.requests().size(), 1u);
  ASSERT_TRUE(a.Authorize({"repository:o/i:pull"}).ok());
  EXPECT_EQ(t.requests().size(), 2u);
}

TEST(AuthenticatorTest, ExpiredTokensAreFetchedAgain) {
  auto now = std::chrono::steady_clock::time_point();
  int n = 0;
  FakeTransport t([&](const HttpRequest&) {
    return FakeTransport::Respond(
        200, R"({"access_token":"T)" + std::to_string(++n) + R"(","expires_in":60})");
  });
  Authenticator a(t, "reg.example", std::nullopt, [&] { return now; });
  a.SetChallenges({Bearer()});
  EXPECT_EQ(*a.Authorize({"s"}), "Bearer T1");
  now += std::chrono::seconds(45);
  EXPECT_EQ(*a.Authorize({"s"}), "Bearer T1");
  now += std::chrono::seconds(10);  // within the refresh margin
  EXPECT_EQ(*a.Authorize({"s"}), "Bearer T2");
  // Anonymous: no Authorization on the token request.
  EXPECT_EQ(FakeTransport::HeaderOf(t.requests()[0], "authorization"), "");
}

TEST(AuthenticatorTest, IdentityTokenUsesOAuth2RefreshGrantAndFallsBackToGet) {
  bool post_supported = true;
  FakeTransport t([&](const HttpRequest& r) {
    if (r.method == "POST" && !post_supported) return FakeTransport::Respond(405);
    return FakeTransport::Respond(200, R"({"access_token":"AT"})");
  });
  Authenticator a(t, "reg.example", Credential{"", "", "refresh/tok", "x"});
  a.SetChallenges({Bearer()});
  EXPECT_EQ(*a.Authorize({"repository:o/i:pull"}), "Bearer AT");
  const HttpRequest req = t.requests()[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.url, "https://auth.example/token");
  EXPECT_EQ(req.body,
            "grant_type=refresh_token&client_id=ocibuild&service=reg.example&scope=repository%3Ao"
            "%2Fi%3Apull&refresh_token=refresh%2Ftok");
  EXPECT_EQ(FakeTransport::HeaderOf(req, "content-type"), "application/x-www-form-urlencoded");
  post_supported = false;
  EXPECT_EQ(*a.Authorize({"repository:o/j:pull"}), "Bearer AT");
  auto reqs = t.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].method, "GET");
}

TEST(AuthenticatorTest, RejectedCredentialsNameTheirSourceNotTheSecret) {
  FakeTransport t([](const HttpRequest&) {
    return FakeTransport::Respond(
        401, R"({"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]})");
  });
  Authenticator a(t, "reg.example", Credential{"user", "hunter2", "", "/h/.docker/config.json"});
  a.SetChallenges({Bearer()});
  auto h = a.Authorize({"repository:o/i:pull"});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().message,
            "requesting a token for reg.example from https://auth.example/token (scope "
            "repository:o/i:pull): HTTP 401 (UNAUTHORIZED: bad credentials); credentials from "
            "/h/.docker/config.json were not accepted");
}

TEST(AuthenticatorTest, BasicChallengeSendsCredentialsDirectly) {
  FakeTransport t([](const HttpRequest&) { return FakeTransport::Respond(500); });
  Authenticator a(t, "reg.example", Credential{"u", "p", "", "x"});
  a.SetChallenges(ParseChallenges({R"(Basic realm="r")"}));
  EXPECT_EQ(*a.Authorize({"anything"}), "Basic " + Base64Encode("u:p"));
  EXPECT_TRUE(t.requests().empty());
}

TEST(AuthenticatorTest, UnauthorizedAdoptsChallengeScope) {
  FakeTransport t(
      [](const HttpRequest&) { return FakeTransport::Respond(200, R"({"token":"X"})"); });
  Authenticator a(t, "reg.example", std::nullopt);
  HttpResponse resp = FakeTransport::Respond(
      401, "",
      {{"WWW-Authenticate", R"(Bearer realm="https://auth.example/token",service="reg.example",)"
                            R"(scope="repository:o/i:pull repository:o/base:pull",)"
                            R"(error="insufficient_scope")"}});
  std::vector<std::string> scopes = {"repository:o/i:pull"};
  ASSERT_TRUE(a.OnUnauthorized(resp, &scopes, "x").ok());
  EXPECT_EQ(scopes, (std::vector<std::string>{"repository:o/i:pull", "repository:o/base:pull"}));
  EXPECT_TRUE(a.HasChallenge());
}

TEST(AuthenticatorTest, UnauthorizedWithoutChallengeOrCredentials) {
  FakeTransport t([](const HttpRequest&) { return FakeTransport::Respond(500); });
  Authenticator a(t, "ghcr.io", std::nullopt);
  std::vector<std::string> scopes;
  auto st = a.OnUnauthorized(
      FakeTransport::Respond(401, R"({"errors":[{"code":"DENIED","message":"denied"}]})"), &scopes,
      "x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "HTTP 401 (DENIED: denied) without an authentication challenge");
  st = a.OnUnauthorized(
      FakeTransport::Respond(401, "", {{"WWW-Authenticate", R"(Basic realm="r")"}}), &scopes, "x");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message,
            "HTTP 401: authentication required; no credentials found for ghcr.io (docker login, "
            "$DOCKER_CONFIG/config.json, REGISTRY_AUTH_FILE, GITHUB_TOKEN)");
}

}  // namespace
}  // namespace ocibuild::registry
