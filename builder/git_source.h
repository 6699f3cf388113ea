// ADD <git repository>: `ADD https://host/repo.git#ref:subdir /dst` (also git://, ssh://,
// git@host:path), with BuildKit's query form `repo.git?ref=|branch=|tag=|commit=|subdir=|
// keep-git-dir|submodules=`, using the `git` command line client. The ref is resolved to a
// commit first (`git ls-remote`) and checked against --checksum (or ?commit=); that commit is
// the step's cache key, so an unchanged branch costs one round trip and no clone.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "util/fs.h"
#include "util/result.h"

namespace ocibuild::builder {

struct GitSource {
  std::string url;       // without the fragment and the query
  std::string ref;       // branch, tag, refs/... or commit; empty: the remote's default branch
  std::string subdir;    // "" or a path inside the repository
  std::string checksum;  // ?commit= / ?checksum=: a commit id or a prefix of one
  std::optional<bool> keep_git_dir;
  std::optional<bool> submodules;  // default: checked out
};

// BuildKit's rule: git://, ssh://, git@ sources, and http(s) URLs whose path ends in ".git".
bool IsGitSource(std::string_view src);
// The URL's fragment and query, with BuildKit's errors ("ref conflicts: ...", "unexpected
// query ...").
Result<GitSource> ParseGitSource(std::string_view src);

// The commit `src.ref` names on the remote (a full commit id is taken as it is), checked
// against `checksum` when one is given (a hex prefix of the commit, as BuildKit):
//   invalid checksum foobar for Git URL, expected hex commit hash
//   expected checksum to match <checksum>, got <commit>
//   repository does not contain ref <ref>
Result<std::string> ResolveGitCommit(const GitSource& src, const std::string& checksum);

struct GitCheckout {
  TempDir dir;              // owns the clone
  std::string repo;         // the work tree
  std::string rel;          // what to copy, relative to `repo`: "." or the subdir
  int64_t commit_time = 0;  // the commit's committer time (SOURCE_DATE_EPOCH=context)
};

// Clones `src.url` under `work_dir` and checks out `commit` with its submodules (unless
// `src.submodules` is false); without `keep_git_dir` the .git directory is removed (BuildKit's
// default).
Result<GitCheckout> FetchGit(const GitSource& src, const std::string& commit, bool keep_git_dir,
                             const std::string& work_dir);

}  // namespace ocibuild::builder
