#include "builder/sandbox/sandbox_testing.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <ftw.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
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
  RunSpec spec;
  spec.argv = argv;
  spec.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root",
              "LANG=C"};
  for (const std::string& e : extra_env) spec.env.push_back(e);
  spec.rootfs = rootfs;
  spec.uid = uid;
  spec.gid = gid;
  spec.network = network;
  return Run(std::move(spec));
}

Result<Captured> Run(RunSpec spec) {
  OCIB_ASSIGN_OR_RETURN(TempDir tmp, TempDir::Create("ocibuild-sbx-out-"));
  OCIB_ASSIGN_OR_RETURN(UniqueFd out, OpenFile(tmp.path() + "/out", O_RDWR | O_CREAT | O_TRUNC));
  OCIB_ASSIGN_OR_RETURN(UniqueFd err, OpenFile(tmp.path() + "/err", O_RDWR | O_CREAT | O_TRUNC));
  spec.stdout_fd = out.get();
  spec.stderr_fd = err.get();
  OCIB_ASSIGN_OR_RETURN(RunResult rr, RunStep(spec));
  Captured c;
  c.exit_code = rr.exit_code;
  c.term_signal = rr.term_signal;
  c.peak_handling = rr.peak_handling;
  c.restarted_calls = rr.restarted_calls;
  OCIB_ASSIGN_OR_RETURN(c.out, ReadFile(tmp.path() + "/out"));
  OCIB_ASSIGN_OR_RETURN(c.err, ReadFile(tmp.path() + "/err"));
  return c;
}

Result<Captured> Sh(const std::string& rootfs, const std::string& script, uint32_t uid,
                    uint32_t gid) {
  return Run(rootfs, {"/bin/sh", "-c", script}, uid, gid);
}

Result<Captured> RunInRootChroot(const std::string& tar, const std::string& dir,
                                 const std::string& script) {
  OCIB_TRY(MakeDirs(dir));
  OCIB_ASSIGN_OR_RETURN(ProcessResult untar,
                        RunProcess({"tar", "--numeric-owner", "--xattrs", "--xattrs-include=*",
                                    "-xpf", tar, "-C", dir}));
  if (!untar.success()) return Error{"untar " + tar + ": " + untar.err, EIO};
  OCIB_TRY(WriteFile(dir + "/tmp/step.sh", script));
  OCIB_ASSIGN_OR_RETURN(
      ProcessResult real,
      RunProcess({"unshare", "--mount", "--fork", "chroot", dir, "/bin/bash", "-c",
                  "mount -t proc proc /proc && bash /tmp/step.sh; rc=$?; umount /proc; exit $rc"},
                 SpawnOptions{.env = std::vector<std::string>{
                                  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:"
                                  "/bin",
                                  "HOME=/root", "LANG=C"}}));
  Captured c;
  c.exit_code = real.exit_code;
  c.out = std::move(real.out);
  c.err = std::move(real.err);
  return c;
}

std::string Describe(const FileInfo& m) {
  char buf[128];
  snprintf(buf, sizeof buf, "%u:%u %o rdev=%u,%u cap=%zuB", m.uid, m.gid, m.mode, major(m.rdev),
           minor(m.rdev), m.cap.size());
  return buf;
}

std::map<std::string, FileInfo> WalkMeta(const std::string& root, const oci::MetaStore* store) {
  std::map<std::string, FileInfo> out;
  std::vector<std::string> paths;
  static thread_local std::vector<std::string>* sink;
  sink = &paths;
  ::nftw(
      root.c_str(),
      [](const char* p, const struct stat*, int, FTW*) {
        sink->push_back(p);
        return 0;
      },
      64, FTW_PHYS);
  for (const std::string& p : paths) {
    std::string rel = p.substr(root.size());
    if (rel.empty()) rel = "/";
    if (rel.rfind("/proc/", 0) == 0 || rel.rfind("/sys/", 0) == 0 || rel.rfind("/tmp/", 0) == 0 ||
        rel.rfind("/var/log/", 0) == 0 || rel.rfind("/var/cache/", 0) == 0 ||
        rel.rfind("/var/lib/apt/lists/", 0) == 0)
      continue;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    FileInfo m;
    if (store) {
      oci::FileMeta f = store->Effective(st);
      m = {f.uid, f.gid, f.mode, f.rdev, ""};
      if (auto it = f.xattrs.find("security.capability"); it != f.xattrs.end()) m.cap = it->second;
    } else {
      m = {st.st_uid, st.st_gid, st.st_mode, st.st_rdev, ""};
      char buf[256];
      ssize_t n = ::lgetxattr(p.c_str(), "security.capability", buf, sizeof buf);
      if (n > 0) m.cap.assign(buf, static_cast<size_t>(n));
    }
    if (S_ISLNK(m.mode)) m.mode = S_IFLNK | 0777;
    if (!S_ISCHR(m.mode) && !S_ISBLK(m.mode)) m.rdev = 0;
    out[rel] = m;
  }
  return out;
}

int CompareMeta(const std::map<std::string, FileInfo>& want,
                const std::map<std::string, FileInfo>& got) {
  int compared = 0, mismatches = 0;
  for (const auto& [path, meta] : want) {
    auto it = got.find(path);
    if (it == got.end()) continue;
    ++compared;
    if (it->second == meta) continue;
    if (++mismatches <= 25)
      ADD_FAILURE() << path << ": chroot " << Describe(meta) << ", sandbox "
                    << Describe(it->second);
  }
  EXPECT_EQ(mismatches, 0);
  return compared;
}

}  // namespace ocibuild::sandbox::testing
