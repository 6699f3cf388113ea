#include "builder/git_source.h"

#include <unistd.h>

#include <cstdlib>

#include "dockerfile-parser/path_match.h"
#include "dockerfile-parser/run_mount.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild::builder {
namespace {

// Runs git without prompts or the user's configuration getting in the way.
Result<std::string> Git(const std::vector<std::string>& args, const std::string& what) {
  std::vector<std::string> argv = {"git", "-c", "advice.detachedHead=false", "-c",
                                   "protocol.file.allow=never"};
  argv.insert(argv.end(), args.begin(), args.end());
  SpawnOptions o;
  o.extra_env = {{"GIT_TERMINAL_PROMPT", "0"}, {"GIT_CONFIG_NOSYSTEM", "1"}, {"LC_ALL", "C"}};
  auto r = RunProcess(argv, o);
  if (!r.ok()) return r.error().Context(what + ": running git (is it installed?)");
  if (!r->success())
    return Error{what + ": git " + args.front() + " failed: " + std::string(TrimSpace(r->err))};
  return r->out;
}

bool IsHex(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789abcdefABCDEF") == std::string::npos;
}

// A full commit id: SHA-1 or SHA-256 object format.
bool IsCommitId(const std::string& s) {
  return (s.size() == 40 || s.size() == 64) && IsHex(s);
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

Result<std::optional<bool>> QueryBool(const std::string& key, const std::optional<std::string>& v) {
  if (!v) return std::optional<bool>(true);
  auto b = dockerfile::ParseGoBool(*v);
  if (!b) return Error{"invalid " + key + " value: \"" + *v + "\""};
  return std::optional<bool>(*b);
}

}  // namespace

bool IsGitSource(std::string_view src) {
  std::string base(src.substr(0, src.find('#')));
  if (StartsWith(base, "git://") || StartsWith(base, "ssh://") || StartsWith(base, "git@"))
    return true;
  if (!StartsWith(base, "http://") && !StartsWith(base, "https://")) return false;
  base = base.substr(0, base.find('?'));
  while (EndsWith(base, "/")) base.pop_back();
  return EndsWith(base, ".git");
}

Result<GitSource> ParseGitSource(std::string_view src) {
  GitSource g;
  std::string s(src);
  std::string fragment;
  if (size_t hash = s.find('#'); hash != std::string::npos) {
    fragment = s.substr(hash + 1);
    s = s.substr(0, hash);
  }
  std::string query;
  if (size_t q = s.find('?'); q != std::string::npos) {
    query = s.substr(q + 1);
    s = s.substr(0, q);
  }
  g.url = s;
  if (!fragment.empty()) {
    auto [ref, subdir] = SplitOnce(fragment, ':');
    g.ref = ref;
    std::string clean = dockerfile::CleanPath("/" + subdir);
    g.subdir = clean == "/" ? "" : clean.substr(1);
  }
  // BuildKit's query parameters (dfgitutil): ref, branch, tag, commit/checksum, subdir,
  // keep-git-dir and submodules (a bare name means true).
  std::string tag, branch;
  for (const auto& pair : Split(query, '&')) {
    if (pair.empty()) continue;
    bool has_eq = false;
    auto [k, raw] = SplitOnce(pair, '=', &has_eq);
    std::string key = PercentDecode(k);
    std::optional<std::string> v;
    if (has_eq && !raw.empty()) v = PercentDecode(raw);
    if (!v && key != "submodules" && key != "keep-git-dir" && key != "fetch-by-commit")
      return Error{"query \"" + key + "\" has no value"};
    if (key == "ref") {
      if (!g.ref.empty() && g.ref != *v)
        return Error{"ref conflicts: \"" + g.ref + "\" vs \"" + *v + "\""};
      g.ref = *v;
    } else if (key == "tag") {
      tag = *v;
    } else if (key == "branch") {
      branch = *v;
    } else if (key == "subdir") {
      std::string clean = dockerfile::CleanPath("/" + *v);
      std::string sd = clean == "/" ? "" : clean.substr(1);
      if (!g.subdir.empty() && g.subdir != sd)
        return Error{"subdir conflicts: \"" + g.subdir + "\" vs \"" + sd + "\""};
      g.subdir = sd;
    } else if (key == "commit" || key == "checksum") {
      g.checksum = *v;
    } else if (key == "keep-git-dir") {
      OCIB_ASSIGN_OR_RETURN(g.keep_git_dir, QueryBool(key, v));
    } else if (key == "submodules") {
      OCIB_ASSIGN_OR_RETURN(g.submodules, QueryBool(key, v));
    } else if (key == "fetch-by-commit") {
      OCIB_ASSIGN_OR_RETURN(auto b, QueryBool(key, v));
      (void)b;  // ocibuild fetches by commit when the server allows it anyway
    } else {
      return Error{"unexpected query \"" + key + "\""};
    }
  }
  if (!tag.empty()) {
    if (!StartsWith(tag, "refs/tags/")) tag = "refs/tags/" + tag;
    if (!g.ref.empty() && g.ref != tag)
      return Error{"ref conflicts: \"" + g.ref + "\" vs \"" + tag + "\""};
    g.ref = tag;
  }
  if (!branch.empty()) {
    if (!tag.empty()) return Error{"branch conflicts with tag"};
    if (!StartsWith(branch, "refs/heads/")) branch = "refs/heads/" + branch;
    if (!g.ref.empty() && g.ref != branch)
      return Error{"ref conflicts: \"" + g.ref + "\" vs \"" + branch + "\""};
    g.ref = branch;
  }
  return g;
}

Result<std::string> ResolveGitCommit(const GitSource& src, const std::string& checksum) {
  std::string what = "ADD " + src.url;
  if (!checksum.empty() && !IsHex(checksum))
    return Error{"invalid checksum " + checksum + " for Git URL, expected hex commit hash"};
  auto check = [&](const std::string& commit) -> Result<std::string> {
    if (!checksum.empty() && !StartsWith(commit, ToLower(checksum)))
      return Error{"expected checksum to match " + checksum + ", got " + commit};
    return commit;
  };
  if (IsCommitId(src.ref)) return check(ToLower(src.ref));
  std::string ref = src.ref;
  if (ref.empty()) {
    // The remote's default branch, as its HEAD names it.
    OCIB_ASSIGN_OR_RETURN(std::string out, Git({"ls-remote", "--symref", src.url, "HEAD"}, what));
    for (const auto& line : Split(out, '\n')) {
      if (!StartsWith(line, "ref: ")) continue;
      ref = SplitOnce(line.substr(5), '\t').first;
      break;
    }
    if (ref.empty()) ref = "HEAD";
  }
  OCIB_ASSIGN_OR_RETURN(std::string out, Git({"ls-remote", "--", src.url, ref, ref + "^{}"}, what));
  // BuildKit's choice: the exact refs/... name, else the branch, else the tag (a peeled
  // annotated tag also matches a checksum).
  auto trim = [&](std::string_view prefix) {
    return StartsWith(ref, prefix) ? ref.substr(prefix.size()) : ref;
  };
  std::string partial = "refs/" + trim("refs/"), head = "refs/heads/" + trim("refs/heads/"),
              tag = "refs/tags/" + trim("refs/tags/"), peeled = tag + "^{}";
  std::string sha, head_sha, tag_sha, peeled_sha;
  for (const auto& line : Split(out, '\n')) {
    auto [id, name] = SplitOnce(line, '\t');
    if (name == head) head_sha = id;
    if (name == tag) tag_sha = id;
    if (name == peeled) peeled_sha = id;
    if (name == partial || (ref == "HEAD" && name == "HEAD")) sha = id;
  }
  if (sha.empty()) sha = head_sha;
  if (!sha.empty()) peeled_sha.clear();
  if (sha.empty()) sha = tag_sha;
  if (sha.empty()) return Error{"repository does not contain ref " + ref};
  if (!IsCommitId(sha)) return Error{"invalid commit sha \"" + sha + "\""};
  if (!checksum.empty() && !StartsWith(sha, ToLower(checksum)) &&
      !(!peeled_sha.empty() && StartsWith(peeled_sha, ToLower(checksum))))
    return Error{"expected checksum to match " + checksum + ", got " + sha};
  // An annotated tag: the commit it points to is what gets checked out.
  return peeled_sha.empty() ? sha : peeled_sha;
}

Result<GitCheckout> FetchGit(const GitSource& src, const std::string& commit, bool keep_git_dir,
                             const std::string& work_dir) {
  OCIB_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("git-", work_dir));
  std::string repo = JoinPath(dir.path(), "repo");
  std::string what = "ADD " + src.url;
  // A 64-digit commit id is a SHA-256 repository: the local one must use that format too.
  if (commit.size() == 64) {
    OCIB_TRY(Git({"init", "-q", "--object-format=sha256", repo}, what));
  } else {
    OCIB_TRY(Git({"init", "-q", repo}, what));
  }
  // Fetch exactly the commit when the server allows it; dumb HTTP and older servers only serve
  // refs, so fall back to everything and pick the commit locally.
  auto shallow = Git({"-C", repo, "fetch", "-q", "--depth", "1", src.url, commit}, what);
  if (!shallow.ok()) {
    OCIB_TRY(Git({"-C", repo, "fetch", "-q", src.url, "+refs/heads/*:refs/remotes/origin/*",
                  "+refs/tags/*:refs/tags/*"},
                 what));
  }
  OCIB_TRY(Git({"-C", repo, "checkout", "-q", "--detach", commit}, what));
  OCIB_ASSIGN_OR_RETURN(std::string when,
                        Git({"-C", repo, "show", "-s", "--format=%ct", commit}, what));
  int64_t commit_time = std::atoll(std::string(TrimSpace(when)).c_str());
  std::vector<std::string> submodules;
  if (src.submodules.value_or(true)) {
    // Submodules come from the URLs .gitmodules gives (never local paths).
    OCIB_TRY(Git({"-C", repo, "submodule", "update", "-q", "--init", "--recursive"}, what));
    OCIB_ASSIGN_OR_RETURN(std::string paths, Git({"-C", repo, "submodule", "foreach", "-q",
                                                  "--recursive", "echo \"$displaypath\""},
                                                 what));
    for (const auto& p : Split(paths, '\n'))
      if (!p.empty()) submodules.push_back(p);
  }
  if (!keep_git_dir) {
    // No repository left behind: neither the top one nor the submodules' links to it.
    for (const auto& p : submodules) (void)::unlink(JoinPath(repo, p + "/.git").c_str());
    OCIB_TRY(RemoveAll(JoinPath(repo, ".git")));
  } else {
    // Point the kept repository at its origin and the ref, as BuildKit leaves it.
    OCIB_TRY(Git({"-C", repo, "remote", "add", "origin", src.url}, what));
  }
  // The subdirectory is resolved in-root by the copy, so a symlink cannot lead out of the clone.
  GitCheckout out{std::move(dir), repo, src.subdir.empty() ? "." : src.subdir, commit_time};
  return out;
}

}  // namespace ocibuild::builder
