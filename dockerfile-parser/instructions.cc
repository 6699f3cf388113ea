#include "dockerfile-parser/instructions.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "dockerfile-parser/ast_dump.h"
#include "util/strings.h"

namespace ocibuild::dockerfile {
namespace {

using namespace std::string_view_literals;

const std::vector<std::string> kInstructionNames = {
    "ADD",    "ARG",   "CMD",         "COPY",  "ENTRYPOINT", "ENV",
    "EXPOSE", "FROM",  "HEALTHCHECK", "LABEL", "MAINTAINER", "ONBUILD",
    "RUN",    "SHELL", "STOPSIGNAL",  "USER",  "VOLUME",     "WORKDIR"};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// BuildKit's BFlags: every instruction declares the flags it takes; bool flags accept
// --f, --f=true/false; string flags need a value; repeated flags only for list flags.
class FlagSet {
 public:
  enum class Kind { kBool, kString, kStrings };
  struct Flag {
    Kind kind;
    std::string value;
    std::vector<std::string> values;
    bool used = false;
  };

  void Reserve(size_t n) { flags_.reserve(n); }
  void AddBool(std::string_view name) { flags_.push_back({name, Flag{Kind::kBool, "false", {}}}); }
  void AddString(std::string_view name, const char* def = "") {
    flags_.push_back({name, Flag{Kind::kString, def, {}}});
  }
  void AddStrings(std::string_view name) { flags_.push_back({name, Flag{Kind::kStrings, "", {}}}); }

  // On error, `bad` is set to the offending flag text for the caret.
  Status Parse(const std::vector<std::string>& args, std::string* bad) {
    for (const auto& a : args) {
      *bad = a;
      if (a == "--") return Ok();
      if (!StartsWith(a, "--")) return Error{"arg should start with -- : " + a};
      bool has_value = false;
      auto [flag_name, value] = SplitOnce(a, '=', &has_value);
      std::string_view name = std::string_view(flag_name).substr(2);
      Flag* found = Find(name);
      if (found == nullptr) {
        std::string msg = "unknown flag: " + flag_name;
        std::vector<std::string> names;
        for (const auto& [n, f] : flags_) names.emplace_back(n);
        // BuildKit names the flag without its dashes: "(did you mean mount?)".
        std::string near = BuildkitSuggestion(name, names);
        if (!near.empty()) msg += " (did you mean " + near + "?)";
        return Error{msg};
      }
      Flag& f = *found;
      if (f.used && f.kind != Kind::kStrings) {
        return Error{"duplicate flag specified: " + flag_name};
      }
      f.used = true;
      switch (f.kind) {
        case Kind::kBool: {
          if (has_value && value.empty()) return Error{"missing a value on flag: " + flag_name};
          std::string v = ToLower(value);
          if (v == "true" || v.empty()) {
            f.value = "true";
          } else if (v == "false") {
            f.value = "false";
          } else {
            return Error{"expecting boolean value for flag " + flag_name + ", not: " + value};
          }
          break;
        }
        case Kind::kString:
          if (!has_value) return Error{"missing a value on flag: " + flag_name};
          f.value = value;
          break;
        case Kind::kStrings:
          if (!has_value) return Error{"missing a value on flag: " + flag_name};
          f.values.push_back(value);
          break;
      }
    }
    bad->clear();
    return Ok();
  }

  const Flag& Get(std::string_view name) const { return *const_cast<FlagSet*>(this)->Find(name); }
  const std::string& Value(std::string_view name) const { return Get(name).value; }
  bool True(std::string_view name) const { return Get(name).value == "true"; }
  bool Used(std::string_view name) const { return Get(name).used; }

