#include "builder/remote_context.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include "builder/git_source.h"
#include "builder/url_fetch.h"
#include "oci/layer_applier.h"
#include "oci/metastore.h"
#include "util/strings.h"

namespace ocibuild::builder {
namespace {

// The newest regular file's mtime in the archive at `path`; none when it is no archive.
std::optional<int64_t> ArchiveMaxTime(const std::string& path) {
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_filter_all(a);
  std::optional<int64_t> max;
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) == ARCHIVE_OK) {
    archive_entry* e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
      if (archive_entry_filetype(e) != AE_IFREG) continue;
      int64_t t = archive_entry_mtime(e);
      if (!max || t > *max) max = t;
    }
    if (r != ARCHIVE_EOF) max.reset();
  }
  archive_read_free(a);
  return max;
}

// `path` holds a tar archive (any compression) rather than a text file.
bool IsArchive(const std::string& path) {
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  archive_read_support_filter_all(a);
  bool ok = false;
  if (archive_read_open_filename(a, path.c_str(), 1 << 16) == ARCHIVE_OK) {
    archive_entry* e;
    int r = archive_read_next_header(a, &e);
    ok = r == ARCHIVE_OK || r == ARCHIVE_EOF;
    // An empty or text file is not a tar: libarchive calls it EOF only for a real empty tar.
    if (r == ARCHIVE_EOF) ok = archive_format(a) != 0;
  }
  archive_read_free(a);
  return ok;
}

// A fetched file as a context: an archive is extracted, anything else is the Dockerfile.
Result<LocalContext> FromFile(const std::string& file, TempDir dir) {
  LocalContext c;
  c.root = JoinPath(dir.path(), "context");
  OCIB_TRY(MakeDirs(c.root, 0755));
  if (IsArchive(file)) {
    oci::MetaStore store;  // owners do not matter: context files are copied as root's
    auto applied = oci::ApplyLayerFile(c.root, store, file);
    if (!applied.ok()) return applied.error().Context("extracting the build context");
  } else {
    OCIB_ASSIGN_OR_RETURN(std::string text, ReadFile(file));
    c.dockerfile = std::move(text);
  }
  c.dir = std::move(dir);
  return c;
}

}  // namespace

bool IsRemoteContext(std::string_view spec) {
  return spec == "-" || IsGitSource(spec) || StartsWith(spec, "http://") ||
         StartsWith(spec, "https://");
}

Result<LocalContext> FetchRemoteContext(const std::string& spec, const std::string& work_dir,
                                        int stdin_fd) {
  OCIB_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("context-", work_dir));
  if (spec == "-") {
    std::string file = JoinPath(dir.path(), "stdin");
    {
      OCIB_ASSIGN_OR_RETURN(UniqueFd out, OpenFile(file, O_WRONLY | O_CREAT | O_TRUNC, 0600));
      OCIB_TRY(CopyFileData(stdin_fd, out.get(), "the build context on stdin"));
    }
    auto c = FromFile(file, std::move(dir));
    if (c.ok()) c->epoch = ArchiveMaxTime(file);
    return c;
  }
  if (IsGitSource(spec)) {
    OCIB_ASSIGN_OR_RETURN(GitSource g, ParseGitSource(spec));
    OCIB_ASSIGN_OR_RETURN(std::string commit, ResolveGitCommit(g, g.checksum));
    // The context is the repository's tree (its subdirectory after "#ref:"); the Dockerfile
    // is read from it.
    GitSource whole = g;
    OCIB_ASSIGN_OR_RETURN(GitCheckout co,
                          FetchGit(whole, commit, g.keep_git_dir.value_or(false), dir.path()));
    LocalContext c;
    c.root = co.rel == "." ? co.repo : JoinPath(co.repo, co.rel);
    if (!PathExists(c.root)) return Error{"git context " + spec + ": no directory " + co.rel};
    c.epoch = co.commit_time;
    // The checkout's TempDir lives inside `dir`; keep both alive with the context.
    c.dir = std::move(dir);
    (void)co.dir.Release();
    return c;
  }
  OCIB_ASSIGN_OR_RETURN(FetchedUrl f, FetchUrl(spec, "", dir.path()));
  std::string file = f.path;
  auto c = FromFile(file, std::move(dir));
  if (!c.ok()) return c;
  c->epoch = f.last_modified ? f.last_modified : ArchiveMaxTime(file);
  if (c->dockerfile && !f.last_modified) c->epoch.reset();
  return c;
}

Result<std::optional<int64_t>> RemoteSourceEpoch(const std::string& src,
                                                 const std::string& checksum,
                                                 const std::string& work_dir) {
  OCIB_ASSIGN_OR_RETURN(TempDir dir, TempDir::Create("epoch-", work_dir));
  if (IsGitSource(src)) {
    OCIB_ASSIGN_OR_RETURN(GitSource g, ParseGitSource(src));
    OCIB_ASSIGN_OR_RETURN(std::string commit,
                          ResolveGitCommit(g, checksum.empty() ? g.checksum : checksum));
    OCIB_ASSIGN_OR_RETURN(GitCheckout co, FetchGit(g, commit, false, dir.path()));
    return std::optional<int64_t>(co.commit_time);
  }
  OCIB_ASSIGN_OR_RETURN(FetchedUrl f, FetchUrl(src, checksum, dir.path()));
  if (f.last_modified) return std::optional<int64_t>(*f.last_modified);
  return ArchiveMaxTime(f.path);
}

}  // namespace ocibuild::builder
