#include "dockerfile-parser/stage_graph.h"

#include <algorithm>
#include <queue>
#include <unordered_map>

#include "util/strings.h"

namespace ocibuild::dockerfile {
namespace {

bool ParseIndex(std::string_view s, int* out) {
  if (s.empty() || s.size() > 9) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool HasExpansion(std::string_view s) {
  return s.find('$') != std::string_view::npos || s.find('\\') != std::string_view::npos ||
         s.find('\'') != std::string_view::npos || s.find('"') != std::string_view::npos;
}

}  // namespace

Result<StageList> GroupStages(const ParsedDockerfile& file, std::vector<Step> steps) {
  StageList out;
  for (auto& step : steps) {
    if (auto* from = std::get_if<FromInstr>(&step.instr)) {
      Stage st;
      st.index = static_cast<int>(out.stages.size());
      st.name = from->name;
      st.from = *from;
      st.line = step.line;
      out.stages.push_back(std::move(st));
      continue;
    }
    if (out.stages.empty()) {
      if (std::holds_alternative<ArgInstr>(step.instr)) {
        out.meta_args.push_back(std::move(step));
        continue;
      }
      return file.ErrorAt(file.FindOnLine(step.line, ""), "no build stage in current context");
    }
    out.stages.back().steps.push_back(std::move(step));
  }
  if (out.stages.empty()) {
    // Only global ARGs: BuildKit's words.
    int line = out.meta_args.empty() ? 0 : out.meta_args.back().line;
    return file.ErrorAt(file.FindOnLine(line, ""), "dockerfile contains no stages to build");
  }
  std::unordered_map<std::string_view, const Stage*> seen;
  for (const Stage& s : out.stages) {
    if (s.name.empty()) continue;
    auto [it, inserted] = seen.emplace(s.name, &s);
    if (!inserted) {
      return file.ErrorAt(file.FindOnLine(s.line, ""), "duplicate stage name \"" + s.name +
                                                           "\" (first defined on line " +
                                                           std::to_string(it->second->line) + ")");
    }
  }
  return out;
}

int FindStage(const std::vector<Stage>& stages, std::string_view name) {
  std::string lower = ToLower(name);
  for (const auto& s : stages)
    if (!s.name.empty() && s.name == lower) return s.index;
  return -1;
}

Result<std::vector<std::vector<StageDependency>>> ResolveDependencies(
    const ParsedDockerfile& file, const std::vector<Stage>& stages,
    const std::vector<StageBase>& bases) {
  std::vector<std::vector<StageDependency>> deps(stages.size());
  std::unordered_map<std::string, int> by_name;
  for (const auto& st : stages)
    if (!st.name.empty()) by_name.emplace(st.name, st.index);
  auto find = [&](std::string_view name) {
    auto it = by_name.find(ToLower(name));
    return it == by_name.end() ? -1 : it->second;
  };
  for (const auto& st : stages) {
    auto& out = deps[st.index];
    const StageBase& base = bases[st.index];
    if (base.kind == StageBase::Kind::kStage) {
      out.push_back(StageDependency{StageDependency::Via::kFrom, base.stage, "", st.line});
    }
    for (const auto& step : st.steps) {
      if (const auto* c = std::get_if<CopyInstr>(&step.instr); c && !c->from.empty()) {
        auto err = [&](const std::string& msg) {
          return file.ErrorAt(file.FindOnLine(step.line, "--from"), msg);
        };
        if (HasExpansion(c->from)) {
          return err(
              "variable expansion is not supported for --from, define a new stage with FROM "
              "using ARG from global scope as a workaround");
        }
        StageDependency d{StageDependency::Via::kCopy, -1, "", step.line, c->from, ""};
        int index;
        if (ParseIndex(c->from, &index)) {
          if (index >= static_cast<int>(stages.size())) {
            return err("invalid stage index " + c->from);
          }
          d.stage = index;
        } else {
          d.stage = find(c->from);
          if (d.stage < 0) d.image = c->from;
        }
        out.push_back(std::move(d));
      }
      if (const auto* r = std::get_if<RunInstr>(&step.instr)) {
        for (const auto& m : r->mounts) {
          if (m.from.empty()) continue;
          StageDependency d{StageDependency::Via::kMount, -1, "", step.line, m.from, m.target};
          // Mounts name stages only (BuildKit): "0" here is an image called 0.
          d.stage = find(m.from);
          if (d.stage < 0) d.image = m.from;
          out.push_back(std::move(d));
        }
      }
    }
  }
  return deps;
}

Result<std::vector<int>> NeededStages(const ParsedDockerfile& file,
                                      const std::vector<Stage>& stages,
                                      const std::vector<std::vector<StageDependency>>& deps,
                                      int target) {
  auto needle = [](const StageDependency& d) {
    return d.via == StageDependency::Via::kCopy    ? "--from"
           : d.via == StageDependency::Via::kMount ? "from="
                                                   : "";
  };
  struct Frame {
    int stage;
    size_t next;
  };
  // Cycles anywhere, visiting stages in file order (iteratively: no recursion depth limit).
  {
    std::vector<bool> visited(stages.size(), false), on_path(stages.size(), false);
    for (size_t start = 0; start < stages.size(); ++start) {
      if (visited[start]) continue;
      std::vector<Frame> stack{{static_cast<int>(start), 0}};
      visited[start] = on_path[start] = true;
      while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.next >= deps[f.stage].size()) {
          on_path[f.stage] = false;
          stack.pop_back();
          continue;
        }
        const StageDependency& d = deps[f.stage][f.next++];
        if (d.stage < 0) continue;
        if (on_path[d.stage]) {
          const StageDependency& first = deps[stack[0].stage][stack[0].next - 1];
          return file.ErrorAt(
              file.FindOnLine(first.line, needle(first)),
              "circular dependency detected on stage: " + stages[start].DisplayName());
        }
        if (!visited[d.stage]) {
          visited[d.stage] = on_path[d.stage] = true;
          stack.push_back(Frame{d.stage, 0});
        }
      }
    }
  }
  // What the target needs.
  enum Color { kWhite, kBlack };
  std::vector<Color> color(stages.size(), kWhite);
  std::vector<int> todo{target};
  color[target] = kBlack;
  while (!todo.empty()) {
    int i = todo.back();
    todo.pop_back();
    for (const auto& d : deps[i]) {
      if (d.stage < 0 || color[d.stage] == kBlack) continue;
      color[d.stage] = kBlack;
      todo.push_back(d.stage);
    }
  }
  // Sources must be built before the stage that reads them.
  for (size_t i = 0; i < stages.size(); ++i) {
    if (color[i] != kBlack) continue;
    for (const auto& d : deps[i]) {
      if (d.stage <= static_cast<int>(i)) continue;
      if (d.via == StageDependency::Via::kCopy) {
        return file.ErrorAt(file.FindOnLine(d.line, "--from"),
                            "cannot copy from stage \"" + d.from +
                                "\", it needs to be defined before current stage \"" +
                                stages[i].DisplayName() + "\"");
      }
      return file.ErrorAt(file.FindOnLine(d.line, "from="),
                          "cannot mount from stage \"" + d.from + "\" to \"" + d.mount_target +
                              "\", stage needs to be defined before current command");
    }
  }
  // Dependency order, preferring Dockerfile order: Kahn's algorithm taking the lowest ready
  // index first (a mount may read from a later stage).
  std::vector<int> pending(stages.size(), 0);
  std::vector<std::vector<int>> users(stages.size());
  for (size_t i = 0; i < stages.size(); ++i) {
    if (color[i] != kBlack) continue;
    for (const auto& d : deps[i]) {
      if (d.stage < 0) continue;
      ++pending[i];
      users[d.stage].push_back(static_cast<int>(i));
    }
  }
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (size_t i = 0; i < stages.size(); ++i)
    if (color[i] == kBlack && pending[i] == 0) ready.push(static_cast<int>(i));
  std::vector<int> out;
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    out.push_back(i);
    for (int u : users[i])
      if (--pending[u] == 0) ready.push(u);
  }
  return out;
}

}  // namespace ocibuild::dockerfile
