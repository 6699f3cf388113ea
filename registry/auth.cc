#include "registry/auth.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <nlohmann/json.hpp>

#include "registry/api_error.h"
#include "registry/base64.h"
#include "registry/retry.h"
#include "util/strings.h"

namespace ocibuild::registry {
namespace {

using nlohmann::json;

constexpr std::chrono::seconds kDefaultTokenLifetime{60};  // distribution's token spec default
constexpr std::chrono::seconds kExpiryMargin{10};

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~/=").find(c) != std::string_view::npos;
}

void SkipSpace(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

std::string ScopeKey(std::vector<std::string> scopes) {
  std::sort(scopes.begin(), scopes.end());
  scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
  return Join(scopes, " ");
}

std::string CredentialHint(const std::optional<Credential>& c, const std::string& registry) {
  if (!c)
    return "no credentials found for " + registry +
           " (docker login, $DOCKER_CONFIG/config.json, REGISTRY_AUTH_FILE" +
           (registry == "ghcr.io" ? ", GITHUB_TOKEN" : "") + ")";
  return "credentials from " + c->source + " were not accepted";
}

}  // namespace

std::vector<Challenge> ParseChallenges(const std::vector<std::string>& header_values) {
  std::vector<Challenge> out;
  for (const std::string& hv : header_values) {
    std::string_view s = hv;
    size_t i = 0;
    Challenge* cur = nullptr;
    while (i < s.size()) {
      SkipSpace(s, i);
      if (i < s.size() && s[i] == ',') {
        ++i;
        continue;
      }
      size_t start = i;
      while (i < s.size() && IsTokenChar(s[i]) && s[i] != '=') ++i;
      std::string word(s.substr(start, i - start));
      if (word.empty()) break;  // garbage: keep what was parsed
      size_t j = i;
      SkipSpace(s, j);
      if (j < s.size() && s[j] == '=' && cur) {
        // auth-param: key=token or key="quoted"
        i = j + 1;
        SkipSpace(s, i);
        std::string value;
        if (i < s.size() && s[i] == '"') {
          ++i;
          while (i < s.size() && s[i] != '"') {
            if (s[i] == '\\' && i + 1 < s.size()) ++i;
            value += s[i++];
          }
          ++i;  // closing quote
        } else {
          size_t vs = i;
          while (i < s.size() && s[i] != ',' && s[i] != ' ') ++i;
          value = std::string(s.substr(vs, i - vs));
        }
        cur->params[ToLower(word)] = value;
      } else {
        out.push_back(Challenge{ToLower(word), {}});
        cur = &out.back();
      }
    }
  }
  return out;
}

std::string RepositoryScope(const std::string& repository, bool push) {
  return "repository:" + repository + (push ? ":push,pull" : ":pull");
}

Authenticator::Authenticator(HttpTransport& transport, std::string registry,
                             std::optional<Credential> credential,
                             std::function<Clock::time_point()> now)
    : transport_(transport),
      registry_(std::move(registry)),
      credential_(std::move(credential)),
      now_(std::move(now)) {}

void Authenticator::SetChallenges(const std::vector<Challenge>& challenges) {
  std::lock_guard<std::mutex> lock(mu_);
  // Bearer is preferred when a registry offers both.
  for (const auto& c : challenges) {
    if (c.scheme == "bearer") {
      challenge_ = c;
      return;
    }
  }
  for (const auto& c : challenges) {
    if (c.scheme == "basic") {
      challenge_ = c;
      return;
    }
  }
}

bool Authenticator::HasChallenge() const {
  std::lock_guard<std::mutex> lock(mu_);
  return challenge_.has_value();
}

Result<std::string> Authenticator::Authorize(const std::vector<std::string>& scopes) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!challenge_) return std::string();
  if (challenge_->scheme == "basic") {
    if (!credential_ || credential_->password.empty()) return std::string();
    return "Basic " + Base64Encode(credential_->username + ":" + credential_->password);
  }
  std::string key = ScopeKey(scopes);
  auto it = tokens_.find(key);
  if (it != tokens_.end() && it->second.expires > now_()) return "Bearer " + it->second.value;
  OCIB_ASSIGN_OR_RETURN(Token t, FetchToken(*challenge_, scopes));
  std::string header = "Bearer " + t.value;
  tokens_[key] = std::move(t);
  return header;
}

