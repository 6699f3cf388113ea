// Typed instructions: every parser Node becomes one struct with its flags validated per
// instruction (unknown flags get a "did you mean"). Words are kept unexpanded here; which of
// them are expanded, and with what environment, is ExpandInstruction's job (executor time).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dockerfile-parser/parser.h"
#include "dockerfile-parser/run_mount.h"
#include "dockerfile-parser/shell_lex.h"
#include "util/result.h"

namespace ocibuild::dockerfile {

struct KeyValue {
  std::string key;
  std::string value;
  bool legacy = false;  // "ENV k v" form (no '=')
};

// RUN / CMD / ENTRYPOINT / HEALTHCHECK CMD payload.
struct CommandLine {
  std::vector<std::string> args;  // shell form: exactly one string; exec form: argv
  bool shell_form = true;         // prepend the stage's SHELL
  std::vector<Heredoc> files;     // heredoc bodies attached to the instruction
};

struct FromInstr {
  std::string base;      // unexpanded image reference / stage name / "scratch"
  std::string name;      // lower-cased stage name, "" when absent
  std::string platform;  // unexpanded --platform value
};
struct ArgInstr {
  struct Item {
    std::string key;
    std::optional<std::string> value;
  };
  std::vector<Item> args;
};
struct EnvInstr {
  std::vector<KeyValue> vars;
};
struct LabelInstr {
  std::vector<KeyValue> labels;
};
struct MaintainerInstr {
  std::string maintainer;
};
struct RunInstr {
  CommandLine command;
  std::vector<Mount> mounts;
  std::string network = "default";   // default | none | host
  std::string security = "sandbox";  // sandbox | insecure
  std::vector<std::string> devices;  // --device values, as written
};
// Inline file content for COPY/ADD <<EOF sources.
struct SourceContent {
  std::string path;  // the heredoc name, used as the file name
  std::string data;
  bool expand = true;
};
struct CopyInstr {
  bool is_add = false;
  std::vector<std::string> sources;
  std::vector<SourceContent> contents;
  std::string dest;
  std::string from;  // COPY --from (stage name, index or image)
  std::string chown;
  std::string chmod;
  bool link = false;
  bool parents = false;  // COPY only
  std::vector<std::string> excludes;
  std::string checksum;              // ADD only
  std::optional<bool> keep_git_dir;  // ADD only
  std::optional<bool> unpack;        // ADD only
};
struct WorkdirInstr {
  std::string path;
};
struct UserInstr {
  std::string user;
};
struct ExposeInstr {
  std::vector<std::string> ports;
};
struct VolumeInstr {
  std::vector<std::string> volumes;
};
struct CmdInstr {
  CommandLine command;
};
struct EntrypointInstr {
  CommandLine command;
};
struct ShellInstr {
  std::vector<std::string> shell;
};
struct HealthcheckInstr {
  // test[0] is NONE, CMD (exec form) or CMD-SHELL (shell form).
  std::vector<std::string> test;
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
};
struct StopSignalInstr {
  std::string signal;
};
struct OnbuildInstr {
  std::string expression;  // the trigger as written (stored in the image config)
};

using Instruction =
    std::variant<FromInstr, ArgInstr, EnvInstr, LabelInstr, MaintainerInstr, RunInstr, CopyInstr,
                 WorkdirInstr, UserInstr, ExposeInstr, VolumeInstr, CmdInstr, EntrypointInstr,
                 ShellInstr, HealthcheckInstr, StopSignalInstr, OnbuildInstr>;

struct Step {
  Instruction instr;
  std::string keyword;   // upper-case instruction name ("RUN")
  std::string original;  // logical source line
  int line = 0;          // first physical line
  int end_line = 0;
};

// Validates one node. Errors are rendered with the node's location (flag errors point at the
// flag).
Result<Step> ParseInstruction(const ParsedDockerfile& file, const Node& node);
Result<std::vector<Step>> ParseInstructions(const ParsedDockerfile& file);

// Go's time.ParseDuration ("1m30s", "250ms", "1.5h"); returns nanoseconds.
Result<int64_t> ParseGoDuration(std::string_view s);
// Formats nanoseconds the way Go's Duration.String does ("1m30s", "250ms", "0s").
std::string FormatGoDuration(int64_t ns);

// Expands the words BuildKit expands for this instruction (ENV/LABEL keys and values, ARG,
// COPY/ADD sources, destination, --chown/--chmod/--checksum, WORKDIR, USER, VOLUME, STOPSIGNAL,
// EXPOSE, RUN --mount values, heredoc bodies of COPY/ADD without quoted delimiters, variables
// only). FROM is expanded by the planner with the global ARGs. RUN, CMD,
// ENTRYPOINT, SHELL, HEALTHCHECK and ONBUILD are left alone (the shell expands them at run
// time).
Status ExpandInstruction(Instruction* instr, const Env& env, const ShellLex& lex);

// Canonical one-line rendering of a typed instruction (for --print-plan).
std::string FormatInstruction(const Step& step);

}  // namespace ocibuild::dockerfile
