#include "dockerfile-parser/lint.h"

#include <algorithm>
#include <regex>

#include "util/strings.h"

namespace ocibuild::dockerfile {
namespace {

struct Rule {
  const char* name;
  const char* description;
  const char* slug;  // the documentation page's name
};

const Rule kStageNameCasing{"StageNameCasing", "Stage names should be lowercase",
                            "stage-name-casing"};
const Rule kFromAsCasing{"FromAsCasing",
                         "The 'as' keyword should match the case of the 'from' keyword",
                         "from-as-casing"};
const Rule kConsistentCasing{"ConsistentInstructionCasing",
                             "All commands within the Dockerfile should use the same casing "
                             "(either upper or lower)",
                             "consistent-instruction-casing"};
const Rule kDuplicateStage{"DuplicateStageName", "Stage names should be unique",
                           "duplicate-stage-name"};
const Rule kReservedStage{"ReservedStageName", "Reserved words should not be used as stage names",
                          "reserved-stage-name"};
const Rule kJsonArgs{"JSONArgsRecommended",
                     "JSON arguments recommended for ENTRYPOINT/CMD to prevent unintended "
                     "behavior related to OS signals",
                     "json-args-recommended"};
const Rule kMaintainer{"MaintainerDeprecated",
                       "The MAINTAINER instruction is deprecated, use a label instead to define "
                       "an image author",
                       "maintainer-deprecated"};
const Rule kWorkdirRelative{"WorkdirRelativePath",
                            "Relative workdir without an absolute workdir declared within the "
                            "build can have unexpected results if the base image changes",
                            "workdir-relative-path"};
const Rule kLegacyKeyValue{"LegacyKeyValueFormat",
                           "Legacy key/value format with whitespace separator should not be used",
                           "legacy-key-value-format"};
const Rule kSecrets{"SecretsUsedInArgOrEnv",
                    "Sensitive data should not be used in the ARG or ENV commands",
                    "secrets-used-in-arg-or-env"};
const Rule kMultiple{"MultipleInstructionsDisallowed",
                     "Multiple instructions of the same type should not be used in the same stage",
                     "multiple-instructions-disallowed"};
const Rule kExposeProto{"ExposeProtoCasing", "Protocol in EXPOSE instruction should be lowercase",
                        "expose-proto-casing"};
const Rule kUndefinedArgInFrom{"UndefinedArgInFrom", "FROM command must use declared ARGs",
                               "undefined-arg-in-from"};
const Rule kRedundantPlatform{"RedundantTargetPlatform",
                              "Setting platform to predefined $TARGETPLATFORM in FROM is "
                              "redundant as this is the default behavior",
                              "redundant-target-platform"};
const Rule kConstPlatform{"FromPlatformFlagConstDisallowed",
                          "FROM --platform flag should not use a constant value",
                          "from-platform-flag-const-disallowed"};
const Rule kEmptyContinuation{"NoEmptyContinuation",
                              "Empty continuation lines will become errors in a future release",
                              "no-empty-continuation"};

const std::set<std::string>& PredefinedArgs() {
  static const std::set<std::string> k = {
      "BUILDPLATFORM",    "BUILDOS",    "BUILDARCH",  "BUILDVARIANT",
      "TARGETPLATFORM",   "TARGETOS",   "TARGETARCH", "TARGETVARIANT",
      "TARGETSTAGE",      "HTTP_PROXY", "http_proxy", "HTTPS_PROXY",
      "https_proxy",      "FTP_PROXY",  "ftp_proxy",  "NO_PROXY",
      "no_proxy",         "ALL_PROXY",  "all_proxy",  "BUILDKIT_SBOM_SCAN_STAGE",
      "SOURCE_DATE_EPOCH"};
  return k;
}

// $NAME and ${NAME...} references in a word.
std::vector<std::string> VarRefs(const std::string& s) {
  std::vector<std::string> out;
  static const std::regex kVar(R"(\$\{?([A-Za-z_][A-Za-z0-9_]*))");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), kVar); it != std::sregex_iterator(); ++it)
    out.push_back((*it)[1].str());
  return out;
}

bool LooksSecret(const std::string& name) {
  // Names whose words say credential; a few common public ones are not.
  static const std::regex kSecret(
      R"((?:^|_)(?:apikey|auth|credential|credentials|key|password|pass|pword|passwd|secret|token)(?:_|$))",
      std::regex::icase);
  static const std::regex kAllowed(R"((?:^|_)(?:public|file|path|id|name|url|dir|user)(?:_|$))",
                                   std::regex::icase);
  return std::regex_search(name, kSecret) && !std::regex_search(name, kAllowed);
}

