// Executing host programs: execve/execveat/fexecve of the harness's host script through every
// spelling, through a dirfd and an O_PATH fd of it. The script prints a canary when it runs.
#include "escape_ops.h"

#define UP16 "/../../../../../../../../../../../../../../../.."

extern char** environ;

static void execveat_child(const char* label, int dirfd, const char* name, int flags) {
  pid_t c = fork();
  if (c == 0) {
    char* argv[] = {(char*)"hostbin", NULL};
    ATT(syscall(SYS_execveat, dirfd, name, argv, environ, flags), "%s execveat(%s, %#x)", label,
        name, flags);
    _exit(127);
  }
  int st = 0;
  waitpid(c, &st, 0);
  if (WIFEXITED(st) && WEXITSTATUS(st) != 127) p_escape("%s: execveat ran something", label);
}

int main(void) {
  p_start();
  T();
  pid_t c = fork();
  if (c == 0) {
    char* argv[] = {(char*)"true", NULL};
    execve("/bin/true", argv, environ);
    char* argv2[] = {(char*)"sh", (char*)"-c", (char*)"exit 0", NULL};
    execve("/bin/sh", argv2, environ);
    _exit(99);
  }
  int st = 0;
  waitpid(c, &st, 0);
  p_control(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exec of a guest program", "status %d", st);
  const char* prefixes[] = {"",        "/proc/self/root", "/proc/..",
                            "/dev/..", "/sys/..",         "/proc/self/cwd" UP16};
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; ++i) {
    const char* label = *prefixes[i] ? prefixes[i] : "plain host path";
    exec_in_child(label, hp(prefixes[i], "host/hostbin"));
    int dir = open(hp(prefixes[i], "host"), O_PATH | O_DIRECTORY);
    ATT(dir, "%s open(host dir, O_PATH)", label);
    if (dir >= 0) {
      execveat_child(label, dir, "hostbin", 0);
      close(dir);
    }
    int f = open(hp(prefixes[i], "host/hostbin"), O_PATH);
    ATT(f, "%s open(hostbin, O_PATH)", label);
    if (f >= 0) {
      execveat_child(label, f, "", AT_EMPTY_PATH);
      exec_in_child(label, p_strf("/proc/self/fd/%d", f));
      close(f);
    }
  }
  // The host's own programs through magic links: the supervisor's and ocibuild's executable.
  pid_t a[4];
  int n = ancestors(a, 4);
  for (int i = 0; i < n && i < 2; ++i)
    exec_in_child("proc/<ancestor>/exe", p_strf("/proc/%d/exe", (int)a[i]));
  p_end();
}