Status Authenticator::OnUnauthorized(const HttpResponse& resp, std::vector<std::string>* scopes,
                                     const std::string& /*what*/) {
  std::vector<Challenge> cs = ParseChallenges(resp.Headers("www-authenticate"));
  std::lock_guard<std::mutex> lock(mu_);
  const std::optional<Challenge> before = challenge_;
  for (const auto& c : cs) {
    if (c.scheme == "bearer" || (c.scheme == "basic" && !challenge_)) {
      challenge_ = c;
      break;
    }
  }
  if (!challenge_) return Error{DescribeHttpError(resp) + " without an authentication challenge"};
  tokens_.erase(ScopeKey(*scopes));
  if (challenge_->scheme == "basic") {
    // Basic credentials do not change between attempts: a second 401 is final.
    if (before && before->scheme == "basic")
      return Error{DescribeHttpError(resp) + "; " + CredentialHint(credential_, registry_)};
    if (!credential_ || credential_->password.empty())
      return Error{DescribeHttpError(resp) + ": authentication required; " +
                   CredentialHint(credential_, registry_)};
    return Ok();
  }
  std::string scope = challenge_->Param("scope");
  if (!scope.empty()) {
    for (const std::string& s : Split(scope, ' ')) {
      if (!s.empty() && std::find(scopes->begin(), scopes->end(), s) == scopes->end())
        scopes->push_back(s);
    }
  }
  return Ok();
}

Result<Authenticator::Token> Authenticator::FetchToken(const Challenge& c,
                                                       const std::vector<std::string>& scopes) {
  const std::string realm = c.Param("realm");
  const std::string service = c.Param("service");
  if (realm.empty())
    return Error{registry_ + ": Bearer challenge without a realm: cannot request a token"};
  const std::string what = "requesting a token for " + registry_ + " from " + realm + " (scope " +
                           Join(scopes, " ") + ")";

  HttpResponse resp;
  bool done = false;
  if (credential_ && !credential_->identity_token.empty()) {
    HttpRequest req;
    req.method = "POST";
    req.url = realm;
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = "grant_type=refresh_token&client_id=ocibuild&service=" + UrlEncode(service) +
               "&scope=" + UrlEncode(Join(scopes, " ")) +
               "&refresh_token=" + UrlEncode(credential_->identity_token);
    OCIB_ASSIGN_OR_RETURN(resp, transport_.Do(req));
    // Token servers without OAuth2 support answer 404/405: fall back to the GET flow.
    done = resp.status != 404 && resp.status != 405;
  }
  if (!done) {
    HttpRequest req;
    req.url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
    std::string q;
    if (!service.empty()) q += "service=" + UrlEncode(service);
    for (const auto& s : scopes) q += (q.empty() ? "" : "&") + std::string("scope=") + UrlEncode(s);
    req.url += q;
    if (credential_ && !credential_->password.empty())
      req.headers.emplace_back(
          "Authorization",
          "Basic " + Base64Encode(credential_->username + ":" + credential_->password));
    OCIB_ASSIGN_OR_RETURN(resp, transport_.Do(req));
  }
  if (resp.status == 401 || resp.status == 403)
    return Error{what + ": " + DescribeHttpError(resp) + "; " +
                 CredentialHint(credential_, registry_)};
  // EAGAIN marks "the token server asked to be tried again": callers retry it like a reset.
  if (IsRetryableStatus(resp.status)) return Error{what + ": " + DescribeHttpError(resp), EAGAIN};
  if (resp.status != 200) return Error{what + ": " + DescribeHttpError(resp)};
  json j = json::parse(resp.body, nullptr, false);
  if (!j.is_object()) return Error{what + ": response is not a JSON object"};
  Token t;
  for (const char* k : {"token", "access_token"}) {
    auto it = j.find(k);
    if (it != j.end() && it->is_string() && !it->get<std::string>().empty()) {
      t.value = it->get<std::string>();
      break;
    }
  }
  if (t.value.empty()) return Error{what + ": response has no token"};
  std::chrono::seconds life = kDefaultTokenLifetime;
  if (auto it = j.find("expires_in");
      it != j.end() && it->is_number_integer() && it->get<long long>() > 0)
    life = std::chrono::seconds(it->get<long long>());
  t.expires = now_() + life - std::min(life / 2, std::chrono::seconds(kExpiryMargin));
  return t;
}

}  // namespace ocibuild::registry
