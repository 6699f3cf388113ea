#include "builder/sandbox/exec_image.h"

#include <elf.h>

#include <cstring>

#include <gtest/gtest.h>

#include "util/fs.h"

namespace ocibuild::sandbox {
namespace {

TEST(ExecImageTest, Shebang) {
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  std::string p = t->path() + "/s";
  ASSERT_TRUE(WriteFile(p, "#!  /bin/sh   -e -x  \r\necho\n").ok());
  auto img = InspectExecutable(p);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->kind, ExecImage::Kind::kScript);
  EXPECT_EQ(img->interp, "/bin/sh");
  EXPECT_EQ(img->interp_arg, "-e -x");
}

TEST(ExecImageTest, DynamicAndStaticElf) {
  auto dyn = InspectExecutable("/bin/ls");
  ASSERT_TRUE(dyn.ok());
  EXPECT_EQ(dyn->kind, ExecImage::Kind::kDynamicElf);
  EXPECT_EQ(dyn->interp, "/lib64/ld-linux-x86-64.so.2");
  // busybox-static: /bin/busybox on the host, /usr/local/bin/busybox in the test container.
  auto st =
      InspectExecutable(PathExists("/bin/busybox") ? "/bin/busybox" : "/usr/local/bin/busybox");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->kind, ExecImage::Kind::kStaticElf);
}

TEST(ExecImageTest, ElfOfAnotherMachineIsForeign) {
  // An aarch64 header: the tracer starts such a program under RunSpec::emulator, or refuses it.
  auto t = TempDir::Create();
  ASSERT_TRUE(t.ok());
  Elf64_Ehdr eh = {};
  std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
  eh.e_ident[EI_CLASS] = ELFCLASS64;
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_AARCH64;
  std::string p = t->path() + "/arm";
  ASSERT_TRUE(WriteFile(p, std::string(reinterpret_cast<const char*>(&eh), sizeof eh)).ok());
  auto img = InspectExecutable(p);
  ASSERT_TRUE(img.ok());
  EXPECT_EQ(img->kind, ExecImage::Kind::kForeignElf);
}

TEST(ExecImageTest, MissingFileCarriesErrno) {
  auto img = InspectExecutable("/nonexistent/x");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace ocibuild::sandbox
