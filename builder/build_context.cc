#include "builder/build_context.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "dockerfile-parser/path_match.h"
#include "oci/safe_path.h"
#include "oci/snapshot.h"
#include "util/fs.h"
#include "util/sha256.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

std::string CleanRel(std::string_view p) {
  std::string c = dockerfile::CleanPath(p);
  while (!c.empty() && c[0] == '/') c.erase(0, 1);
  return c.empty() ? "." : c;
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "." ? name : dir + "/" + name;
}

Result<std::vector<std::string>> ListDir(const oci::RootDir& root, const std::string& rel) {
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd, root.OpenAt(rel == "." ? "" : rel, O_PATH | O_DIRECTORY));
  OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(fd.get(), "/" + rel));
  std::sort(names.begin(), names.end());
  return names;
}

// lstat (follow=false) or stat (follow=true, in-root) of a context path.
Result<struct stat> StatIn(const oci::RootDir& root, const std::string& rel, bool follow) {
  OCIB_ASSIGN_OR_RETURN(UniqueFd fd,
                        root.OpenAt(rel == "." ? "" : rel, O_PATH | (follow ? 0 : O_NOFOLLOW)));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return SysError("stat", rel);
  return st;
}

}  // namespace

Result<BuildContext> BuildContext::Open(const std::string& dir,
                                        const std::string& dockerfile_path) {
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return SysError("build context", dir);
  if (!S_ISDIR(st.st_mode)) return Error{"build context " + dir + ": not a directory"};
  BuildContext ctx;
  ctx.dir_ = dir;
  std::string beside = dockerfile_path + ".dockerignore";
  ctx.ignore_file_ = PathExists(beside) ? beside : JoinPath(dir, ".dockerignore");
  OCIB_ASSIGN_OR_RETURN(ctx.ignore_, dockerfile::Dockerignore::Load(ctx.ignore_file_));
  return ctx;
}

Result<std::vector<SourceMatch>> ResolveSource(
    const oci::RootDir& root, std::string_view source,
    const std::function<bool(std::string_view)>& ignored,
    const std::function<Error(const std::string& rel)>& not_found) {
  std::string pattern = CleanRel(source);
  std::vector<SourceMatch> out;
  if (!dockerfile::HasPathMeta(pattern)) {
    if (ignored(pattern)) return not_found(pattern);
    auto st = StatIn(root, pattern, true);
    if (!st.ok()) {
      if (st.error().sys_errno == ENOENT || st.error().sys_errno == ENOTDIR)
        return not_found(pattern);
      return std::move(st).error();
    }
    out.push_back(SourceMatch{pattern, S_ISDIR(st->st_mode), std::nullopt});
    return out;
  }
  if (Status v = dockerfile::ValidatePathPattern(pattern); !v.ok())
    return Error{"invalid source pattern \"" + std::string(source) + "\": " + v.error().message};
  // Match component by component, so "*/*.txt" only lists the directories it must.
  std::vector<std::string> parts = Split(pattern, '/');
  std::vector<std::string> frontier = {"."};
  for (size_t i = 0; i < parts.size(); ++i) {
    std::vector<std::string> next;
    bool last = i + 1 == parts.size();
    for (const auto& dir : frontier) {
      if (!dockerfile::HasPathMeta(parts[i])) {
        std::string cand = Join(dir, parts[i]);
        if (StatIn(root, cand, true).ok() && !ignored(cand)) next.push_back(cand);
        continue;
      }
      auto names = ListDir(root, dir);
      if (!names.ok()) continue;  // not a directory: nothing below it matches
      for (const auto& n : *names) {
        OCIB_ASSIGN_OR_RETURN(bool m, dockerfile::PathMatch(parts[i], n));
        std::string cand = Join(dir, n);
        if (!m || ignored(cand)) continue;
        if (!last) {
          auto st = StatIn(root, cand, true);
          if (!st.ok() || !S_ISDIR(st->st_mode)) continue;
        }
        next.push_back(cand);
      }
    }
    frontier = std::move(next);
  }
  for (const auto& rel : frontier) {
    OCIB_ASSIGN_OR_RETURN(struct stat st, StatIn(root, rel, true));
    out.push_back(SourceMatch{rel, S_ISDIR(st.st_mode), std::nullopt});
  }
  return out;
}