 private:
  Flag* Find(std::string_view name) {
    for (auto& [n, f] : flags_)
      if (n == name) return &f;
    return nullptr;
  }
  // A handful of flags per instruction: a vector beats a map and allocates once.
  std::vector<std::pair<std::string_view, Flag>> flags_;
};

bool IsValidStageName(std::string_view s) {
  if (s.empty() || s[0] < 'a' || s[0] > 'z') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> NodeArgs(const Node& node) {
  std::vector<std::string> out = node.args;
  for (const auto& child : node.children) {
    out.push_back(child.value);
    auto rest = NodeArgs(child);
    out.insert(out.end(), rest.begin(), rest.end());
  }
  return out;
}

CommandLine MakeCommandLine(const Node& node, std::vector<std::string> args) {
  CommandLine c;
  c.args = std::move(args);
  c.shell_form = !node.json;
  c.files = node.heredocs;
  return c;
}

std::string ErrAtLeastOne(const std::string& cmd) {
  return cmd + " requires at least one argument";
}
std::string ErrExactlyOne(const std::string& cmd) {
  return cmd + " requires exactly one argument";
}
std::string ErrNoDest(const std::string& cmd) {
  return cmd +
         " requires at least two arguments, but only one was provided. Destination could not "
         "be determined";
}

Result<std::vector<KeyValue>> ParseKvps(const std::vector<std::string>& args,
                                        const std::string& cmd) {
  if (args.empty()) return Error{ErrAtLeastOne(cmd)};
  if (args.size() % 3 != 0) return Error{"Bad input to " + cmd + ", too many arguments"};
  std::vector<KeyValue> out;
  for (size_t j = 0; j < args.size(); j += 3) {
    if (args[j].empty()) return Error{cmd + " names can not be blank"};
    out.push_back(KeyValue{args[j], args[j + 1], args[j + 2].empty()});
  }
  return out;
}

Result<int64_t> ParseInterval(const std::string& name, const std::string& value) {
  if (value.empty()) return int64_t{0};
  OCIB_ASSIGN_OR_RETURN(int64_t d, ParseGoDuration(value));
  if (d == 0) return int64_t{0};
  if (d < 1000000) return Error{"Interval \"" + name + "\" cannot be less than 1ms"};
  return d;
}

}  // namespace

Result<int64_t> ParseGoDuration(std::string_view orig) {
  auto invalid = [&] { return Error{"time: invalid duration " + GoQuote(orig)}; };
  std::string_view s = orig;
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return invalid();
  long double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    long double v = 0;
    bool digits = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + (s[i] - '0');
      ++i;
      digits = true;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      long double scale = 0.1L;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        v += (s[i] - '0') * scale;
        scale /= 10;
        ++i;
        digits = true;
      }
    }
    if (!digits) return invalid();
    size_t u = i;
    while (u < s.size() && s[u] != '.' && !std::isdigit(static_cast<unsigned char>(s[u]))) ++u;
    std::string_view unit = s.substr(i, u - i);
    if (unit.empty()) return Error{"time: missing unit in duration " + GoQuote(orig)};
    long double mult;
    if (unit == "ns") {
      mult = 1;
    } else if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") {
      mult = 1e3L;
    } else if (unit == "ms") {
      mult = 1e6L;
    } else if (unit == "s") {
      mult = 1e9L;
    } else if (unit == "m") {
      mult = 60e9L;
    } else if (unit == "h") {
      mult = 3600e9L;
    } else {
      return Error{"time: unknown unit " + GoQuote(unit) + " in duration " + GoQuote(orig)};
    }
    total += v * mult;
    if (total > 9.223372036854775807e18L) return invalid();
    s.remove_prefix(u);
  }
  int64_t ns = static_cast<int64_t>(total);
  return neg ? -ns : ns;
}

std::string FormatGoDuration(int64_t ns) {
  if (ns == 0) return "0s";
  std::string sign = ns < 0 ? "-" : "";
  uint64_t u = ns < 0 ? static_cast<uint64_t>(-(ns + 1)) + 1 : static_cast<uint64_t>(ns);
  auto frac = [](uint64_t v, uint64_t unit) {
    std::string out = std::to_string(v / unit);
    uint64_t rem = v % unit;
    if (rem) {
      std::string digits = std::to_string(rem);
      int width = 0;
      for (uint64_t x = unit; x > 1; x /= 10) ++width;
      digits = std::string(width - digits.size(), '0') + digits;
      while (!digits.empty() && digits.back() == '0') digits.pop_back();
      out += "." + digits;
    }
    return out;
  };
  if (u < 1000) return sign + std::to_string(u) + "ns";
  if (u < 1000000) return sign + frac(u, 1000) + "\xC2\xB5s";
  if (u < 1000000000) return sign + frac(u, 1000000) + "ms";
  std::string out = sign;
  uint64_t h = u / 3600000000000ULL;
  u %= 3600000000000ULL;
  uint64_t m = u / 60000000000ULL;
  u %= 60000000000ULL;
  if (h) out += std::to_string(h) + "h";
  if (h || m) out += std::to_string(m) + "m";
  out += frac(u, 1000000000) + "s";
  return out;
}

