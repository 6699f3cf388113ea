#include "dockerfile-parser/run_mount.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "util/strings.h"

namespace ocibuild::dockerfile {
namespace {

const std::vector<std::string> kMountTypes = {"bind", "cache", "tmpfs", "secret", "ssh"};
const std::vector<std::string> kSharingModes = {"shared", "private", "locked"};
const std::vector<std::string> kMountKeys = {
    "type", "from", "source", "target", "readonly",    "id", "sharing", "required",  "size", "mode",
    "uid",  "gid",  "src",    "dst",    "destination", "ro", "rw",      "readwrite", "env"};

std::string Suggest(std::string msg, std::string_view word, const std::vector<std::string>& c) {
  std::string m = BuildkitSuggestion(word, c);
  if (!m.empty()) msg += " (did you mean " + m + "?)";
  return msg;
}

// CSV record as encoding/csv reads it: "quoted, fields" with "" for a literal quote.
Result<std::vector<std::string>> CsvFields(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (true) {
    std::string field;
    if (i < s.size() && s[i] == '"') {
      size_t start_col = i + 1;
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '"') {
          if (i + 1 < s.size() && s[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        field += s[i++];
      }
      if (!closed) {
        return Error{
            "failed to parse csv mounts: extraneous or missing \" in quoted-field "
            "(column " +
            std::to_string(start_col) + ")"};
      }
      if (i < s.size() && s[i] != ',') {
        return Error{
            "failed to parse csv mounts: extraneous or missing \" in quoted-field "
            "(column " +
            std::to_string(i + 1) + ")"};
      }
    } else {
      while (i < s.size() && s[i] != ',') {
        if (s[i] == '"') {
          return Error{"failed to parse csv mounts: bare \" in non-quoted-field (column " +
                       std::to_string(i + 1) + ")"};
        }
        field += s[i++];
      }
    }
    out.push_back(std::move(field));
    if (i >= s.size()) break;
    ++i;  // the comma
  }
  return out;
}

std::optional<uint64_t> ParseUint(std::string_view s, int base, uint64_t max) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else {
      return std::nullopt;
    }
    if (d >= base) return std::nullopt;
    v = v * base + d;
    if (v > max) return std::nullopt;
  }
  return v;
}

std::string Basename(std::string_view p) {
  while (p.size() > 1 && p.back() == '/') p.remove_suffix(1);
  size_t slash = p.rfind('/');
  if (slash != std::string_view::npos && p.size() > 1) p.remove_prefix(slash + 1);
  return std::string(p);
}

}  // namespace

std::optional<bool> ParseGoBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False")
    return false;
  return std::nullopt;
}

std::optional<int64_t> ParseRamInBytes(std::string_view s) {
  // ^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0) return std::nullopt;
  while (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j == i + 1) return std::nullopt;
    i = j;
  }
  std::string num(s.substr(0, i));
  if (i < s.size() && s[i] == ' ') ++i;
  double mult = 1;
  if (i < s.size()) {
    switch (std::tolower(static_cast<unsigned char>(s[i]))) {
      case 'k':
        mult = 1024.0;
        ++i;
        break;
      case 'm':
        mult = 1024.0 * 1024;
        ++i;
        break;
      case 'g':
        mult = 1024.0 * 1024 * 1024;
        ++i;
        break;
      case 't':
        mult = 1024.0 * 1024 * 1024 * 1024;
        ++i;
        break;
      case 'p':
        mult = 1024.0 * 1024 * 1024 * 1024 * 1024;
        ++i;
        break;
      default:
        break;
    }
  }
  if (i < s.size() && (s[i] == 'i' || s[i] == 'I')) ++i;
  if (i < s.size() && (s[i] == 'b' || s[i] == 'B')) ++i;
  if (i != s.size()) return std::nullopt;
  // Go's ParseFloat stops at the first '.'-separated pair; "1.2.3" is rejected there.
  if (std::count(num.begin(), num.end(), '.') > 1) return std::nullopt;
  double v = std::strtod(num.c_str(), nullptr) * mult;
  if (!std::isfinite(v) || v > 9.2e18) return std::nullopt;
  return static_cast<int64_t>(v);
}