Result<std::vector<SourceMatch>> ResolveParentsSource(
    const oci::RootDir& root, std::string_view source,
    const std::function<bool(std::string_view)>& ignored,
    const std::function<Error(const std::string& rel)>& not_found) {
  std::string src(source);
  std::string parent = "/", pattern = src;
  if (size_t pivot = src.find("/./"); pivot != std::string::npos) {
    parent = src.substr(0, pivot);
    pattern = src.substr(pivot + 3);
  }
  std::string include = CleanRel(pattern);
  std::string dir = CleanRel(parent);
  bool wild = dockerfile::HasPathMeta(dir) || dockerfile::HasPathMeta(include);
  std::vector<SourceMatch> out;
  if (!wild) {
    std::string full = include == "." ? dir : Join(dir, include);
    if (ignored(full)) return not_found(full);
    auto st = StatIn(root, full, true);
    if (!st.ok()) {
      if (st.error().sys_errno == ENOENT || st.error().sys_errno == ENOTDIR) return not_found(full);
      return std::move(st).error();
    }
  }
  std::vector<SourceMatch> roots;
  if (dockerfile::HasPathMeta(dir)) {
    OCIB_ASSIGN_OR_RETURN(roots, ResolveSource(root, dir, ignored, not_found));
  } else {
    auto st = StatIn(root, dir, true);
    if (st.ok()) roots.push_back(SourceMatch{dir, S_ISDIR(st->st_mode), std::nullopt});
  }
  for (auto& r : roots) {
    if (!r.is_dir) continue;
    r.include = include;
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<SourceMatch>> BuildContext::Resolve(std::string_view source,
                                                       bool parents) const {
  OCIB_ASSIGN_OR_RETURN(oci::RootDir root, oci::RootDir::Open(dir_));
  auto ignored = [this](std::string_view rel) { return Ignored(rel); };
  auto not_found = [this](const std::string& rel) {
    return Error{"\"/" + std::string(rel == "." ? "" : rel) + "\": not found in the build context" +
                     (ignore_.empty() ? "" : " (or excluded by " + ignore_file_ + ")"),
                 ENOENT};
  };
  if (parents) return ResolveParentsSource(root, source, ignored, not_found);
  return ResolveSource(root, source, ignored, not_found);
}

Result<std::vector<std::string>> BuildContext::Walk(const std::string& rel) const {
  OCIB_ASSIGN_OR_RETURN(auto entries, WalkStat(rel));
  std::vector<std::string> out;
  out.reserve(entries.size());
  for (auto& e : entries) out.push_back(std::move(e.first));
  return out;
}

Result<std::vector<std::pair<std::string, struct stat>>> BuildContext::WalkStat(
    const std::string& rel) const {
  OCIB_ASSIGN_OR_RETURN(oci::RootDir root, oci::RootDir::Open(dir_));
  std::vector<std::pair<std::string, struct stat>> out;
  // Below the walk's root every entry is an lstat relative to its directory's descriptor: one
  // call per file (a context of 20,000 files was 3 calls each, twice, for every build).
  std::function<Status(const std::string&, const struct stat&, int)> visit =
      [&](const std::string& cur, const struct stat& st, int dir_fd) -> Status {
    bool ignored = Ignored(cur);
    if (!ignored) out.emplace_back(cur, st);
    if (!S_ISDIR(st.st_mode)) return Ok();
    if (ignored && !ignore_.MayHaveExceptionsUnder(cur)) return Ok();
    OCIB_ASSIGN_OR_RETURN(std::vector<std::string> names, ReadDirNames(dir_fd, "/" + cur));
    std::sort(names.begin(), names.end());
    for (const auto& n : names) {
      std::string child = Join(cur, n);
      struct stat cst;
      if (::fstatat(dir_fd, n.c_str(), &cst, AT_SYMLINK_NOFOLLOW) != 0)
        return SysError("lstat", JoinPath(dir_, child));
      if (!S_ISDIR(cst.st_mode)) {
        if (!Ignored(child)) out.emplace_back(child, cst);
        continue;
      }
      // Never a symlink (O_NOFOLLOW): a directory swapped for one meanwhile fails the walk.
      UniqueFd sub(::openat(dir_fd, n.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) return SysError("open", JoinPath(dir_, child));
      OCIB_TRY(visit(child, cst, sub.get()));
    }
    return Ok();
  };
  // The walk's root is followed in-root (a COPY source naming a symlink names its target).
  OCIB_ASSIGN_OR_RETURN(struct stat st, StatIn(root, rel, true));
  UniqueFd top;
  if (S_ISDIR(st.st_mode)) {
    OCIB_ASSIGN_OR_RETURN(top, root.OpenAt(rel == "." ? "" : rel, O_PATH | O_DIRECTORY));
  }
  OCIB_TRY(visit(rel, st, top.get()));
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void BuildContext::UseHashFile(const std::string& file) {
  hashes_ = std::make_shared<ContextHashCache>(file);
}

Result<std::string> BuildContext::Digest(const std::vector<SourceMatch>& matches,
                                         const std::vector<std::string>& excludes) const {
  OCIB_ASSIGN_OR_RETURN(oci::RootDir root, oci::RootDir::Open(dir_));
  std::optional<dockerfile::Dockerignore> ex;
  if (!excludes.empty()) {
    OCIB_ASSIGN_OR_RETURN(auto ig, dockerfile::Dockerignore::FromPatterns(excludes));
    ex = std::move(ig);
  }
  Sha256 h;
  for (const auto& m : matches) {
    // Before every lstat of the walk: what the racy rule compares file times with.
    int64_t stat_ns = ContextHashCache::Now();
    OCIB_ASSIGN_OR_RETURN(auto paths, WalkStat(m.rel));
    std::optional<dockerfile::Dockerignore> inc;
    if (m.include) {
      OCIB_ASSIGN_OR_RETURN(auto ig, dockerfile::Dockerignore::FromPatterns({*m.include}));
      inc = std::move(ig);
      h.Update("include:" + *m.include + "\n");
    }
    for (const auto& [p, st] : paths) {
      std::string below = p == m.rel ? "." : (m.rel == "." ? p : p.substr(m.rel.size() + 1));
      if (ex && below != "." && ex->Matches(below)) continue;
      if (inc && (below == "." || !inc->Matches(below))) continue;
      std::string rec = p + '\0' + std::to_string(st.st_mode & 07777) + '\0';
      if (S_ISDIR(st.st_mode)) {
        rec += "dir";
      } else if (S_ISLNK(st.st_mode)) {
        char buf[4096];
        OCIB_ASSIGN_OR_RETURN(oci::RootDir::Parent parent, root.OpenParent(p));
        ssize_t n = ::readlinkat(parent.dir.get(), parent.name.c_str(), buf, sizeof buf);
        if (n < 0) return SysError("readlink", JoinPath(dir_, p));
        rec += "link:" + std::string(buf, static_cast<size_t>(n));
      } else if (S_ISREG(st.st_mode)) {
        // The stamp is of the file read: with `follow`, the symlink's target.
        FileStamp stamp = FileStamp::Of(st);
        std::optional<std::string> hex = hashes_->Find(p, stamp);
        if (!hex) {
          // A source argument naming a symlink names the file it points to.
          OCIB_ASSIGN_OR_RETURN(std::string h, oci::HashFileInRoot(root, p, p == m.rel));
          hashes_->Record(p, stamp, h, stat_ns);
          hex = std::move(h);
        }
        rec += "file:" + *hex;
      } else {
        rec += "special:" + std::to_string(st.st_mode & S_IFMT);
      }
      h.Update(rec);
      h.Update("\n", 1);
    }
  }
  return "sha256:" + h.FinishHex();
}

}  // namespace ocibuild::builder
