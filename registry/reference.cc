#include "registry/reference.h"

#include <cctype>

namespace ocibuild::registry {
namespace {

constexpr size_t kMaxNameLength = 255;
constexpr size_t kMaxTagLength = 128;

bool IsLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// One path component: lowercase alphanumerics joined by single separators "." "_" "__" or
// any run of "-", as distribution's grammar says.
bool IsValidPathComponent(std::string_view c) {
  if (c.empty() || !IsLowerAlnum(c.front()) || !IsLowerAlnum(c.back())) return false;
  size_t i = 0;
  while (i < c.size()) {
    if (IsLowerAlnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    if (c[i] == '.') {
      j = i + 1;
    } else if (c[i] == '_') {
      j = i + 1;
      if (j < c.size() && c[j] == '_') ++j;
    } else if (c[i] == '-') {
      while (j < c.size() && c[j] == '-') ++j;
    } else {
      return false;
    }
    if (j >= c.size() || !IsLowerAlnum(c[j])) return false;
    i = j;
  }
  return true;
}

bool IsValidHostLabel(std::string_view l) {
  if (l.empty() || !std::isalnum(static_cast<unsigned char>(l.front())) ||
      !std::isalnum(static_cast<unsigned char>(l.back())))
    return false;
  for (char c : l)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
  return true;
}

bool IsValidTag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(t[0])) return false;
  for (char c : t)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

}  // namespace

bool IsValidRegistryHost(std::string_view host) {
  std::string_view h = host, port;
  if (!h.empty() && h.front() == '[') {
    size_t close = h.find(']');
    if (close == std::string_view::npos || close < 2) return false;
    for (char c : h.substr(1, close - 1))
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    std::string_view rest = h.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
  } else {
    size_t colon = h.rfind(':');
    if (colon != std::string_view::npos) {
      port = h.substr(colon + 1);
      h = h.substr(0, colon);
      if (port.empty()) return false;
    }
    if (h.empty()) return false;
    size_t start = 0;
    for (;;) {
      size_t dot = h.find('.', start);
      if (!IsValidHostLabel(h.substr(start, dot - start))) return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  if (port.size() > 5) return false;
  for (char c : port)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

Result<Reference> ParseReference(std::string_view text) {
  const std::string quoted = "invalid reference \"" + std::string(text) + "\"";
  if (text.empty()) return Error{"invalid reference \"\": empty"};
  Reference ref;
  std::string_view rest = text;

  size_t at = rest.find('@');
  if (at != std::string_view::npos) {
    auto d = oci::Digest::Parse(rest.substr(at + 1));
    if (!d.ok()) return Error{quoted + ": " + d.error().message};
    ref.digest = *d;
    rest = rest.substr(0, at);
  }

  // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
  size_t last_slash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    std::string_view tag = rest.substr(colon + 1);
    if (!IsValidTag(tag))
      return Error{quoted + ": invalid tag \"" + std::string(tag) +
                   "\" (want [A-Za-z0-9_][A-Za-z0-9_.-]{0,127})"};
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) return Error{quoted + ": missing repository name"};

  // The first component names a registry when it looks like a host: it has a '.' or a port,
  // is "localhost", or has uppercase letters (which repository names never have).
  std::string_view domain, path = rest;
  size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    std::string_view first = rest.substr(0, slash);
    bool has_upper = false;
    for (char c : first) has_upper |= (c >= 'A' && c <= 'Z');
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" || has_upper) {
      domain = first;
      path = rest.substr(slash + 1);
    }
  }
  if (domain.empty()) {
    ref.registry = std::string(kDockerHubDomain);
  } else {
    if (!IsValidRegistryHost(domain))
      return Error{quoted + ": invalid registry host \"" + std::string(domain) + "\""};
    ref.registry = std::string(domain);
    if (ref.registry == "index.docker.io") ref.registry = std::string(kDockerHubDomain);
  }
  if (path.empty()) return Error{quoted + ": missing repository name"};

  for (char c : path) {
    if (c >= 'A' && c <= 'Z') return Error{quoted + ": repository name must be lowercase"};
  }
  size_t start = 0;
  for (;;) {
    size_t s = path.find('/', start);
    std::string_view comp = path.substr(start, s - start);
    if (!IsValidPathComponent(comp))
      return Error{quoted + ": invalid repository name component \"" + std::string(comp) + "\""};
    if (s == std::string_view::npos) break;
    start = s + 1;
  }
  ref.repository = std::string(path);
  if (ref.registry == kDockerHubDomain && ref.repository.find('/') == std::string::npos)
    ref.repository = "library/" + ref.repository;
  if (ref.Name().size() > kMaxNameLength)
    return Error{quoted + ": name longer than " + std::to_string(kMaxNameLength) + " characters"};
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = "latest";
  return ref;
}

std::string Reference::String() const {
  std::string s = Name();
  if (!tag.empty()) s += ":" + tag;
  if (!digest.empty()) s += "@" + digest.str();
  return s;
}

std::string Reference::ApiHost() const {
  return registry == kDockerHubDomain ? std::string(kDockerHubApiHost) : registry;
}

Reference Reference::WithTag(std::string t) const {
  Reference r = *this;
  r.tag = std::move(t);
  r.digest = oci::Digest();
  return r;
}

Reference Reference::WithDigest(oci::Digest d) const {
  Reference r = *this;
  r.tag.clear();
  r.digest = std::move(d);
  return r;
}

}  // namespace ocibuild::registry
