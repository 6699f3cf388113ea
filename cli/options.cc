#include "cli/options.h"

#include <algorithm>

#include "util/strings.h"

#ifndef OCIBUILD_VERSION
#define OCIBUILD_VERSION "0.0.0"
#endif

namespace ocibuild::cli {
namespace {

struct FlagDef {
  std::string long_name;  // without dashes
  char short_name = 0;
  bool takes_value = false;
};

const std::vector<FlagDef>& Flags() {
  static const std::vector<FlagDef> kFlags = {
      {"file", 'f', true},        {"tag", 't', true},         {"build-arg", 0, true},
      {"target", 0, true},        {"label", 0, true},         {"platform", 0, true},
      {"no-cache", 0, false},     {"push", 0, false},         {"no-push", 0, false},
      {"output", 'o', true},      {"progress", 0, true},      {"iidfile", 0, true},
      {"metadata-file", 0, true}, {"digest-file", 0, true},   {"secret", 0, true},
      {"cache-from", 0, true},    {"cache-to", 0, true},      {"insecure-registry", 0, true},
      {"registry-ca", 0, true},   {"print-plan", 0, false},   {"help", 'h', false},
      {"version", 0, false},      {"load", 0, false},         {"ssh", 0, true},
      {"attest", 0, true},        {"provenance", 0, true},    {"sbom", 0, true},
      {"annotation", 0, true},    {"build-context", 0, true}, {"pull", 0, false},
      {"add-host", 0, true},      {"network", 0, true},       {"no-cache-filter", 0, true},
      {"call", 0, true},          {"check", 0, false},        {"dry-run", 0, false},
  };
  return kFlags;
}

Error FlagError(const std::string& flag, const std::string& msg) {
  return Error{"invalid argument for " + flag + ": " + msg};
}

// A flag's value as buildx reads it: one CSV record.
Result<std::vector<std::string>> CsvFields(const std::string& flag, const std::string& value) {
  auto fields = SplitCsv(value);
  if (!fields)
    return FlagError(flag, "\"" + value +
                               "\": a quote must enclose a whole field, as in "
                               "type=oci,\"name=a:1,a:2\"");
  return *fields;
}

// "type=registry,ref=x" -> {type, {ref: x}}; a bare first field without '=' is the type.
Result<std::pair<std::string, std::map<std::string, std::string>>> ParseCsvSpec(
    const std::string& flag, const std::string& value, bool bare_is_dest) {
  std::string type;
  std::map<std::string, std::string> attrs;
  OCIB_ASSIGN_OR_RETURN(std::vector<std::string> fields, CsvFields(flag, value));
  for (const auto& field : fields) {
    bool has_eq = false;
    auto [k, v] = SplitOnce(field, '=', &has_eq);
    k = std::string(TrimSpace(k));
    if (!has_eq) {
      if (bare_is_dest && value.find('=') == std::string::npos) {
        // docker: "-o ./dir" is type=local,dest=./dir; "-o -" is a tar to stdout.
        if (field == "-")
          return std::make_pair(std::string("tar"),
                                std::map<std::string, std::string>{{"dest", "-"}});
        return std::make_pair(std::string("local"),
                              std::map<std::string, std::string>{{"dest", field}});
      }
      return FlagError(flag, "\"" + field + "\": expected key=value");
    }
    if (k.empty()) return FlagError(flag, "\"" + field + "\": empty key");
    if (k == "type")
      type = v;
    else
      attrs[k] = v;
  }
  if (type.empty()) return FlagError(flag, "\"" + value + "\": missing type=");
  return std::make_pair(type, attrs);
}

Status ValidatePlatform(const std::string& p) {
  auto parts = Split(p, '/');
  if (parts.size() < 2 || parts.size() > 3)
    return FlagError("--platform", "\"" + p + "\": expected os/arch[/variant], e.g. linux/amd64");
  for (const auto& s : parts) {
    if (s.empty())
      return FlagError("--platform", "\"" + p + "\": empty component in os/arch[/variant]");
  }
  // Any os/arch, as BuildKit: stages FROM --platform=$BUILDPLATFORM run natively and a final
  // stage may only copy their results; a RUN step on a foreign platform fails when it execs.
  return Ok();
}

// Flags whose value is optional (`--provenance` alone means true, as in buildx).
bool OptionalValue(const std::string& name) {
  return name == "provenance" || name == "sbom";
}

// --attest type=T[,k=v...]; --provenance / --sbom take true, false or the attributes alone.
Result<AttestSpec> ParseAttest(const std::string& flag, const std::string& type_hint,
                               const std::string& value) {
  AttestSpec a;
  a.type = type_hint;
  std::string v = value;
  if (!type_hint.empty()) {
    if (v.empty() || v == "true" || v == "1") return a;
    if (v == "false" || v == "0") {
      a.disabled = true;
      return a;
    }
  }
  OCIB_ASSIGN_OR_RETURN(std::vector<std::string> fields, CsvFields(flag, v));
  for (const auto& field : fields) {
    bool eq = false;
    auto [k, val] = SplitOnce(field, '=', &eq);
    k = std::string(TrimSpace(k));
    if (!eq) return FlagError(flag, "\"" + field + "\": expected key=value");
    if (k == "type") {
      if (!type_hint.empty() && val != type_hint)
        return FlagError(flag, "type=" + val + " given to " + flag);
      a.type = val;
    } else if (k == "disabled") {
      a.disabled = val == "true" || val == "1";
    } else {
      a.attrs[k] = val;
    }
  }
  if (a.type != "provenance" && a.type != "sbom")
    return FlagError(flag, "\"" + value + "\": type must be provenance or sbom");
  if (a.type == "provenance") {
    auto m = a.attrs.find("mode");
    if (m != a.attrs.end() && m->second != "min" && m->second != "max")
      return FlagError(flag, "mode=" + m->second + ": one of min, max");
    auto ver = a.attrs.find("version");
    if (ver != a.attrs.end() && ver->second != "v1")
      return FlagError(flag, "version=" + ver->second + ": ocibuild writes SLSA provenance v1");
  }
  return a;
}

Result<AnnotationSpec> ParseAnnotation(const std::string& flag, const std::string& value) {
  AnnotationSpec a;
  bool eq = false;
  auto [lhs, val] = SplitOnce(value, '=', &eq);
  if (!eq || lhs.empty()) return FlagError(flag, "\"" + value + "\": expected [TYPE:]KEY=VALUE");
  a.value = val;
  std::string key = lhs;
  // "manifest[linux/amd64],index:key": the part before the first ':' names types only when
  // each of its words is a known type (keys such as "org.example:x" have colons too).
  static const std::vector<std::string> kTypes = {"manifest", "index", "manifest-descriptor",
                                                  "index-descriptor"};
  if (size_t colon = key.find(':'); colon != std::string::npos) {
    std::string head = key.substr(0, colon);
    std::vector<std::string> types;
    std::string platform;
    bool all_known = true;
    for (std::string t : Split(head, ',')) {
      if (size_t br = t.find('['); br != std::string::npos && EndsWith(t, "]")) {
        platform = t.substr(br + 1, t.size() - br - 2);
        t = t.substr(0, br);
      }
      if (std::find(kTypes.begin(), kTypes.end(), t) == kTypes.end()) all_known = false;
      types.push_back(t);
    }
    if (all_known) {
      a.types = types;
      a.platform = platform;
      key = key.substr(colon + 1);
    }
  }
  if (a.types.empty()) a.types = {"manifest"};
  if (key.empty()) return FlagError(flag, "\"" + value + "\": empty annotation key");
  a.key = key;
  return a;
}

}  // namespace

const AttestSpec* Options::Attest(const std::string& type) const {
  const AttestSpec* found = nullptr;
  for (const auto& a : attests)
    if (a.type == type) found = &a;
  return found && !found->disabled ? found : nullptr;
}

Result<Options> ParseArgs(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env) {
  Options o;
  std::vector<std::string> positional;
  size_t i = 0;
  if (!argv.empty() && (argv[0] == "build" || argv[0] == "doctor" || argv[0] == "plan")) {
    if (argv[0] == "doctor") o.command = Command::kDoctor;
    if (argv[0] == "plan") o.command = Command::kPrintPlan;
    i = 1;
  } else if (!argv.empty() && argv[0] == "imagetools") {
    if (argv.size() < 2 || argv[1] != "create")
      return Error{"ocibuild imagetools: only `imagetools create -t REF SOURCE...` is supported"};
    o.command = Command::kImagetoolsCreate;
    i = 2;
  }
  bool only_positional = false;
  for (; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (only_positional || arg == "-" || arg.empty() || arg[0] != '-') {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    std::string name, value;
    bool has_value = false;
    const FlagDef* def = nullptr;
    std::string shown;
    if (StartsWith(arg, "--")) {
      auto [n, v] = SplitOnce(std::string_view(arg).substr(2), '=', &has_value);
      name = n;
      value = v;
      shown = "--" + name;
      for (const auto& f : Flags())
        if (f.long_name == name) def = &f;
      if (!def) {
        std::vector<std::string> names;
        for (const auto& f : Flags()) names.push_back(f.long_name);
        std::string near = NearestMatch(name, names);
        return Error{"unknown flag: " + shown +
                     (near.empty() ? "" : " (did you mean --" + near + "?)") +
                     "\nSee 'ocibuild --help'."};
      }
    } else {
      char c = arg[1];
      shown = std::string("-") + c;
      for (const auto& f : Flags())
        if (f.short_name == c) def = &f;
      if (!def)
        return Error{"unknown shorthand flag: '" + std::string(1, c) + "' in " + arg +
                     "\nSee 'ocibuild --help'."};
      name = def->long_name;
      if (arg.size() > 2) {
        if (!def->takes_value)
          return Error{"unknown shorthand flag: '" + std::string(1, arg[2]) + "' in " + arg};
        value = arg.substr(2);
        if (!value.empty() && value[0] == '=') value = value.substr(1);
        has_value = true;
      }
    }
    if (def->takes_value && !has_value && OptionalValue(def->long_name)) {
      has_value = true;  // `--provenance` alone, as buildx
    } else if (def->takes_value && !has_value) {
      if (i + 1 >= argv.size()) return Error{"flag needs an argument: " + shown};
      value = argv[++i];
      has_value = true;
    } else if (!def->takes_value && has_value) {
      if (value != "true" && value != "false")
        return FlagError(shown, "\"" + value + "\": a boolean flag takes true or false");
    }
    bool bool_value = !has_value || value == "true";

    if (name == "file") {
      if (value.empty()) return FlagError(shown, "empty path");
      o.dockerfile = value;
    } else if (name == "tag") {
      if (value.empty()) return FlagError(shown, "empty image reference");
      std::string repo = value;
      size_t at = repo.find('@');
      if (at != std::string::npos) repo = repo.substr(0, at);
      size_t slash = repo.rfind('/');
      size_t colon = repo.rfind(':');
      if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
        repo = repo.substr(0, colon);
      size_t first = repo.find('/');
      std::string path_part = first == std::string::npos ? repo : repo.substr(first + 1);
      if (path_part != ToLower(path_part) || value.find_first_of(" \t\n") != std::string::npos)
        return FlagError(
            shown,
            "\"" + value + "\": invalid reference format: repository name must be lowercase");
      o.tags.push_back(value);
    } else if (name == "build-arg") {
      bool eq = false;
      auto [k, v] = SplitOnce(value, '=', &eq);
      if (k.empty()) return FlagError(shown, "\"" + value + "\": expected KEY=VALUE");
      if (!eq) {
        auto it = env.find(k);
        if (it == env.end()) continue;  // docker: a bare KEY not in the environment is ignored
        v = it->second;
      }
      o.build_args.emplace_back(k, v);
    } else if (name == "target") {
      if (value.empty()) return FlagError(shown, "empty stage name");
      o.target = value;
    } else if (name == "label") {
      bool eq = false;
      auto [k, v] = SplitOnce(value, '=', &eq);
      if (k.empty()) return FlagError(shown, "\"" + value + "\": expected KEY=VALUE");
      o.labels.emplace_back(k, v);
    } else if (name == "platform") {
      for (const auto& p : Split(value, ',')) {
        std::string t(TrimSpace(p));
        if (t.empty()) continue;
        OCIB_TRY(ValidatePlatform(t));
        if (std::find(o.platforms.begin(), o.platforms.end(), t) == o.platforms.end())
          o.platforms.push_back(t);
      }
    } else if (name == "no-cache") {
      o.no_cache = bool_value;
    } else if (name == "push") {
      o.push = bool_value;
    } else if (name == "no-push") {
      o.push = !bool_value;
    } else if (name == "load") {
      return Error{
          "--load needs a Docker daemon; use --output type=docker,dest=image.tar and `docker load "
          "-i image.tar`"};
    } else if (name == "output") {
      OCIB_ASSIGN_OR_RETURN(auto spec, ParseCsvSpec(shown, value, true));
      static const std::vector<std::string> kTypes = {"registry", "image", "oci",
                                                      "docker",   "tar",   "local"};
      if (std::find(kTypes.begin(), kTypes.end(), spec.first) == kTypes.end()) {
        std::string near = NearestMatch(spec.first, kTypes);
        return FlagError(shown, "unknown output type \"" + spec.first + "\"" +
                                    (near.empty() ? "" : " (did you mean " + near + "?)") +
                                    "; one of registry, image, oci, docker, tar, local");
      }
      if ((spec.first == "oci" || spec.first == "docker" || spec.first == "tar" ||
           spec.first == "local") &&
          spec.second["dest"].empty())
        return FlagError(shown, "type=" + spec.first + " needs dest=PATH");
      if (auto c = spec.second.find("compression"); c != spec.second.end()) {
        if (c->second != "gzip" && c->second != "zstd" && c->second != "uncompressed")
          return FlagError(shown, "compression=" + c->second + ": one of gzip, zstd, uncompressed");
        if (!o.compression.empty() && o.compression != c->second)
          return FlagError(shown, "compression=" + c->second + " conflicts with compression=" +
                                      o.compression + " of another output (layers are shared)");
        o.compression = c->second;
      }
      if (auto l = spec.second.find("compression-level"); l != spec.second.end()) {
        const std::string& v = l->second;
        if (v.empty() || v.size() > 2 || v.find_first_not_of("0123456789") != std::string::npos)
          return FlagError(shown, "compression-level=" + v + ": expected a number");
        int level = std::stoi(v);
        if (o.compression_level >= 0 && o.compression_level != level)
          return FlagError(shown, "compression-level=" + v + " conflicts with another output's");
        o.compression_level = level;
      }
      o.outputs.push_back(OutputSpec{spec.first, spec.second, value});
    } else if (name == "progress") {
      if (value == "auto")
        o.progress = Progress::kAuto;
      else if (value == "plain")
        o.progress = Progress::kPlain;
      else if (value == "tty")
        o.progress = Progress::kTty;
      else if (value == "quiet")
        o.progress = Progress::kQuiet;
      else
        return FlagError(shown, "\"" + value + "\": one of auto, plain, tty, quiet");
    } else if (name == "iidfile") {
      o.iidfile = value;
    } else if (name == "metadata-file") {
      o.metadata_file = value;
    } else if (name == "digest-file") {
      o.digest_file = value;
    } else if (name == "secret") {
      SecretSpec s;
      OCIB_ASSIGN_OR_RETURN(std::vector<std::string> fields, CsvFields(shown, value));
      for (const auto& field : fields) {
        bool eq = false;
        auto [k, v] = SplitOnce(field, '=', &eq);
        if (!eq) return FlagError(shown, "\"" + field + "\": expected key=value");
        if (k == "id")
          s.id = v;
        else if (k == "src" || k == "source")
          s.src = v;
        else if (k == "env")
          s.env = v;
        else if (k == "type") {
          if (v != "file" && v != "env") return FlagError(shown, "type must be file or env");
        } else
          return FlagError(shown, "unknown key \"" + k + "\"; use id=, src=, env=");
      }
      if (s.id.empty()) return FlagError(shown, "\"" + value + "\": missing id=");
      if (s.src.empty() && s.env.empty()) {
        // docker: id=X alone reads the environment variable X if set, else file X.
        if (env.count(s.id))
          s.env = s.id;
        else
          s.src = s.id;
      }
      o.secrets.push_back(s);
    } else if (name == "ssh") {
      // docker build --ssh ID[=SOCKET]: with no socket, the agent of $SSH_AUTH_SOCK.
      bool eq = false;
      auto [id, path] = SplitOnce(value, '=', &eq);
      if (id.empty()) return FlagError(shown, "\"" + value + "\": expected ID[=SOCKET]");
      if (!eq) {
        auto sock = env.find("SSH_AUTH_SOCK");
        if (sock == env.end() || sock->second.empty())
          return FlagError(shown, "--ssh " + id + ": no socket given and SSH_AUTH_SOCK is not set");
        path = sock->second;
      }
      if (path.find(',') != std::string::npos)
        return FlagError(
            shown, "--ssh " + id + ": key files are not supported; forward an ssh-agent socket");
      o.ssh[id] = path;
    } else if (name == "cache-from" || name == "cache-to") {
      std::string v = value;
      if (v.find('=') == std::string::npos) v = "type=registry,ref=" + v;
      OCIB_ASSIGN_OR_RETURN(auto spec, ParseCsvSpec(shown, v, false));
      if (spec.first != "registry" && spec.first != "local" && spec.first != "inline")
        return FlagError(
            shown, "unknown cache type \"" + spec.first + "\"; one of registry, local, inline");
      if (spec.first == "registry" && spec.second["ref"].empty())
        return FlagError(shown, "type=registry needs ref=IMAGE");
      if (spec.first == "local" && spec.second[name == "cache-from" ? "src" : "dest"].empty())
        return FlagError(shown, std::string("type=local needs ") +
                                    (name == "cache-from" ? "src=DIR" : "dest=DIR"));
      (name == "cache-from" ? o.cache_from : o.cache_to)
          .push_back(CacheSpec{spec.first, spec.second, value});
    } else if (name == "insecure-registry") {
      o.insecure_registries.push_back(value);
    } else if (name == "registry-ca") {
      o.registry_ca = value;
    } else if (name == "attest" || name == "provenance" || name == "sbom") {
      OCIB_ASSIGN_OR_RETURN(AttestSpec a, ParseAttest(shown, name == "attest" ? "" : name, value));
      o.attests.push_back(std::move(a));
    } else if (name == "annotation") {
      OCIB_ASSIGN_OR_RETURN(AnnotationSpec a, ParseAnnotation(shown, value));
      o.annotations.push_back(std::move(a));
    } else if (name == "build-context") {
      bool eq = false;
      auto [k, v] = SplitOnce(value, '=', &eq);
      if (!eq || k.empty() || v.empty())
        return FlagError(
            shown, "\"" + value + "\": expected NAME=DIR|docker-image://REF|" + "oci-layout://DIR");
      if (v.find("://") != std::string::npos && !StartsWith(v, "docker-image://") &&
          !StartsWith(v, "oci-layout://"))
        return FlagError(shown, "\"" + v + "\": only local directories, docker-image:// and " +
                                    "oci-layout:// contexts are supported");
      o.build_contexts.emplace_back(k, v);
    } else if (name == "pull") {
      o.pull = bool_value;
    } else if (name == "add-host") {
      // HOST:IP (IPv6 addresses have colons: the host is up to the first one); "=" also works.
      size_t sep = value.find('=');
      if (sep == std::string::npos) sep = value.find(':');
      if (sep == std::string::npos || sep == 0 || sep + 1 >= value.size())
        return FlagError(shown, "\"" + value + "\": expected HOST:IP");
      std::string ip = value.substr(sep + 1);
      if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') ip = ip.substr(1, ip.size() - 2);
      if (ip.find_first_not_of("0123456789abcdefABCDEF.:") != std::string::npos)
        return FlagError(shown, "\"" + ip + "\": invalid IP address");
      o.add_hosts.emplace_back(value.substr(0, sep), ip);
    } else if (name == "network") {
      if (value != "default" && value != "none" && value != "host")
        return FlagError(shown, "\"" + value + "\": one of default, none, host");
      o.network = value;
    } else if (name == "no-cache-filter") {
      for (const auto& st : Split(value, ','))
        if (!TrimSpace(st).empty())
          o.no_cache_filter.push_back(ToLower(std::string(TrimSpace(st))));
    } else if (name == "call") {
      if (value != "build" && value != "check")
        return FlagError(shown, "\"" + value + "\": ocibuild supports build and check");
      o.call = value;
    } else if (name == "check") {
      if (bool_value) o.call = "check";
    } else if (name == "dry-run") {
      o.dry_run = bool_value;
    } else if (name == "print-plan") {
      if (bool_value) o.command = Command::kPrintPlan;
    } else if (name == "help") {
      o.command = Command::kHelp;
      return o;
    } else if (name == "version") {
      o.command = Command::kVersion;
      return o;
    }
  }
  if (o.command == Command::kDoctor) {
    o.doctor_refs = positional;
    return o;
  }
  if (o.command == Command::kImagetoolsCreate) {
    if (positional.empty())
      return Error{"ocibuild imagetools create: no source images (REF@DIGEST or DIGEST...)"};
    if (o.tags.empty()) return Error{"ocibuild imagetools create: needs at least one -t/--tag"};
    o.sources = positional;
    return o;
  }
  if (positional.empty())
    return Error{
        "ocibuild requires exactly 1 argument (the build context, e.g. \".\")\n"
        "Usage: ocibuild [OPTIONS] CONTEXT\nSee 'ocibuild --help'."};
  if (positional.size() > 1)
    return Error{"ocibuild requires exactly 1 argument (the build context), got " +
                 std::to_string(positional.size()) + ": " + Join(positional, " ")};
  if (o.compression_level >= 0) {
    int max = o.compression == "zstd" ? 19 : 9;
    int min = 1;
    if (o.compression == "uncompressed")
      return Error{"--output: compression-level needs compression=gzip or zstd"};
    if (o.compression_level < min || o.compression_level > max)
      return Error{"--output: compression-level=" + std::to_string(o.compression_level) + " for " +
                   (o.compression.empty() ? std::string("gzip") : o.compression) + ": expected " +
                   std::to_string(min) + ".." + std::to_string(max)};
  }
  o.context_dir = positional[0];
  return o;
}

std::string VersionText() {
  return std::string("ocibuild ") + OCIBUILD_VERSION + "\n";
}

std::string UsageText() {
  return R"(Usage: ocibuild [build] [OPTIONS] CONTEXT
       ocibuild plan [OPTIONS] CONTEXT     (same as --print-plan)
       ocibuild doctor [IMAGE-REF]
       ocibuild imagetools create -t REF [-t REF...] [--annotation A] [--dry-run] SOURCE...
                                           (merge images or indexes into one index)

Build an OCI image from a Dockerfile without a daemon, root, or user namespaces.

Options:
  -f, --file PATH             Dockerfile (default: CONTEXT/Dockerfile)
  -t, --tag REF               Name (and push) the image as REF; repeatable
      --build-arg KEY[=VAL]   Set a build-time ARG; KEY alone takes $KEY
      --target STAGE          Build this stage and what it needs
      --label KEY=VAL         Add a label to the image; repeatable
      --platform OS/ARCH[/V],...
                              Target platform(s) (default: the host's); several build
                              one image each and an index over them
      --no-cache              Do not use the layer cache
      --push / --no-push      Push the tagged image (default: push when -t is given)
  -o, --output SPEC           type=registry | type=oci,dest=DIR|FILE.tar |
                              type=docker,dest=FILE.tar | type=tar,dest=FILE |
                              type=local,dest=DIR ; repeatable; layer compression with
                              ,compression=gzip|zstd|uncompressed[,compression-level=N]
      --progress MODE         auto, plain, tty, quiet (default: auto)
      --iidfile PATH          Write the image ID (config digest) to PATH
      --metadata-file PATH    Write build metadata (JSON) to PATH
      --digest-file PATH      Write the pushed manifest digest to PATH
      --secret id=ID[,src=PATH|,env=VAR]
                              Expose a secret to RUN --mount=type=secret
      --ssh ID[=SOCKET]       Forward an ssh-agent socket (default: $SSH_AUTH_SOCK) to
                              RUN --mount=type=ssh
      --cache-from SPEC       type=registry,ref=REF | type=local,src=DIR
      --cache-to SPEC         type=registry,ref=REF[,mode=max] | type=local,dest=DIR
      --insecure-registry HOST[:PORT]
                              Allow plain HTTP / unverified TLS for HOST
      --registry-ca PATH      Extra CA bundle for registry TLS
      --attest type=provenance[,mode=min|max][,builder-id=URI] | type=sbom
                              Attach an attestation (in-toto, as BuildKit attaches them)
      --provenance[=true|false|mode=min|max,...]
                              Shorthand for --attest type=provenance
      --sbom[=true|false]     Shorthand for --attest type=sbom (SPDX of the final image)
      --annotation [TYPE[,TYPE][PLATFORM]:]KEY=VALUE
                              Annotate the manifest (default), index, manifest-descriptor
                              or index-descriptor; repeatable
      --build-context NAME=DIR|docker-image://REF|oci-layout://DIR[:TAG|@DIGEST]
                              An extra named context for FROM, COPY --from, RUN --mount
      --pull                  Always resolve base images in their registry (the default)
      --add-host HOST:IP      Add a line to /etc/hosts in RUN steps; repeatable
      --network MODE          Network of RUN steps: default, host or none
      --no-cache-filter STAGE Do not use the cache for STAGE's steps; repeatable
      --call build|check      check: lint the Dockerfile (BuildKit's rules), build nothing
      --check                 Shorthand for --call=check
      --print-plan            Parse the Dockerfile and print the stages and steps; build nothing
  -h, --help                  Show this help
      --version               Show the version
)";
}

}  // namespace ocibuild::cli
