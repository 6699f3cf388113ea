// ADD <git repository>: `ADD https://host/repo.git#ref:subdir /dst` (also git://, ssh://,
// git@host:path), with the `git` command line client. The ref is resolved to a commit first
// (`git ls-remote`), and that commit is the step's cache key, so an unchanged branch costs one
// round trip and no clone.
#pragma once

#include <string>

#include "util/fs.h"
#include "util/result.h"

namespace ocibuild::builder {

struct GitSource {
  std::string url;     // without the fragment
  std::string ref;     // branch, tag or commit; empty: the remote's HEAD
  std::string subdir;  // "" or a path inside the repository
};

// BuildKit's rule: git://, ssh://, git@ sources, and http(s) URLs whose path ends in ".git".
bool IsGitSource(std::string_view src);
GitSource ParseGitSource(std::string_view src);

// The commit `src.ref` names on the remote (a full commit id is taken as it is).
Result<std::string> ResolveGitCommit(const GitSource& src);

struct GitCheckout {
  TempDir dir;       // owns the clone
  std::string repo;  // the work tree
  std::string rel;   // what to copy, relative to `repo`: "." or the subdir
};

// Clones `src.url` under `work_dir` and checks out `commit`; without `keep_git_dir` the .git
// directory is removed (BuildKit's default).
Result<GitCheckout> FetchGit(const GitSource& src, const std::string& commit, bool keep_git_dir,
                             const std::string& work_dir);

}  // namespace ocibuild::builder
