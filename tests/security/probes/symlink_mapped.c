// Class 1 through symlinks: links made by the step whose targets lead into mapped prefixes or
// climb with `..`; the sandbox must resolve them inside the rootfs at every hop.
#include "escape_ops.h"

#define UP16 "/../../../../../../../../../../../../../../../.."

int main(void) {
  p_start();
  T();
  mkdir("/tmp", 01777);
  if (chdir("/") != 0) return 1;
  struct {
    const char* link;
    const char* target;
  } links[] = {
      {"/tmp/l-root", "/proc/self/root"},
      {"/tmp/l-cwd", "/proc/self/cwd" UP16},
      {"/tmp/l-rel", "../../../../../../../../proc/self/root"},
      {"/tmp/l-procdot", "/proc/.."},
      {"/tmp/l-devdot", "/dev/.."},
      {"/tmp/l-chain", "/tmp/l-root"},
      {"/tmp/l-up", "../../../../../../../../../../../../../../../.."},
  };
  for (size_t i = 0; i < sizeof links / sizeof *links; ++i)
    ATT(symlink(links[i].target, links[i].link), "symlink(%s -> %s)", links[i].link,
        links[i].target);
  char b[16];
  p_control(symlink("/bin/busybox", "/tmp/l-ok") == 0 && read_path("/tmp/l-ok", b, sizeof b) > 0,
            "an ordinary absolute symlink works", "");
  escape_matrix("symlink->/proc/self/root", "/tmp/l-root");
  escape_reads("symlink->/proc/self/cwd/..", "/tmp/l-cwd");
  escape_reads("symlink->../proc/self/root", "/tmp/l-rel");
  escape_reads("symlink->/proc/..", "/tmp/l-procdot");
  escape_reads("symlink->/dev/..", "/tmp/l-devdot");
  escape_reads("symlink chain", "/tmp/l-chain");
  escape_matrix("symlink->../..", "/tmp/l-up");
  // A link straight at the host path: must resolve inside the rootfs (where it does not exist).
  char* direct = p_strf("%s/host/secret.txt", T());
  ATT(symlink(direct, "/tmp/l-direct"), "symlink(/tmp/l-direct -> %s)", direct);
  try_read("symlink->host path", "/tmp/l-direct");
  // A directory symlink in the middle of a path given to the kernel for a create.
  char* target = p_strf("/tmp/l-root%s/host/ocib-esc-%s-via-symlink", T(), nonce());
  int f = open(target, O_CREAT | O_WRONLY, 0644);
  ATT(f, "open(%s, O_CREAT)", target);
  p_end();
}
