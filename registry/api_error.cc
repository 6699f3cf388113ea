#include "registry/api_error.h"

#include <nlohmann/json.hpp>

namespace ocibuild::registry {
namespace {

using nlohmann::json;

std::string Clip(std::string s) {
  if (s.size() > 300) s = s.substr(0, 300) + "...";
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  return s;
}

std::string Field(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string RegistryErrorCode(const HttpResponse& resp) {
  json j = json::parse(resp.body, nullptr, false);
  if (!j.is_object()) return "";
  auto errs = j.find("errors");
  if (errs == j.end() || !errs->is_array() || errs->empty() || !(*errs)[0].is_object()) return "";
  return Field((*errs)[0], "code");
}

std::string DescribeHttpError(const HttpResponse& resp) {
  std::string out = "HTTP " + std::to_string(resp.status);
  json j = json::parse(resp.body, nullptr, false);
  if (!j.is_object()) return out;
  std::vector<std::string> parts;
  if (auto errs = j.find("errors"); errs != j.end() && errs->is_array()) {
    for (const auto& e : *errs) {
      if (!e.is_object()) continue;
      std::string code = Field(e, "code"), msg = Field(e, "message");
      if (code.empty() && msg.empty()) continue;
      parts.push_back(code.empty() ? msg : msg.empty() ? code : code + ": " + msg);
    }
  }
  // Token servers answer in OAuth2's shape or with a bare "details".
  if (parts.empty()) {
    std::string e = Field(j, "error"), d = Field(j, "error_description");
    if (d.empty()) d = Field(j, "details");
    if (!e.empty() || !d.empty()) parts.push_back(e.empty() ? d : d.empty() ? e : e + ": " + d);
  }
  if (parts.empty()) return out;
  std::string joined;
  for (const auto& p : parts) joined += (joined.empty() ? "" : "; ") + p;
  return out + " (" + Clip(joined) + ")";
}

}  // namespace ocibuild::registry
