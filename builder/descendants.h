// The processes below this one (RUN steps' supervisors and everything they traced), for stopping
// a build on Ctrl-C or SIGTERM before its scratch files are removed: a step still running would
// otherwise write into a directory that is being deleted.
#pragma once

#include <sys/types.h>

#include <vector>

namespace ocibuild::builder {

// Every live (not zombie) descendant of this process, from /proc/<pid>/task/<tid>/children.
std::vector<pid_t> LiveDescendants();

// SIGKILLs every descendant until none is alive, or `max_rounds` rounds of 20 ms have passed
// (processes forked while the first round runs are caught by the next). Returns true when none
// is left.
bool KillDescendants(int max_rounds = 250);

}  // namespace ocibuild::builder
