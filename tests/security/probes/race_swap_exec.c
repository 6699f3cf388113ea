// Class 2: execve of a path whose directory is swapped with a symlink to "/": the host's hostbin
// prints a canary when it runs; the decoy exits 0 silently.
#include "race.h"

extern char** environ;

int main(void) {
  p_start();
  char* base = race_setup();
  char* path = p_strf("%s/hostbin", base);
  long tries = 0, hits = 0;
  race_begin();
  double end = now_s() + RACE_SECONDS;
  while (now_s() < end) {
    ++tries;
    pid_t c = fork();
    if (c == 0) {
      char* argv[] = {path, NULL};
      execve(path, argv, environ);
      _exit(127);
    }
    int st;
    waitpid(c, &st, 0);
  }
  race_end("execve", tries, hits);
  p_end();
}