Result<Step> ParseInstruction(const ParsedDockerfile& file, const Node& node) {
  Step step;
  step.keyword = Upper(node.value);
  step.original = node.original;
  step.line = node.start_line;
  step.end_line = node.end_line;
  const std::string kw = node.Keyword();
  const std::string_view kwv = kw;
  std::vector<std::string> flattened;
  if (!node.children.empty()) flattened = NodeArgs(node);
  const std::vector<std::string>& args = node.children.empty() ? node.args : flattened;
  auto fail = [&](const std::string& msg, std::string_view needle = {}) {
    return file.ErrorAt(file.Find(node, needle), msg);
  };
  FlagSet flags;
  flags.Reserve(8);
  std::string bad_flag;
  auto parse_flags = [&]() -> Status {
    auto st = flags.Parse(node.flags, &bad_flag);
    if (!st.ok()) return fail(st.error().message, bad_flag.substr(0, bad_flag.find('=')));
    return Ok();
  };

  if (kwv == "from"sv) {
    FromInstr f;
    if (args.size() == 3 && ToLower(args[1]) == "as") {
      f.name = ToLower(args[2]);
      if (!IsValidStageName(f.name)) {
        return fail("invalid name for build stage: " + GoQuote(args[2]) +
                        ", name can't start with a number or contain symbols",
                    args[2]);
      }
    } else if (args.size() != 1) {
      return fail("FROM requires either one or three arguments");
    }
    flags.AddString("platform");
    OCIB_TRY(parse_flags());
    f.base = args[0];
    f.platform = flags.Value("platform");
    step.instr = std::move(f);
  } else if (kwv == "arg"sv) {
    if (args.empty()) return fail(ErrAtLeastOne("ARG"));
    OCIB_TRY(parse_flags());
    ArgInstr a;
    for (const auto& word : args) {
      bool has_eq = false;
      auto [k, v] = SplitOnce(word, '=', &has_eq);
      if (has_eq && k.empty()) return fail("ARG names can not be blank");
      ArgInstr::Item item{k, std::nullopt};
      if (has_eq) item.value = v;
      a.args.push_back(std::move(item));
    }
    step.instr = std::move(a);
  } else if (kwv == "env"sv || kwv == "label"sv) {
    OCIB_TRY(parse_flags());
    auto kv = ParseKvps(args, step.keyword);
    if (!kv.ok()) return fail(kv.error().message);
    if (kwv == "env"sv) {
      step.instr = EnvInstr{std::move(*kv)};
    } else {
      step.instr = LabelInstr{std::move(*kv)};
    }
  } else if (kwv == "maintainer"sv) {
    if (args.size() != 1) return fail(ErrExactlyOne("MAINTAINER"));
    OCIB_TRY(parse_flags());
    step.instr = MaintainerInstr{args[0]};
  } else if (kwv == "run"sv) {
    flags.AddStrings("mount");
    flags.AddString("network", "default");
    flags.AddString("security", "sandbox");
    flags.AddStrings("device");
    OCIB_TRY(parse_flags());
    RunInstr r;
    r.network = flags.Value("network");
    if (r.network != "default" && r.network != "none" && r.network != "host") {
      return fail("invalid network mode \"" + r.network + "\"", "--network");
    }
    r.security = flags.Value("security");
    if (r.security != "sandbox" && r.security != "insecure") {
      return fail("security \"" + r.security + "\" is not valid", "--security");
    }
    int ssh_index = 0;
    for (const auto& spec : flags.Get("mount").values) {
      auto m = ParseMount(spec, nullptr, nullptr, ssh_index);
      if (!m.ok()) return fail(m.error().message, spec);
      if (m->type == "ssh") ++ssh_index;
      r.mounts.push_back(std::move(*m));
    }
    r.devices = flags.Get("device").values;
    r.command = MakeCommandLine(node, args);
    step.instr = std::move(r);
  } else if (kwv == "copy"sv || kwv == "add"sv) {
    const bool is_add = kwv == "add"sv;
    if (args.size() < 2) return fail(ErrNoDest(step.keyword));
    flags.AddString("chown");
    flags.AddString("chmod");
    flags.AddBool("link");
    flags.AddStrings("exclude");
    if (is_add) {
      flags.AddBool("keep-git-dir");
      flags.AddString("checksum");
      flags.AddBool("unpack");
    } else {
      flags.AddString("from");
      flags.AddBool("parents");
    }
    OCIB_TRY(parse_flags());
    CopyInstr c;
    c.is_add = is_add;
    c.dest = args.back();
    if (IsHeredocWord(c.dest)) {
      return fail(step.keyword + " cannot accept a heredoc as a destination", c.dest);
    }
    for (size_t i = 0; i + 1 < args.size(); ++i) {
      const std::string& src = args[i];
      auto doc = IsHeredocWord(src) ? ParseHeredocWord(src) : Result<Heredoc>(Heredoc{});
      if (doc.ok() && !doc->name.empty()) {
        SourceContent sc{doc->name, "", doc->expand};
        // BuildKit looks bodies up by name; with a repeated name the last body wins.
        for (const auto& h : node.heredocs) {
          if (h.name == doc->name)
            sc.data = doc->chomp ? ChompHeredocContent(h.content) : h.content;
        }
        c.contents.push_back(std::move(sc));
      } else {
        c.sources.push_back(src);
      }
    }
    c.chown = flags.Value("chown");
    c.chmod = flags.Value("chmod");
    c.link = flags.True("link");
    c.excludes = flags.Get("exclude").values;
    if (is_add) {
      c.checksum = flags.Value("checksum");
      if (flags.Used("keep-git-dir")) c.keep_git_dir = flags.True("keep-git-dir");
      if (flags.Used("unpack")) c.unpack = flags.True("unpack");
    } else {
      c.from = flags.Value("from");
      c.parents = flags.True("parents");
    }
    step.instr = std::move(c);
  } else if (kwv == "onbuild"sv) {
    if (args.empty()) return fail(ErrAtLeastOne("ONBUILD"));
    OCIB_TRY(parse_flags());
    std::string trigger = Upper(TrimSpace(args[0]));
    if (trigger == "ONBUILD") return fail("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    if (trigger == "MAINTAINER" || trigger == "FROM") {
      return fail(trigger + " isn't allowed as an ONBUILD trigger");
    }
    // The original text minus the leading "ONBUILD" keyword, heredoc bodies re-attached.
    std::string_view orig = TrimUnicodeSpace(node.original);
    orig.remove_prefix(std::min<size_t>(7, orig.size()));
    std::string expr(TrimUnicodeSpace(orig));
    for (const auto& h : node.heredocs) expr += "\n" + h.content + h.name;
    step.instr = OnbuildInstr{expr};
  } else if (kwv == "workdir"sv) {
    if (args.size() != 1) return fail(ErrExactlyOne("WORKDIR"));
    OCIB_TRY(parse_flags());
    step.instr = WorkdirInstr{args[0]};
  } else if (kwv == "cmd"sv || kwv == "entrypoint"sv) {
    OCIB_TRY(parse_flags());
    if (kwv == "cmd"sv) {
      step.instr = CmdInstr{MakeCommandLine(node, args)};
    } else {
      step.instr = EntrypointInstr{MakeCommandLine(node, args)};
    }
  } else if (kwv == "healthcheck"sv) {
    if (args.empty()) return fail(ErrAtLeastOne("HEALTHCHECK"));
    HealthcheckInstr h;
    std::string typ = Upper(args[0]);
    std::vector<std::string> rest(args.begin() + 1, args.end());  // NOLINT(performance)
    if (typ == "NONE") {
      if (!rest.empty()) return fail("HEALTHCHECK NONE takes no arguments");
      h.test = {"NONE"};
    } else {
      flags.AddString("interval");
      flags.AddString("timeout");
      flags.AddString("start-period");
      flags.AddString("start-interval");
      flags.AddString("retries");
      OCIB_TRY(parse_flags());
      if (typ != "CMD") return fail("Unknown type \"" + typ + "\" in HEALTHCHECK (try CMD)");
      if (rest.empty()) return fail("Missing command after HEALTHCHECK CMD");
      h.test.push_back(node.json ? "CMD" : "CMD-SHELL");
      h.test.insert(h.test.end(), rest.begin(), rest.end());
      struct {
        const char* name;
        int64_t* out;
      } intervals[] = {{"interval", &h.interval_ns},
                       {"timeout", &h.timeout_ns},
                       {"start-period", &h.start_period_ns},
                       {"start-interval", &h.start_interval_ns}};
      for (auto& iv : intervals) {
        auto d = ParseInterval(iv.name, flags.Value(iv.name));
        if (!d.ok()) return fail(d.error().message, std::string("--") + iv.name);
        *iv.out = *d;
      }
      const std::string& retries = flags.Value("retries");
      if (!retries.empty()) {
        std::string_view digits = retries;
        bool neg = !digits.empty() && (digits[0] == '-' || digits[0] == '+');
        bool minus = neg && digits[0] == '-';
        if (neg) digits.remove_prefix(1);
        int64_t v = 0;
        bool ok = !digits.empty();
        for (char ch : digits) {
          if (ch < '0' || ch > '9' || v > 2147483648LL) {
            ok = false;
            break;
          }
          v = v * 10 + (ch - '0');
        }
        if (minus) v = -v;
        if (!ok || v > 2147483647LL || v < -2147483648LL) {
          return fail("strconv.ParseInt: parsing " + GoQuote(retries) +
                          (ok ? ": value out of range" : ": invalid syntax"),
                      "--retries");
        }
        if (v < 0) {
          return fail("--retries cannot be negative (" + std::to_string(v) + ")", "--retries");
        }
        h.retries = static_cast<int>(v);
      }
    }
    step.instr = std::move(h);
  } else if (kwv == "expose"sv) {
    if (args.empty()) return fail(ErrAtLeastOne("EXPOSE"));
    OCIB_TRY(parse_flags());
    ExposeInstr e{args};
    std::sort(e.ports.begin(), e.ports.end());
    step.instr = std::move(e);
  } else if (kwv == "user"sv) {
    if (args.size() != 1) return fail(ErrExactlyOne("USER"));
    OCIB_TRY(parse_flags());
    step.instr = UserInstr{args[0]};
  } else if (kwv == "volume"sv) {
    if (args.empty()) return fail(ErrAtLeastOne("VOLUME"));
    OCIB_TRY(parse_flags());
    VolumeInstr v;
    for (const auto& a : args) {
      std::string t(TrimUnicodeSpace(a));
      if (t.empty()) return fail("VOLUME specified can not be an empty string");
      v.volumes.push_back(std::move(t));
    }
    step.instr = std::move(v);
  } else if (kwv == "stopsignal"sv) {
    if (args.size() != 1) return fail(ErrExactlyOne("STOPSIGNAL"));
    OCIB_TRY(parse_flags());
    step.instr = StopSignalInstr{args[0]};
  } else if (kwv == "shell"sv) {
    OCIB_TRY(parse_flags());
    if (args.empty()) return fail(ErrAtLeastOne("SHELL"));
    if (!node.json) {
      return fail("SHELL requires the arguments to be in JSON form");
    }
    step.instr = ShellInstr{args};
  } else {
    std::string msg = "unknown instruction: " + node.value;
    std::string near = BuildkitSuggestion(node.value, kInstructionNames);
    if (!near.empty()) msg += " (did you mean " + near + "?)";
    return fail(msg);
  }
  return step;
}

