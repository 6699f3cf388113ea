// Paths inside a rootfs directory that can never escape it.
//
// A RootDir holds an O_PATH fd of the root. Every lookup resolves beneath it with openat2
// RESOLVE_IN_ROOT (or the equivalent userspace walk when openat2 is refused), so "..", absolute
// paths and symlinks -- including absolute ones such as usrmerge's "/lib -> usr/lib" -- resolve
// as they would after chroot(root). Operations on an entry resolve its *parent* in-root and
// handle the final component with *at() calls and no-follow flags, so a symlink at the final
// component is acted on, never through.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"
#include "util/sys/openat2.h"

namespace ocibuild::oci {

// Lexically cleans an archive path: strips leading "/" and "./", collapses "//" and ".",
// applies ".." to the preceding component. Returns "" for the root itself. A ".." that would
// climb above the root is an error ("path escapes the root").
Result<std::string> CleanPath(std::string_view path);
// The same, except that ".." at the root stays at the root (how the kernel resolves symlink
// targets under RESOLVE_IN_ROOT).
std::string ClampPath(std::string_view path);

// Splits a clean path into (directory, final component); the directory is "" at top level.
std::pair<std::string_view, std::string_view> SplitParent(std::string_view clean);

class RootDir {
 public:
  // `method` forces a resolution method (tests); by default openat2 when it works here.
  static Result<RootDir> Open(const std::string& path,
                              std::optional<sys::InRootMethod> method = std::nullopt);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  sys::InRootMethod method() const { return method_; }

  // open(2) of `rel` resolved in-root. O_NOFOLLOW affects the final component only.
  Result<UniqueFd> OpenAt(std::string_view rel, int flags, mode_t mode = 0) const;

  struct Parent {
    UniqueFd dir;      // O_PATH fd of the resolved parent directory
    std::string name;  // final component; "" when `rel` is the root itself
  };
  // Resolves the directory part of the clean path `rel` in-root. With `create`, missing
  // directories are made (mode `dir_mode`) one component at a time, each resolved in-root.
  Result<Parent> OpenParent(std::string_view rel, bool create = false,
                            mode_t dir_mode = 0755) const;
  // Opens (creating when missing) the directory `rel`; O_PATH fd.
  Result<UniqueFd> MkdirAll(std::string_view rel, mode_t dir_mode = 0755) const;

 private:
  Result<UniqueFd> MkdirAllDepth(std::string_view rel, mode_t dir_mode, int depth) const;
  RootDir(UniqueFd fd, std::string path, sys::InRootMethod m)
      : fd_(std::move(fd)), path_(std::move(path)), method_(m) {}
  UniqueFd fd_;
  std::string path_;
  sys::InRootMethod method_;
};

}  // namespace ocibuild::oci
