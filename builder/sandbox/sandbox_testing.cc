#include "builder/sandbox/sandbox_testing.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>

#include "util/strings.h"
#include "util/subprocess.h"

namespace ocibuild::sandbox::testing {

extern "C" const char ocib_sandbox_probe_start[];
extern "C" const char ocib_sandbox_probe_end[];

std::string_view ProbeBinary() {
  return std::string_view(ocib_sandbox_probe_start,
                          static_cast<size_t>(ocib_sandbox_probe_end - ocib_sandbox_probe_start));
}

namespace {

Status CopyFile(const std::string& from, const std::string& to, int mode) {
  OCIB_ASSIGN_OR_RETURN(std::string data, ReadFile(from));
  OCIB_TRY(WriteFile(to, data, mode));
  if (::chmod(to.c_str(), static_cast<mode_t>(mode)) != 0) return SysError("chmod", to);
  return Ok();
}

}  // namespace

Status MakeBusyboxRootfs(const std::string& dir) {
  for (const char* d : {"bin", "sbin", "usr/bin", "usr/sbin", "etc", "tmp", "root", "home", "dev",
                        "proc", "sys", "var/tmp"})
    OCIB_TRY(MakeDirs(JoinPath(dir, d)));
  // World-writable and sticky, as in any image: a non-root USER creates its files there.
  for (const char* d : {"tmp", "var/tmp"})
    if (::chmod(JoinPath(dir, d).c_str(), 01777) != 0) return SysError("chmod", d);
  const char* bb = std::getenv("OCIBUILD_BUSYBOX");
  std::string busybox = bb ? bb : "/bin/busybox";
  if (!PathExists(busybox)) busybox = "/usr/local/bin/busybox";
  OCIB_TRY(CopyFile(busybox, dir + "/bin/busybox", 0755));
  OCIB_ASSIGN_OR_RETURN(ProcessResult list, RunProcess({busybox, "--list"}));
  for (const std::string& applet : Split(list.out, '\n')) {
    if (applet.empty() || applet == "busybox") continue;
    std::string link = dir + "/bin/" + applet;
    if (::symlink("busybox", link.c_str()) != 0 && errno != EEXIST)
      return SysError("symlink", link);
  }
  OCIB_TRY(WriteFile(dir + "/etc/passwd",
                     "root:x:0:0:root:/root:/bin/sh\n"
                     "app:x:1000:1000:app:/home/app:/bin/sh\n"
                     "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"));
  OCIB_TRY(WriteFile(dir + "/etc/group", "root:x:0:\napp:x:1000:\nnogroup:x:65534:\n"));
  OCIB_TRY(WriteFile(dir + "/probe", ProbeBinary(), 0755));
  return Ok();
}

Status ExtractRootfs(const std::string& tar, const std::string& dir) {
  OCIB_TRY(MakeDirs(dir));
  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_all(a.get());
  archive_read_support_filter_all(a.get());
  if (archive_read_open_filename(a.get(), tar.c_str(), 1 << 16) != ARCHIVE_OK)
    return Error{"open " + tar + ": " + archive_error_string(a.get()), EIO};
  std::unique_ptr<archive, decltype(&archive_write_free)> w(archive_write_disk_new(),
                                                            archive_write_free);
  archive_write_disk_set_options(w.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM);
  oci::MetaStore store;
  struct Pending {
    std::string path;
    oci::FileMeta meta;
  };
  std::vector<Pending> pending;
  archive_entry* e;
  while (archive_read_next_header(a.get(), &e) == ARCHIVE_OK) {
    std::string rel = archive_entry_pathname(e);
    std::string path = JoinPath(dir, rel);
    oci::FileMeta meta;
    meta.uid = static_cast<uint32_t>(archive_entry_uid(e));
    meta.gid = static_cast<uint32_t>(archive_entry_gid(e));
    meta.mode = archive_entry_mode(e);
    mode_t type = archive_entry_filetype(e);
    bool device = type == AE_IFCHR || type == AE_IFBLK;
    if (device) {
      meta.rdev = archive_entry_rdev(e);
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_size(e, 0);
    }
    // Keep the owner able to use everything; the real bits go to the store.
    mode_t perm = archive_entry_perm(e);
    archive_entry_set_perm(e, (perm & 0777) | (type == AE_IFDIR ? 0700 : 0600));
    if (archive_entry_hardlink(e))
      archive_entry_set_hardlink(e, JoinPath(dir, archive_entry_hardlink(e)).c_str());
    archive_entry_set_pathname(e, path.c_str());
    if (archive_write_header(w.get(), e) != ARCHIVE_OK)
      return Error{"extract " + rel + ": " + archive_error_string(w.get()), EIO};
    const void* buf;
    size_t size;
    la_int64_t off;
    while (archive_read_data_block(a.get(), &buf, &size, &off) == ARCHIVE_OK)
      archive_write_data_block(w.get(), buf, size, off);
    archive_write_finish_entry(w.get());
    if (archive_entry_hardlink(e)) continue;
    bool holdable =
        !device && (meta.mode & 07777) == ((perm & 0777) | (type == AE_IFDIR ? 0700 : 0600));
    if (meta.uid != 0 || meta.gid != 0 || !holdable || device)
      pending.push_back({path, std::move(meta)});
  }
  archive_write_close(w.get());
  for (Pending& p : pending) {
    struct stat st;
    if (::lstat(p.path.c_str(), &st) != 0) return SysError("lstat", p.path);
    store.Set(st.st_ino, std::move(p.meta));
  }
  return store.Save(oci::MetaStore::PathFor(dir));
}

Result<Captured> Run(const std::string& rootfs, const std::vector<std::string>& argv, uint32_t uid,
                     uint32_t gid, const std::vector<std::string>& extra_env, bool network) {
  OCIB_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create("ocibuild-sbx-out-"));
  OCIB_ASSIGN_OR_RETURN(UniqueFd out, OpenFile(tmp.path() + "/out", O_RDWR | O_CREAT | O_TRUNC));
  OCIB_ASSIGN_OR_RETURN(UniqueFd err, OpenFile(tmp.path() + "/err", O_RDWR | O_CREAT | O_TRUNC));
  RunSpec spec;
  spec.argv = argv;
  spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
              "LANG=C"};
  for (const std::string& e : extra_env) spec.env.push_back(e);
  spec.rootfs = rootfs;
  spec.uid = uid;
  spec.gid = gid;
  spec.network = network;
  spec.stdout_fd = out.get();
  spec.stderr_fd = err.get();
  OCIB_ASSIGN_OR_RETURN(RunResult rr, RunStep(spec));
  Captured c;
  c.exit_code = rr.exit_code;
  c.term_signal = rr.term_signal;
  OCIB_ASSIGN_OR_RETURN(c.out, ReadFile(tmp.path() + "/out"));
  OCIB_ASSIGN_OR_RETURN(c.err, ReadFile(tmp.path() + "/err"));
  return c;
}

Result<Captured> Sh(const std::string& rootfs, const std::string& script, uint32_t uid,
                    uint32_t gid) {
  return Run(rootfs, {"/bin/sh", "-c", script}, uid, gid);
}

}  // namespace ocibuild::sandbox::testing
