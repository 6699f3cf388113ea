#include "builder/git_source.h"

#include "dockerfile-parser/path_match.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild::builder {
namespace {

std::string WithoutFragment(std::string_view src) {
  return std::string(src.substr(0, src.find('#')));
}

// Runs git without prompts or the user's configuration getting in the way.
Result<std::string> Git(const std::vector<std::string>& args, const std::string& what) {
  std::vector<std::string> argv = {"git", "-c", "advice.detachedHead=false"};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions o;
  o.extra_env = {{"GIT_TERMINAL_PROMPT", "0"}, {"GIT_CONFIG_NOSYSTEM", "1"}, {"LC_ALL", "C"}};
  auto r = RunProcess(argv, o);
  if (!r.ok()) return r.error().Context(what + ": running git (is it installed?)");
  if (!r->success())
    return Error{what + ": git " + args.front() + " failed: " + std::string(TrimSpace(r->err))};
  return r->out;
}

bool IsCommitId(const std::string& s) {
  return s.size() == 40 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

bool IsGitSource(std::string_view src) {
  std::string base = WithoutFragment(src);
  if (StartsWith(base, "git://") || StartsWith(base, "ssh://") || StartsWith(base, "git@"))
    return true;
  if (!StartsWith(base, "http://") && !StartsWith(base, "https://")) return false;
  base = base.substr(0, base.find('?'));
  while (EndsWith(base, "/")) base.pop_back();
  return EndsWith(base, ".git");
}

GitSource ParseGitSource(std::string_view src) {
  GitSource g;
  g.url = WithoutFragment(src);
  size_t hash = src.find('#');
  if (hash != std::string_view::npos) {
    auto [ref, subdir] = SplitOnce(src.substr(hash + 1), ':');
    g.ref = ref;
    g.subdir = subdir;
  }
  return g;
}

Result<std::string> ResolveGitCommit(const GitSource& src) {
  if (IsCommitId(src.ref)) return src.ref;
  std::string ref = src.ref.empty() ? "HEAD" : src.ref;
  OCIB_ASSIGN_OR_RETURN(std::string out,
                        Git({"ls-remote", src.url, ref}, "ADD " + src.url + "#" + src.ref));
  // Prefer an exact match (refs/heads/X, refs/tags/X; a peeled tag's ^{} names the commit).
  std::string found;
  for (const auto& line : Split(out, '\n')) {
    auto [id, name] = SplitOnce(line, '\t');
    if (!IsCommitId(id)) continue;
    if (name == "refs/tags/" + ref + "^{}") return id;
    if (found.empty() || name == ref || name == "refs/heads/" + ref) found = id;
  }
  if (found.empty()) return Error{"ADD " + src.url + ": no ref named \"" + ref + "\""};
  return found;
}

Result<GitCheckout> FetchGit(const GitSource& src, const std::string& commit, bool keep_git_dir,
                             const std::string& work_dir) {
  OCIB_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("git-", work_dir));
  std::string repo = JoinPath(dir.path(), "repo");
  std::string what = "ADD " + src.url;
  OCIB_TRY(Git({"init", "-q", repo}, what));
  // Fetch exactly the commit when the server allows it; dumb HTTP and older servers only serve
  // refs, so fall back to everything and pick the commit locally.
  auto shallow = Git({"-C", repo, "fetch", "-q", "--depth", "1", src.url, commit}, what);
  if (!shallow.ok()) {
    OCIB_TRY(Git({"-C", repo, "fetch", "-q", src.url, "+refs/heads/*:refs/remotes/origin/*",
                  "+refs/tags/*:refs/tags/*"},
                 what));
  }
  OCIB_TRY(Git({"-C", repo, "checkout", "-q", "--detach", commit}, what));
  if (!keep_git_dir) {
    OCIB_TRY(RemoveAll(JoinPath(repo, ".git")));
  } else {
    // Point the kept repository at its origin and the ref, as BuildKit leaves it.
    OCIB_TRY(Git({"-C", repo, "remote", "add", "origin", src.url}, what));
  }
  // The subdirectory is resolved in-root by the copy, so a symlink cannot lead out of the clone.
  std::string sub = dockerfile::CleanPath("/" + src.subdir);
  GitCheckout out{std::move(dir), repo, sub == "/" ? "." : sub.substr(1)};
  return out;
}

}  // namespace ocibuild::builder