Result<std::vector<Step>> ParseInstructions(const ParsedDockerfile& file) {
  std::vector<Step> out;
  out.reserve(file.nodes.size());
  for (const auto& node : file.nodes) {
    OCIB_ASSIGN_OR_RETURN(Step s, ParseInstruction(file, node));
    out.push_back(std::move(s));
  }
  return out;
}

Status ExpandInstruction(Instruction* instr, const Env& env, const ShellLex& lex) {
  auto word = [&](std::string* s) -> Status {
    OCIB_ASSIGN_OR_RETURN(*s, lex.ProcessWord(*s, env));
    return Ok();
  };
  auto words = [&](std::vector<std::string>* v) -> Status {
    for (auto& s : *v) OCIB_TRY(word(&s));
    return Ok();
  };
  if (auto* e = std::get_if<EnvInstr>(instr)) {
    for (auto& kv : e->vars) {
      OCIB_TRY(word(&kv.key));
      OCIB_TRY(word(&kv.value));
    }
  } else if (auto* l = std::get_if<LabelInstr>(instr)) {
    for (auto& kv : l->labels) {
      OCIB_TRY(word(&kv.key));
      OCIB_TRY(word(&kv.value));
    }
  } else if (auto* a = std::get_if<ArgInstr>(instr)) {
    for (auto& item : a->args) {
      OCIB_TRY(word(&item.key));
      if (item.value) OCIB_TRY(word(&*item.value));
    }
  } else if (auto* c = std::get_if<CopyInstr>(instr)) {
    OCIB_TRY(words(&c->sources));
    OCIB_TRY(word(&c->dest));
    OCIB_TRY(word(&c->chown));
    OCIB_TRY(word(&c->chmod));
    OCIB_TRY(word(&c->checksum));
    // Heredoc bodies: variables only, quotes are content (BuildKit's raw expander, which
    // always uses backslash as the escape).
    ShellLex raw('\\', ShellLex::Options{.skip_process_quotes = true});
    for (auto& content : c->contents) {
      if (!content.expand) continue;
      OCIB_ASSIGN_OR_RETURN(content.data, raw.ProcessWord(content.data, env));
    }
  } else if (auto* w = std::get_if<WorkdirInstr>(instr)) {
    OCIB_TRY(word(&w->path));
  } else if (auto* u = std::get_if<UserInstr>(instr)) {
    OCIB_TRY(word(&u->user));
  } else if (auto* v = std::get_if<VolumeInstr>(instr)) {
    OCIB_TRY(words(&v->volumes));
  } else if (auto* s = std::get_if<StopSignalInstr>(instr)) {
    OCIB_TRY(word(&s->signal));
  } else if (auto* x = std::get_if<ExposeInstr>(instr)) {
    std::vector<std::string> ports;
    for (const auto& p : x->ports) {
      OCIB_ASSIGN_OR_RETURN(auto split, lex.ProcessWords(p, env));
      ports.insert(ports.end(), split.begin(), split.end());
    }
    // Sorted before expansion only (at parse time), as BuildKit does: "EXPOSE $PORTS" keeps
    // the variable's order.
    x->ports = std::move(ports);
  } else if (auto* r = std::get_if<RunInstr>(instr)) {
    int ssh_index = 0;
    for (auto& m : r->mounts) {
      OCIB_ASSIGN_OR_RETURN(Mount expanded, ParseMount(m.spec, &env, &lex, ssh_index));
      if (expanded.type == "ssh") ++ssh_index;
      m = std::move(expanded);
    }
  }
  return Ok();
}