Result<Mount> ParseMount(std::string_view spec, const Env* env, const ShellLex* lex,
                         int ssh_index) {
  OCIB_ASSIGN_OR_RETURN(std::vector<std::string> fields, CsvFields(spec));
  Mount m;
  m.spec = std::string(spec);
  bool ro_auto = true;
  const bool expanding = env != nullptr && lex != nullptr;
  // `type=$MNT_TYPE`: nothing that depends on the type can be checked before expansion.
  bool type_deferred = false;
  for (const auto& field : fields) {
    bool has_eq = false;
    auto [raw_key, raw_value] = SplitOnce(field, '=', &has_eq);
    std::string key = ToLower(raw_key);
    std::string value = raw_value;
    if (!has_eq) {
      if (key == "readonly" || key == "ro") {
        m.readonly = true;
        ro_auto = false;
      } else if (key == "readwrite" || key == "rw") {
        m.readonly = false;
        ro_auto = false;
      } else if (key == "required") {
        if (m.type != "secret" && m.type != "ssh") {
          return Error{"unexpected key '" + key + "' for mount type '" + m.type + "'"};
        }
        m.required = true;
      } else {
        return Error{"invalid field '" + field + "' must be a key=value pair"};
      }
      continue;
    }
    if (key == "from") {
      size_t dollar = value.find('$');
      if (dollar != std::string::npos && dollar != value.size() - 1) {
        return Error{"'from' doesn't support variable expansion, define alias stage instead"};
      }
    }
    if (expanding) {
      OCIB_ASSIGN_OR_RETURN(value, lex->ProcessWord(value, *env));
    } else if (value.find('$') != std::string::npos && key == "type") {
      m.type = value;
      type_deferred = true;
      continue;
    } else if (value.find('$') != std::string::npos && key != "from") {
      // Checked again once expanded; keep the text so the plan still shows it.
      if (key == "source" || key == "src") m.source = value;
      if (key == "target" || key == "dst" || key == "destination") m.target = value;
      if (key == "id") m.id = value;
      continue;
    }
    if (key == "type") {
      std::string v = ToLower(value);
      bool known = false;
      for (const auto& t : kMountTypes) known |= t == v;
      if (!known) {
        return Error{Suggest("unsupported mount type \"" + value + "\"", value, kMountTypes)};
      }
      m.type = v;
    } else if (key == "from") {
      m.from = value;
    } else if (key == "source" || key == "src") {
      m.source = value;
    } else if (key == "target" || key == "dst" || key == "destination") {
      m.target = value;
    } else if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
      auto b = ParseGoBool(value);
      if (!b) return Error{"invalid value for " + key + ": " + value};
      m.readonly = (key == "readonly" || key == "ro") ? *b : !*b;
      ro_auto = false;
    } else if (key == "required") {
      if (m.type != "secret" && m.type != "ssh") {
        return Error{"unexpected key '" + key + "' for mount type '" + m.type + "'"};
      }
      auto b = ParseGoBool(value);
      if (!b) return Error{"invalid value for " + key + ": " + value};
      m.required = *b;
    } else if (key == "size") {
      if (m.type != "tmpfs") {
        return Error{"unexpected key '" + key + "' for mount type '" + m.type + "'"};
      }
      auto n = ParseRamInBytes(value);
      if (!n) return Error{"invalid value for " + key + ": " + value};
      m.size_limit = *n;
    } else if (key == "id") {
      m.id = value;
    } else if (key == "sharing") {
      std::string v = ToLower(value);
      bool known = false;
      for (const auto& t : kSharingModes) known |= t == v;
      if (!known) {
        return Error{Suggest("unsupported sharing value \"" + value + "\"", value, kSharingModes)};
      }
      m.sharing = v;
    } else if (key == "mode") {
      auto v = ParseUint(value, 8, 0xFFFFFFFFu);
      if (!v) return Error{"invalid value " + value + " for mode"};
      m.mode = static_cast<uint32_t>(*v);
    } else if (key == "uid" || key == "gid") {
      auto v = ParseUint(value, 10, 0xFFFFFFFFu);
      if (!v) return Error{"invalid value " + value + " for " + key};
      (key == "uid" ? m.uid : m.gid) = static_cast<uint32_t>(*v);
    } else if (key == "env") {
      m.env = value;
    } else {
      return Error{Suggest("unexpected key '" + key + "' in '" + field + "'", key, kMountKeys)};
    }
  }

  if (type_deferred) return m;
  bool file_info_allowed = m.type == "secret" || m.type == "ssh" || m.type == "cache";
  if (!file_info_allowed) {
    if (m.mode) return Error{"mode not allowed for \"" + m.type + "\" type mounts"};
    if (m.uid) return Error{"uid not allowed for \"" + m.type + "\" type mounts"};
    if (m.gid) return Error{"gid not allowed for \"" + m.type + "\" type mounts"};
  }
  if (ro_auto) m.readonly = !(m.type == "cache" || m.type == "tmpfs");
  if (m.type == "secret") {
    if (!m.from.empty()) return Error{"secret mount should not have a from"};
    if (!m.sharing.empty()) return Error{"secret mount should not define sharing"};
    if (m.source.empty() && m.target.empty() && m.id.empty() && !m.env) {
      return Error{"invalid secret mount. one of source, target required"};
    }
    if (!m.source.empty() && !m.id.empty()) return Error{"both source and id can't be set"};
  }
  if (!m.sharing.empty() && m.type != "cache") {
    return Error{"invalid cache sharing set for " + m.type + " mount"};
  }
  if ((m.type == "bind" || m.type == "cache" || m.type == "tmpfs") && m.target.empty()) {
    return Error{"mount type '" + m.type + "' requires a target"};
  }
  // Defaults the executor would otherwise have to re-derive.
  if (m.type == "cache") {
    if (m.id.empty()) m.id = m.target;
    if (m.sharing.empty()) m.sharing = "shared";
  } else if (m.type == "secret") {
    if (m.id.empty()) m.id = !m.source.empty() ? m.source : Basename(m.target);
    if (m.target.empty() && !m.env) m.target = "/run/secrets/" + m.id;
  } else if (m.type == "ssh") {
    if (m.id.empty()) m.id = "default";
    if (m.target.empty()) m.target = "/run/buildkit/ssh_agent." + std::to_string(ssh_index);
  }
  return m;
}

}  // namespace ocibuild::dockerfile