// The instruction text after its keyword, on the logical line.
std::string AfterKeyword(const Node& n) {
  std::string o = std::string(TrimSpace(n.original));
  size_t sp = o.find_first_of(" \t");
  return sp == std::string::npos ? "" : std::string(TrimSpace(o.substr(sp)));
}

std::string ToUpper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

bool IsUpper(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return std::islower(c); });
}
bool IsLower(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](unsigned char c) { return std::isupper(c); });
}

class Linter {
 public:
  Linter(const ParsedDockerfile& f, const CheckConfig& c) : file_(f), config_(c) {}

  std::vector<LintWarning> Run() {
    for (const auto& w : file_.warnings)
      if (w.message.find("empty continuation") != std::string::npos)
        Add(kEmptyContinuation, "Empty continuation line", w.line);
    Casing();
    std::set<std::string> global_args;
    bool in_stage = false;
    std::set<std::string> stage_names;
    std::map<std::string, int> counts;  // CMD/ENTRYPOINT/HEALTHCHECK in the current stage
    std::map<std::string, int> last_line;
    bool absolute_workdir = false;
    auto end_stage = [&] {
      for (const auto& [kw, n] : counts)
        if (n > 1)
          Add(kMultiple,
              "Multiple " + ToUpper(kw) +
                  " instructions should not be used in the same stage because only the last one "
                  "will be used",
              last_line[kw]);
      counts.clear();
    };
    for (const auto& n : file_.nodes) {
      std::string kw = n.Keyword();
      if (kw == "from") {
        if (in_stage) end_stage();
        in_stage = true;
        absolute_workdir = false;
        From(n, global_args, stage_names);
        continue;
      }
      if (kw == "arg") {
        for (const auto& a : n.args) {
          std::string name = a.substr(0, a.find('='));
          if (!in_stage) global_args.insert(name);
          if (LooksSecret(name))
            Add(kSecrets,
                "Do not use ARG or ENV instructions for sensitive data (ARG \"" + name + "\")",
                n.start_line);
        }
        continue;
      }
      if (kw == "env" || kw == "label") {
        std::string rest = AfterKeyword(n);
        std::string first = rest.substr(0, rest.find_first_of(" \t"));
        if (!rest.empty() && first.find('=') == std::string::npos)
          Add(kLegacyKeyValue,
              "\"" + ToUpper(kw) + " key=value\" should be used instead of legacy \"" +
                  ToUpper(kw) + " key value\" format",
              n.start_line);
        if (kw == "env") {
          for (size_t i = 0; i < n.args.size(); i += 2)
            if (LooksSecret(n.args[i]))
              Add(kSecrets,
                  "Do not use ARG or ENV instructions for sensitive data (ENV \"" + n.args[i] +
                      "\")",
                  n.start_line);
        }
        continue;
      }
      if (kw == "cmd" || kw == "entrypoint" || kw == "healthcheck") {
        counts[kw]++;
        last_line[kw] = n.start_line;
        if (kw != "healthcheck" && !n.json && n.heredocs.empty())
          Add(kJsonArgs,
              "JSON arguments recommended for " + ToUpper(kw) +
                  " to prevent unintended behavior related to OS signals",
              n.start_line);
        continue;
      }
      if (kw == "maintainer") {
        Add(kMaintainer, "Maintainer instruction is deprecated in favor of using label",
            n.start_line);
        continue;
      }
      if (kw == "workdir" && !n.args.empty()) {
        const std::string& p = n.args[0];
        if (StartsWith(p, "/") || StartsWith(p, "$")) {
          absolute_workdir = true;
        } else if (!absolute_workdir) {
          Add(kWorkdirRelative,
              "Relative workdir \"" + p +
                  "\" can have unexpected results if the base image "
                  "changes",
              n.start_line);
        }
        continue;
      }
      if (kw == "expose") {
        for (const auto& p : n.args) {
          size_t slash = p.find('/');
          if (slash != std::string::npos && !IsLower(p.substr(slash + 1)))
            Add(kExposeProto,
                "Defined protocol '" + p + "' in EXPOSE instruction should be lowercase",
                n.start_line);
        }
      }
    }
    if (in_stage) end_stage();
    std::stable_sort(out_.begin(), out_.end(),
                     [](const LintWarning& a, const LintWarning& b) { return a.line < b.line; });
    return out_;
  }

 private:
  void Add(const Rule& r, const std::string& message, int line) {
    if (config_.skip_all || config_.skip.count(r.name)) return;
    out_.push_back(LintWarning{
        r.name, r.description, message,
        std::string("https://docs.docker.com/go/dockerfile/rule/") + r.slug + "/", line});
  }

