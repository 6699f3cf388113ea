#include "builder/descendants.h"

#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace ocibuild::builder {
namespace {

bool IsZombieOrGone(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return true;
  // "pid (comm) S ...": comm may hold spaces and parentheses, the state follows the last ')'.
  size_t close = stat.rfind(')');
  return close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] == 'Z' ||
         stat[close + 2] == 'X';
}

void Children(pid_t pid, std::vector<pid_t>& out, std::set<pid_t>& seen) {
  std::error_code ec;
  std::filesystem::directory_iterator tasks("/proc/" + std::to_string(pid) + "/task", ec);
  if (ec) return;
  for (const auto& task : tasks) {
    std::ifstream in(task.path() / "children");
    pid_t child;
    while (in >> child) {
      if (!seen.insert(child).second) continue;
      out.push_back(child);
      Children(child, out, seen);
    }
  }
}

}  // namespace

std::vector<pid_t> LiveDescendants() {
  std::vector<pid_t> all, live;
  std::set<pid_t> seen;
  Children(::getpid(), all, seen);
  for (pid_t p : all)
    if (!IsZombieOrGone(p)) live.push_back(p);
  return live;
}

bool KillDescendants(int max_rounds) {
  for (int round = 0; round < max_rounds; ++round) {
    std::vector<pid_t> live = LiveDescendants();
    if (live.empty()) return true;
    for (pid_t p : live) ::kill(p, SIGKILL);
    ::usleep(20 * 1000);
  }
  return LiveDescendants().empty();
}

}  // namespace ocibuild::builder
