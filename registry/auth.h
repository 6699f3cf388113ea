// Registry authentication: WWW-Authenticate challenges, Basic, and Bearer tokens from the
// challenge's realm (GET with Basic credentials, or the OAuth2 refresh_token grant for identity
// tokens), cached per scope set until they expire.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "registry/credentials.h"
#include "registry/http_transport.h"
#include "util/result.h"

namespace ocibuild::registry {

struct Challenge {
  std::string scheme;                         // lowercased: "bearer", "basic"
  std::map<std::string, std::string> params;  // lowercased keys: realm, service, scope, error
  std::string Param(const std::string& k) const {
    auto it = params.find(k);
    return it == params.end() ? "" : it->second;
  }
};

// Parses WWW-Authenticate values (RFC 7235: several challenges per header, quoted strings with
// backslash escapes). Unparseable text yields no challenge rather than an error.
std::vector<Challenge> ParseChallenges(const std::vector<std::string>& header_values);

// "repository:org/img:push,pull": push first, as some registries read the first action only.
std::string RepositoryScope(const std::string& repository, bool push);

class Authenticator {
 public:
  using Clock = std::chrono::steady_clock;
  // `registry` is for messages ("ghcr.io"); `credential` may be nullopt (anonymous).
  Authenticator(HttpTransport& transport, std::string registry,
                std::optional<Credential> credential,
                std::function<Clock::time_point()> now = Clock::now);

  // Adopts a challenge from the /v2/ ping or from a 401.
  void SetChallenges(const std::vector<Challenge>& challenges);
  bool HasChallenge() const;

  // The Authorization header value for a request needing `scopes` ("" for anonymous access),
  // fetching a token when none is cached for this scope set.
  Result<std::string> Authorize(const std::vector<std::string>& scopes);

  // Called with a 401 response: adopts its challenge (a scope it names is added to `scopes`),
  // forgets the cached token, and tells whether another attempt can succeed. An error names the
  // registry, what was asked for and where the credentials came from (never what they are).
  Status OnUnauthorized(const HttpResponse& resp, std::vector<std::string>* scopes,
                        const std::string& what);

  bool has_credential() const { return credential_.has_value(); }

 private:
  struct Token {
    std::string value;
    Clock::time_point expires;
  };
  Result<Token> FetchToken(const Challenge& c, const std::vector<std::string>& scopes);

  HttpTransport& transport_;
  const std::string registry_;
  const std::optional<Credential> credential_;
  std::function<Clock::time_point()> now_;

  mutable std::mutex mu_;
  std::optional<Challenge> challenge_;
  std::map<std::string, Token> tokens_;  // key: sorted scopes joined by ' '
};

}  // namespace ocibuild::registry