  void Casing() {
    int upper = 0, lower = 0;
    for (const auto& n : file_.nodes) {
      if (IsUpper(n.value))
        ++upper;
      else if (IsLower(n.value))
        ++lower;
    }
    bool majority_upper = upper >= lower;
    for (const auto& n : file_.nodes) {
      if (majority_upper ? IsUpper(n.value) : IsLower(n.value)) continue;
      Add(kConsistentCasing,
          "Command '" + n.value + "' should match the case of the command majority (" +
              (majority_upper ? "uppercase" : "lowercase") + ")",
          n.start_line);
    }
  }

  void From(const Node& n, const std::set<std::string>& global_args,
            std::set<std::string>& stage_names) {
    for (const auto& f : n.flags) {
      if (!StartsWith(f, "--platform=")) continue;
      std::string v = f.substr(11);
      if (v == "$TARGETPLATFORM" || v == "${TARGETPLATFORM}")
        Add(kRedundantPlatform,
            "Setting platform to predefined " + v +
                " in FROM is redundant as this is the default behavior",
            n.start_line);
      else if (v.find('$') == std::string::npos)
        Add(kConstPlatform, "FROM --platform flag should not use constant value \"" + v + "\"",
            n.start_line);
      for (const auto& var : VarRefs(v))
        if (!global_args.count(var) && !PredefinedArgs().count(var))
          Add(kUndefinedArgInFrom, "FROM argument '" + var + "' is not declared", n.start_line);
    }
    if (!n.args.empty())
      for (const auto& var : VarRefs(n.args[0]))
        if (!global_args.count(var) && !PredefinedArgs().count(var))
          Add(kUndefinedArgInFrom, "FROM argument '" + var + "' is not declared", n.start_line);
    if (n.args.size() >= 3) {
      const std::string& as = n.args[1];
      const std::string& name = n.args[2];
      bool from_upper = IsUpper(n.value);
      if ((from_upper && !IsUpper(as)) || (!from_upper && !IsLower(as)))
        Add(kFromAsCasing, "'" + as + "' and '" + n.value + "' keywords' casing do not match",
            n.start_line);
      if (!IsLower(name))
        Add(kStageNameCasing, "Stage name '" + name + "' should be lowercase", n.start_line);
      std::string lname = ToLower(name);
      if (lname == "scratch" || lname == "context")
        Add(kReservedStage,
            "Stage name should not use the same name as reserved stage \"" + lname + "\"",
            n.start_line);
      if (!stage_names.insert(lname).second)
        Add(kDuplicateStage, "Duplicate stage name \"" + lname + "\", stage names should be unique",
            n.start_line);
    }
  }

  const ParsedDockerfile& file_;
  const CheckConfig& config_;
  std::vector<LintWarning> out_;
};

}  // namespace

Result<CheckConfig> ParseCheckConfig(const std::string& value) {
  CheckConfig c;
  for (const auto& part : Split(value, ';')) {
    std::string p(TrimSpace(part));
    if (p.empty()) continue;
    bool eq = false;
    auto [k, v] = SplitOnce(p, '=', &eq);
    k = std::string(TrimSpace(k));
    v = std::string(TrimSpace(v));
    if (!eq) return Error{"check directive: \"" + p + "\": expected key=value"};
    if (k == "skip") {
      for (const auto& r : Split(v, ',')) {
        std::string rule(TrimSpace(r));
        if (rule == "all")
          c.skip_all = true;
        else if (!rule.empty())
          c.skip.insert(rule);
      }
    } else if (k == "error") {
      c.error = v == "true" || v == "1";
    } else if (k == "experimental") {
      // BuildKit's experimental rules are not implemented: nothing to enable.
    } else {
      return Error{"check directive: unknown key \"" + k + "\" (skip, error, experimental)"};
    }
  }
  return c;
}

std::vector<LintWarning> Lint(const ParsedDockerfile& file, const CheckConfig& config) {
  return Linter(file, config).Run();
}

std::string FormatLintLocation(const ParsedDockerfile& file, const LintWarning& w) {
  std::string out = file.filename + ":" + std::to_string(w.line) + "\n--------------------\n";
  int from = std::max(1, w.line - 2);
  int to = std::min(static_cast<int>(file.source_lines.size()), w.line);
  for (int l = from; l <= to; ++l) {
    std::string num = std::to_string(l);
    out += std::string(num.size() < 4 ? 4 - num.size() : 0, ' ') + num + " | " +
           (l == w.line ? ">>> " : "    ") + std::string(file.source_lines[l - 1]) + "\n";
  }
  return out + "--------------------\n";
}

}  // namespace ocibuild::dockerfile