std::string FormatInstruction(const Step& step) {
  auto quote_all = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += " " + GoQuote(s);
    return out;
  };
  auto cmdline = [&](const CommandLine& c) {
    std::string out;
    if (c.shell_form) {
      for (const auto& a : c.args) out += " " + a;
    } else {
      out += " [";
      for (size_t i = 0; i < c.args.size(); ++i) out += (i ? ", " : "") + GoQuote(c.args[i]);
      out += "]";
    }
    for (const auto& f : c.files) {
      out += " <<" + f.name + "(" +
             std::to_string(std::count(f.content.begin(), f.content.end(), '\n')) + " lines)";
    }
    return out;
  };
  std::string out = step.keyword;
  std::visit(
      [&](const auto& in) {
        using T = std::decay_t<decltype(in)>;
        if constexpr (std::is_same_v<T, FromInstr>) {
          if (!in.platform.empty()) out += " --platform=" + in.platform;
          out += " " + in.base;
          if (!in.name.empty()) out += " AS " + in.name;
        } else if constexpr (std::is_same_v<T, ArgInstr>) {
          for (const auto& a : in.args) out += " " + a.key + (a.value ? "=" + *a.value : "");
        } else if constexpr (std::is_same_v<T, EnvInstr> || std::is_same_v<T, LabelInstr>) {
          const std::vector<KeyValue>* kvs;
          if constexpr (std::is_same_v<T, EnvInstr>) {
            kvs = &in.vars;
          } else {
            kvs = &in.labels;
          }
          for (const auto& kv : *kvs) out += " " + kv.key + "=" + GoQuote(kv.value);
        } else if constexpr (std::is_same_v<T, MaintainerInstr>) {
          out += " " + in.maintainer;
        } else if constexpr (std::is_same_v<T, RunInstr>) {
          for (const auto& m : in.mounts) {
            out += " --mount=type=" + m.type;
            if (!m.target.empty()) out += ",target=" + m.target;
            if (!m.source.empty()) out += ",source=" + m.source;
            if (!m.from.empty()) out += ",from=" + m.from;
            if (!m.id.empty() && m.type != "bind") out += ",id=" + m.id;
            if (!m.sharing.empty()) out += ",sharing=" + m.sharing;
            if (m.type == "bind" && !m.readonly) out += ",rw";
            if (m.type != "bind" && m.readonly) out += ",ro";
            if (m.required) out += ",required";
          }
          if (in.network != "default") out += " --network=" + in.network;
          if (in.security != "sandbox") out += " --security=" + in.security;
          for (const auto& d : in.devices) out += " --device=" + d;
          out += cmdline(in.command);
        } else if constexpr (std::is_same_v<T, CopyInstr>) {
          if (!in.from.empty()) out += " --from=" + in.from;
          if (!in.chown.empty()) out += " --chown=" + in.chown;
          if (!in.chmod.empty()) out += " --chmod=" + in.chmod;
          if (in.link) out += " --link";
          if (in.parents) out += " --parents";
          for (const auto& e : in.excludes) out += " --exclude=" + e;
          if (!in.checksum.empty()) out += " --checksum=" + in.checksum;
          if (in.keep_git_dir)
            out += std::string(" --keep-git-dir=") + (*in.keep_git_dir ? "true" : "false");
          if (in.unpack) out += std::string(" --unpack=") + (*in.unpack ? "true" : "false");
          for (const auto& s : in.sources) out += " " + s;
          for (const auto& c : in.contents) out += " <<" + c.path;
          out += " " + in.dest;
        } else if constexpr (std::is_same_v<T, WorkdirInstr>) {
          out += " " + in.path;
        } else if constexpr (std::is_same_v<T, UserInstr>) {
          out += " " + in.user;
        } else if constexpr (std::is_same_v<T, ExposeInstr>) {
          for (const auto& p : in.ports) out += " " + p;
        } else if constexpr (std::is_same_v<T, VolumeInstr>) {
          out += quote_all(in.volumes);
        } else if constexpr (std::is_same_v<T, CmdInstr> || std::is_same_v<T, EntrypointInstr>) {
          out += cmdline(in.command);
        } else if constexpr (std::is_same_v<T, ShellInstr>) {
          out += quote_all(in.shell);
        } else if constexpr (std::is_same_v<T, HealthcheckInstr>) {
          if (in.test.size() == 1 && in.test[0] == "NONE") {
            out += " NONE";
          } else {
            if (in.interval_ns) out += " --interval=" + FormatGoDuration(in.interval_ns);
            if (in.timeout_ns) out += " --timeout=" + FormatGoDuration(in.timeout_ns);
            if (in.start_period_ns)
              out += " --start-period=" + FormatGoDuration(in.start_period_ns);
            if (in.start_interval_ns)
              out += " --start-interval=" + FormatGoDuration(in.start_interval_ns);
            if (in.retries) out += " --retries=" + std::to_string(in.retries);
            if (!in.test.empty() && in.test[0] == "CMD-SHELL") {
              out += " CMD";
              for (size_t i = 1; i < in.test.size(); ++i) out += " " + in.test[i];
            } else {
              std::vector<std::string> argv(in.test.begin() + (in.test.empty() ? 0 : 1),
                                            in.test.end());
              out += " CMD" + cmdline(CommandLine{argv, false, {}});
            }
          }
        } else if constexpr (std::is_same_v<T, StopSignalInstr>) {
          out += " " + in.signal;
        } else if constexpr (std::is_same_v<T, OnbuildInstr>) {
          out += " " + in.expression;
        }
      },
      step.instr);
  return out;
}

}  // namespace ocibuild::dockerfile
