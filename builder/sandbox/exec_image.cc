#include "builder/sandbox/exec_image.h"

#include <elf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "util/fd.h"

namespace ocibuild::sandbox {

namespace {

bool PRead(int fd, void* buf, size_t len, off_t off) {
  return ::pread(fd, buf, len, off) == static_cast<ssize_t>(len);
}

}  // namespace

Result<ExecImage> InspectExecutable(const std::string& host_path) {
  UniqueFd fd(::open(host_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return SysError("open", host_path);
  return InspectExecutableFd(fd.get(), host_path);
}

Result<ExecImage> InspectExecutableFd(int fd_num, const std::string& host_path) {
  struct FdView {
    int v;
    int get() const { return v; }
  } fd{fd_num};
  char head[256];
  ssize_t n = ::pread(fd.get(), head, sizeof head, 0);
  if (n < 0) return SysError("read", host_path);
  ExecImage img;
  if (n >= 2 && head[0] == '#' && head[1] == '!') {
    // Like the kernel: one line, leading blanks skipped, interpreter up to the first blank, the
    // rest (trimmed) is a single optional argument.
    std::string line(head + 2, static_cast<size_t>(n - 2));
    size_t nl = line.find('\n');
    if (nl != std::string::npos) line.resize(nl);
    auto blank = [](char c) { return c == ' ' || c == '\t'; };
    size_t b = 0;
    while (b < line.size() && blank(line[b])) ++b;
    size_t e = b;
    while (e < line.size() && !blank(line[e])) ++e;
    img.interp = line.substr(b, e - b);
    while (e < line.size() && blank(line[e])) ++e;
    std::string arg = line.substr(e);
    while (!arg.empty() && (blank(arg.back()) || arg.back() == '\r')) arg.pop_back();
    img.interp_arg = arg;
    if (img.interp.empty()) return Error{"empty #! line in " + host_path, ENOEXEC};
    img.kind = ExecImage::Kind::kScript;
    return img;
  }
  if (n < static_cast<ssize_t>(sizeof(Elf64_Ehdr)) || std::memcmp(head, ELFMAG, SELFMAG) != 0)
    return img;  // kOther: the kernel decides (ENOEXEC)
  Elf64_Ehdr eh;
  std::memcpy(&eh, head, sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64) {
    img.kind = ExecImage::Kind::kForeignElf;
    return img;
  }
  img.kind = ExecImage::Kind::kStaticElf;
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 256) return img;
  for (int i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!PRead(fd.get(), &ph, sizeof ph, static_cast<off_t>(eh.e_phoff + i * sizeof ph)))
      return Error{"truncated program headers in " + host_path, ENOEXEC};
    if (ph.p_type != PT_INTERP) continue;
    if (ph.p_filesz == 0 || ph.p_filesz > 4096)
      return Error{"bad PT_INTERP in " + host_path, ENOEXEC};
    std::string interp(ph.p_filesz, '\0');
    if (!PRead(fd.get(), interp.data(), interp.size(), static_cast<off_t>(ph.p_offset)))
      return Error{"truncated PT_INTERP in " + host_path, ENOEXEC};
    interp.resize(std::strlen(interp.c_str()));
    img.kind = ExecImage::Kind::kDynamicElf;
    img.interp = interp;
    return img;
  }
  return img;
}

}  // namespace ocibuild::sandbox
