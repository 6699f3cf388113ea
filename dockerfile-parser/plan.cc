#include "dockerfile-parser/plan.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "dockerfile-parser/ast_dump.h"
#include "util/strings.h"

namespace ocibuild::dockerfile {
namespace {

const char* const kPredefinedNonProxy[] = {"BUILDPLATFORM",
                                           "BUILDOS",
                                           "BUILDOSVERSION",
                                           "TARGETOSVERSION",
                                           "BUILDARCH",
                                           "BUILDVARIANT",
                                           "TARGETPLATFORM",
                                           "TARGETOS",
                                           "TARGETARCH",
                                           "TARGETVARIANT",
                                           "TARGETSTAGE",
                                           "SOURCE_DATE_EPOCH",
                                           "BUILDKIT_INLINE_CACHE",
                                           "BUILDKIT_SYNTAX",
                                           "BUILDKIT_SANDBOX_HOSTNAME",
                                           "BUILDKIT_CONTEXT_KEEP_GIT_DIR",
                                           "BUILDKIT_MULTI_PLATFORM",
                                           "BUILDKIT_CACHE_MOUNT_NS"};

// A few of BuildKit's build checks; `# check=skip=all` or `skip=Rule1,Rule2` turns them off.
void AddLintWarnings(const ParsedDockerfile& file, const StageList& list, std::string_view check,
                     std::vector<std::string>* out) {
  std::vector<std::string> skip;
  for (const auto& part : Split(check, ';')) {
    auto [k, v] = SplitOnce(TrimSpace(part), '=');
    if (ToLower(TrimSpace(k)) == "skip") {
      for (const auto& rule : Split(v, ',')) skip.emplace_back(TrimSpace(rule));
    }
  }
  auto enabled = [&](std::string_view rule) {
    for (const auto& s : skip)
      if (s == "all" || s == rule) return false;
    return true;
  };
  auto warn = [&](int line, const std::string& rule, const std::string& msg) {
    if (enabled(rule)) {
      out->push_back(file.filename + ":" + std::to_string(line) + ": " + rule + ": " + msg);
    }
  };
  auto check_step = [&](const Step& step) {
    if (const auto* e = std::get_if<EnvInstr>(&step.instr)) {
      if (!e->vars.empty() && e->vars[0].legacy) {
        warn(step.line, "LegacyKeyValueFormat",
             "\"ENV key=value\" should be used instead of legacy \"ENV key value\" format");
      }
    } else if (const auto* l = std::get_if<LabelInstr>(&step.instr)) {
      if (!l->labels.empty() && l->labels[0].legacy) {
        warn(step.line, "LegacyKeyValueFormat",
             "\"LABEL key=value\" should be used instead of legacy \"LABEL key value\" format");
      }
    } else if (std::holds_alternative<MaintainerInstr>(step.instr)) {
      warn(step.line, "MaintainerDeprecated",
           "Maintainer instruction is deprecated in favor of using label");
    }
  };
  for (const auto& st : list.stages)
    for (const auto& step : st.steps) check_step(step);
}

}  // namespace

// BuildKit's rules for SOURCE_DATE_EPOCH=<stage>: FROM scratch, ARGs, and exactly one ADD of
// one http(s) or git source, whose time becomes the epoch.
static Result<BuildPlan::EpochSource> EpochSourceStage(
    const ParsedDockerfile& file, const Stage& st, const BuildPlan& plan,
    const std::map<std::string, std::string>& args, const ShellLex& lex) {
  auto at = [&](int line, const std::string& msg) {
    return file.ErrorAt(file.FindOnLine(line, ""), msg);
  };
  Env env = plan.global_args;
  env.Unset("SOURCE_DATE_EPOCH");
  auto base = lex.ProcessWord(st.from.base, env);
  if (!base.ok() || *base != "scratch")
    return at(st.line, "SOURCE_DATE_EPOCH stage must use FROM scratch");
  std::optional<BuildPlan::EpochSource> src;
  for (const auto& step : st.steps) {
    if (const auto* a = std::get_if<ArgInstr>(&step.instr)) {
      for (const auto& item : a->args) {
        if (auto it = args.find(item.key); it != args.end()) {
          env.Set(item.key, it->second);
        } else if (item.value) {
          OCIB_ASSIGN_OR_RETURN(std::string v, lex.ProcessWord(*item.value, env));
          env.Set(item.key, v);
        }
      }
      continue;
    }
    const auto* c = std::get_if<CopyInstr>(&step.instr);
    if (!c || !c->is_add)
      return at(step.line,
                "SOURCE_DATE_EPOCH stage does not meet source-only requirements: "
                "unsupported " +
                    ToLower(step.keyword) + " instruction");
    if (src) return at(step.line, "SOURCE_DATE_EPOCH stage must contain exactly one remote ADD");
    if (!c->contents.empty() || c->sources.size() != 1)
      return at(step.line, "SOURCE_DATE_EPOCH stage must contain exactly one remote ADD source");
    OCIB_ASSIGN_OR_RETURN(std::string url, lex.ProcessWord(c->sources[0], env));
    bool remote = StartsWith(url, "http://") || StartsWith(url, "https://") ||
                  StartsWith(url, "git://") || StartsWith(url, "ssh://") || StartsWith(url, "git@");
    if (!remote)
      return at(step.line, "SOURCE_DATE_EPOCH stage source must be a single HTTP(S) or Git ADD");
    std::string checksum;
    if (!c->checksum.empty()) {
      OCIB_ASSIGN_OR_RETURN(checksum, lex.ProcessWord(c->checksum, env));
    }
    src = BuildPlan::EpochSource{false, url, checksum};
  }
  if (!src) return at(st.line, "SOURCE_DATE_EPOCH stage must contain exactly one remote ADD");
  return *src;
}

bool IsDockerfileFrontend(std::string_view ref) {
  std::string r(ref);
  if (size_t at = r.find('@'); at != std::string::npos) {
    std::string digest = r.substr(at + 1);
    if (!StartsWith(digest, "sha256:") || digest.size() != 71 ||
        digest.find_first_not_of("0123456789abcdef", 7) != std::string::npos)
      return false;
    r = r.substr(0, at);
  }
  for (const char* prefix : {"docker.io/", "index.docker.io/", "registry-1.docker.io/"})
    if (StartsWith(r, prefix)) r = r.substr(std::string_view(prefix).size());
  auto [repo, tag] = SplitOnce(r, ':');
  if (repo != "docker/dockerfile" && repo != "docker/dockerfile-upstream") return false;
  if (tag.empty() || tag == "latest" || tag == "labs" || tag == "experimental" || tag == "master")
    return true;
  if (EndsWith(tag, "-labs")) tag = tag.substr(0, tag.size() - 5);
  if (EndsWith(tag, "-experimental")) tag = tag.substr(0, tag.size() - 13);
  // 1, 1.7, 1.7.1 (any version of the 1.x syntax).
  auto parts = Split(tag, '.');
  if (parts.empty() || parts.size() > 3 || parts[0] != "1") return false;
  for (const auto& p : parts)
    if (p.empty() || p.find_first_not_of("0123456789") != std::string::npos) return false;
  return true;
}

bool IsProxyArg(std::string_view name) {
  std::string l = ToLower(name);
  return l == "http_proxy" || l == "https_proxy" || l == "ftp_proxy" || l == "no_proxy" ||
         l == "all_proxy";
}

Result<BuildPlan> PlanDockerfile(std::string_view text, const std::string& filename,
                                 const PlanOptions& opts) {
  OCIB_ASSIGN_OR_RETURN(ParsedDockerfile file, ParseDockerfile(text, filename));
  OCIB_ASSIGN_OR_RETURN(std::vector<Step> steps, ParseInstructions(file));
  OCIB_ASSIGN_OR_RETURN(StageList list, GroupStages(file, std::move(steps)));

  BuildPlan plan;
  plan.filename = filename;
  plan.escape = file.escape;
  if (const Directive* d = file.FindDirective("syntax")) {
    plan.syntax = d->value;
    // BuildKit would run the named frontend image; ocibuild is the docker/dockerfile:1
    // frontend itself, so anything else fails here, as a frontend that cannot be pulled does.
    if (!IsDockerfileFrontend(d->value)) {
      return file.ErrorAt(file.FindOnLine(d->line, d->value),
                          "unsupported frontend \"" + d->value +
                              "\" in # syntax=: ocibuild builds with the docker/dockerfile:1 "
                              "syntax itself and runs no other frontend");
    }
  }
  if (const Directive* d = file.FindDirective("check")) plan.check = d->value;
  for (const auto& w : file.warnings) {
    plan.warnings.push_back(filename + ":" + std::to_string(w.line) + ": " + w.message);
  }
  AddLintWarnings(file, list, plan.check, &plan.warnings);
  plan.build_args = opts.build_args;

  if (opts.build_platform.empty()) {
    plan.build_platform = HostBuildPlatform();
  } else {
    auto p = ParseBuildPlatform(opts.build_platform);
    if (!p.ok()) return std::move(p).error().Context("invalid build platform");
    plan.build_platform = *p;
  }
  if (opts.target_platform.empty()) {
    plan.target_platform = plan.build_platform;
  } else {
    auto p = ParseBuildPlatform(opts.target_platform);
    if (!p.ok()) return std::move(p).error().Context("invalid target platform");
    plan.target_platform = *p;
  }

  // The target, before ARGs: TARGETSTAGE is one of the predefined args.
  int target = static_cast<int>(list.stages.size()) - 1;
  if (!opts.target.empty()) {
    target = FindStage(list.stages, opts.target);
    if (target < 0) {
      std::vector<std::string> names;
      for (const auto& s : list.stages)
        if (!s.name.empty()) names.push_back(s.name);
      std::string msg = "target stage \"" + opts.target + "\" could not be found";
      std::string near = NearestMatch(opts.target, names);
      if (!near.empty()) msg += " (did you mean " + near + "?)";
      return Error{msg};
    }
  }
  plan.target = target;

  const BuildPlatform& bp = plan.build_platform;
  const BuildPlatform& tp = plan.target_platform;
  // An unnamed target stage is "default" to TARGETSTAGE (BuildKit), not "stage-N".
  const std::string& target_name = list.stages[target].name;
  const std::pair<const char*, std::string> predefined[] = {
      {"BUILDPLATFORM", bp.ToString()},
      {"BUILDOS", bp.os},
      {"BUILDOSVERSION", ""},
      {"BUILDARCH", bp.arch},
      {"BUILDVARIANT", bp.variant},
      {"TARGETPLATFORM", tp.ToString()},
      {"TARGETOS", tp.os},
      {"TARGETOSVERSION", ""},
      {"TARGETARCH", tp.arch},
      {"TARGETVARIANT", tp.variant},
      {"TARGETSTAGE", target_name.empty() ? "default" : target_name}};
  for (const auto& [k, v] : predefined) {
    auto it = opts.build_args.find(k);
    plan.global_args.Set(k, it != opts.build_args.end() ? it->second : v);
  }

  ShellLex lex(file.escape);
  std::set<std::string> declared;
  for (const auto& step : list.meta_args) {
    const auto& arg = std::get<ArgInstr>(step.instr);
    for (const auto& item : arg.args) {
      declared.insert(item.key);
      auto it = opts.build_args.find(item.key);
      if (it != opts.build_args.end()) {
        plan.global_args.Set(item.key, it->second);
      } else if (item.value) {
        auto v = lex.ProcessWord(*item.value, plan.global_args);
        if (!v.ok()) return file.ErrorAt(file.FindOnLine(step.line, item.key), v.error().message);
        plan.global_args.Set(item.key, *v);
      }
    }
  }

  for (const auto& [k, v] : opts.build_args) {
    if (IsProxyArg(k)) plan.proxy_env.emplace_back(k, v);
  }
  // SOURCE_DATE_EPOCH: the build arg, else a global `ARG SOURCE_DATE_EPOCH=<default>`; empty
  // means none. (BuildKit also takes a stage name or "context" here; ocibuild does not yet.)
  std::optional<std::string> epoch;
  if (auto it = opts.build_args.find("SOURCE_DATE_EPOCH"); it != opts.build_args.end()) {
    epoch = it->second;
  } else if (declared.count("SOURCE_DATE_EPOCH")) {
    if (auto v = plan.global_args.Get("SOURCE_DATE_EPOCH")) epoch = *v;
  }
  if (epoch && !epoch->empty()) {
    const std::string& v = *epoch;
    size_t digits = v[0] == '-' ? 1 : 0;
    bool number = v.size() > digits && v.size() <= 18 &&
                  std::all_of(v.begin() + static_cast<long>(digits), v.end(),
                              [](char c) { return c >= '0' && c <= '9'; });
    if (number) {
      plan.source_date_epoch = std::stoll(v);
    } else if (v == "context") {
      plan.epoch_source = BuildPlan::EpochSource{true, "", ""};
    } else if (int i = FindStage(list.stages, v); i >= 0) {
      OCIB_ASSIGN_OR_RETURN(plan.epoch_source,
                            EpochSourceStage(file, list.stages[i], plan, opts.build_args, lex));
    } else {
      return Error{"invalid SOURCE_DATE_EPOCH: " + v};
    }
  }

  // Resolve every stage's FROM (even unused ones: BuildKit validates them all).
  std::vector<StageBase> bases(list.stages.size());
  std::vector<BuildPlatform> platforms(list.stages.size(), tp);
  std::unordered_map<std::string, int> earlier;  // stage names defined so far
  for (const auto& st : list.stages) {
    auto base = lex.ProcessWord(st.from.base, plan.global_args);
    if (!base.ok()) {
      return file.ErrorAt(file.FindOnLine(st.line, st.from.base), base.error().message);
    }
    if (base->empty()) {
      return file.ErrorAt(file.FindOnLine(st.line, st.from.base),
                          "base name (" + st.from.base + ") should not be blank");
    }
    StageBase& b = bases[st.index];
    if (*base == "scratch") {
      b.kind = StageBase::Kind::kScratch;
    } else {
      // Only stages defined earlier count; "FROM alpine AS alpine" is the image.
      b.kind = StageBase::Kind::kImage;
      b.image = *base;
      if (auto it = earlier.find(*base); it != earlier.end()) {
        b.kind = StageBase::Kind::kStage;
        b.stage = it->second;
        b.image.clear();
      }
    }
    if (!st.name.empty()) earlier[st.name] = st.index;
    if (!st.from.platform.empty()) {
      auto p = lex.ProcessWord(st.from.platform, plan.global_args);
      if (!p.ok()) {
        return file.ErrorAt(file.FindOnLine(st.line, "--platform"),
                            "failed to process arguments for platform " + st.from.platform + ": " +
                                p.error().message);
      }
      if (p->empty()) {
        return file.ErrorAt(file.FindOnLine(st.line, "--platform"),
                            "empty platform value from expression " + st.from.platform);
      }
      auto parsed = ParseBuildPlatform(*p);
      if (!parsed.ok()) {
        return file.ErrorAt(
            file.FindOnLine(st.line, "--platform"),
            "failed to parse platform " + st.from.platform + ": " + parsed.error().message);
      }
      platforms[st.index] = *parsed;
    }
  }

  OCIB_ASSIGN_OR_RETURN(auto deps, ResolveDependencies(file, list.stages, bases));
  OCIB_ASSIGN_OR_RETURN(std::vector<int> order, NeededStages(file, list.stages, deps, target));

  std::vector<bool> needed(list.stages.size(), false);
  for (int i : order) needed[i] = true;
  for (size_t i = 0; i < list.stages.size(); ++i)
    if (!needed[i]) order.push_back(static_cast<int>(i));
  for (int i : order) {
    Stage& st = list.stages[i];
    PlannedStage ps;
    ps.index = st.index;
    ps.name = st.name;
    ps.display_name = st.DisplayName();
    ps.base_expr = st.from.base;
    ps.base = bases[i];
    ps.platform = platforms[i];
    ps.platform_from_flag = !st.from.platform.empty();
    ps.line = st.line;
    ps.deps = deps[i];
    for (const auto& step : st.steps) {
      if (const auto* a = std::get_if<ArgInstr>(&step.instr)) {
        for (const auto& item : a->args) declared.insert(item.key);
      }
    }
    ps.steps = std::move(st.steps);
    (needed[i] ? plan.stages : plan.other_stages).push_back(std::move(ps));
  }

  std::vector<std::string> unused;
  for (const auto& [k, v] : opts.build_args) {
    bool predefined_name = IsProxyArg(k);
    for (const char* p : kPredefinedNonProxy) predefined_name |= k == p;
    if (!predefined_name && !declared.count(k)) unused.push_back(k);
  }
  if (!unused.empty()) {
    plan.warnings.push_back("one or more build args were not consumed: " + Join(unused, ", "));
  }
  return plan;
}

Result<std::vector<std::pair<std::string, std::optional<std::string>>>> ResolveStageArg(
    const ArgInstr& arg, const BuildPlan& plan, const Env& stage_env, const ShellLex& lex) {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  for (const auto& item : arg.args) {
    std::optional<std::string> value;
    auto it = plan.build_args.find(item.key);
    if (it != plan.build_args.end()) {
      value = it->second;
    } else if (item.value) {
      OCIB_ASSIGN_OR_RETURN(value, lex.ProcessWord(*item.value, stage_env));
    } else if (auto g = plan.global_args.Get(item.key)) {
      value = *g;
    }
    out.emplace_back(item.key, std::move(value));
  }
  return out;
}

std::string FormatPlan(const BuildPlan& plan) {
  std::string out;
  out += "Dockerfile: " + plan.filename + "\n";
  if (!plan.syntax.empty()) out += "Syntax: " + plan.syntax + "\n";
  out += "Build platform: " + plan.build_platform.ToString() + "\n";
  out += "Target platform: " + plan.target_platform.ToString() + "\n";
  const PlannedStage* target = nullptr;
  for (const auto& s : plan.stages)
    if (s.index == plan.target) target = &s;
  if (target) out += "Target: " + target->display_name + "\n";
  out += "Stages to build: " + std::to_string(plan.stages.size()) + "\n";
  for (const auto& s : plan.stages) {
    out += "\n[" + std::to_string(s.index) + "] " + s.display_name;
    out += " (line " + std::to_string(s.line) + ")\n";
    out += "    FROM ";
    switch (s.base.kind) {
      case StageBase::Kind::kScratch:
        out += "scratch";
        break;
      case StageBase::Kind::kStage:
        for (const auto& o : plan.stages) {
          if (o.index == s.base.stage) out += "stage " + o.display_name;
        }
        break;
      case StageBase::Kind::kImage:
        out += "image " + s.base.image;
        break;
    }
    if (s.base.kind == StageBase::Kind::kImage && s.base.image != s.base_expr) {
      out += " (from " + s.base_expr + ")";
    }
    out += " [" + s.platform.ToString() + "]\n";
    std::vector<std::string> needs;
    for (const auto& d : s.deps) {
      if (d.via == StageDependency::Via::kFrom) continue;
      std::string what;
      if (d.stage >= 0) {
        for (const auto& o : plan.stages)
          if (o.index == d.stage) what = "stage " + o.display_name;
      } else {
        what = "image " + d.image;
      }
      what += d.via == StageDependency::Via::kCopy ? " (COPY, line " : " (RUN mount, line ";
      what += std::to_string(d.line) + ")";
      if (std::find(needs.begin(), needs.end(), what) == needs.end()) needs.push_back(what);
    }
    for (const auto& n : needs) out += "    needs " + n + "\n";
    for (const auto& step : s.steps) {
      std::string line = std::to_string(step.line);
      out += "    " + std::string(line.size() < 4 ? 4 - line.size() : 0, ' ') + line + ": " +
             FormatInstruction(step) + "\n";
    }
  }
  for (const auto& w : plan.warnings) out += "\nwarning: " + w;
  if (!plan.warnings.empty()) out += "\n";
  return out;
}

}  // namespace ocibuild::dockerfile
