#include "dockerfile-parser/fuzz_target.h"

#include "dockerfile-parser/ast_dump.h"
#include "dockerfile-parser/instructions.h"
#include "dockerfile-parser/plan.h"

namespace ocibuild::dockerfile {

void FuzzOneInput(std::string_view data) {
  auto parsed = ParseDockerfile(data, "Dockerfile");
  if (!parsed.ok()) return;
  (void)DumpAst(*parsed);
  auto steps = ParseInstructions(*parsed);
  if (!steps.ok()) return;
  ShellLex lex(parsed->escape);
  Env env{{"A", "a"}, {"HOME", "/root"}};
  for (const auto& s : *steps) {
    (void)FormatInstruction(s);
    Instruction copy = s.instr;
    (void)ExpandInstruction(&copy, env, lex);
  }
  PlanOptions opts;
  opts.target_platform = "linux/arm64";
  opts.build_platform = "linux/amd64";
  opts.build_args = {{"A", "1"}, {"http_proxy", "x"}};
  auto plan = PlanDockerfile(data, "Dockerfile", opts);
  if (plan.ok()) (void)FormatPlan(*plan);
}

}  // namespace ocibuild::dockerfile
