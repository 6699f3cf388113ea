// The suite's static guest programs (probes/*.c, victim.c, tree_report.c), embedded in the test
// binary so that it is self-contained wherever it runs (as another user, in a container).
#pragma once

#ifdef __cplusplus
extern "C" {
#endif

struct OcibSecurityProgram {
  const char* name;
  const char* start;
  const char* end;
};

// Terminated by an entry with name == 0.
extern const struct OcibSecurityProgram ocib_security_programs[];

#ifdef __cplusplus
}
#endif
