#include "builder/sandbox/exec_image.h"

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

TEST(ExecImageTest, MissingFileCarriesErrno) {
  auto img = InspectExecutable("/nonexistent/x");
  ASSERT_FALSE(img.ok());
  EXPECT_EQ(img.error().sys_errno, ENOENT);
}

}  // namespace
}  // namespace ocibuild::sandbox
