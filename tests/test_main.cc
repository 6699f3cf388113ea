// main() of every test binary: gives the OCIBUILD_* variables the paths of this build tree
// unless the runner already set them (scripts/as-user.sh and scripts/in-container.sh set their
// own), then runs the tests. ctest's per-test ENVIRONMENT cannot carry them: gtest discovery
// splits list-valued test properties.
#include <cstdlib>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::setenv("OCIBUILD_SOURCE_DIR", OCIBUILD_DEFAULT_SOURCE_DIR, 0);
  ::setenv("OCIBUILD_TESTDATA", OCIBUILD_DEFAULT_SOURCE_DIR "/testdata", 0);
  ::setenv("OCIBUILD_CONFORMANCE", OCIBUILD_DEFAULT_CONFORMANCE, 0);
  ::setenv("OCIBUILD_BUILD_DIR", OCIBUILD_DEFAULT_BUILD_DIR, 0);
  ::setenv("OCIBUILD_BINARY", OCIBUILD_DEFAULT_BINARY, 0);
  // Prepared test inputs (Debian base tar, local apt repositories): read-only for tests.
  ::setenv("OCIBUILD_TEST_CACHE",
           (std::string(std::getenv("OCIBUILD_BUILD_DIR")) + "/cache").c_str(), 0);
  // Every RUN step of every build a test makes also walks its tree, and fails when that differs
  // from what the watch of its directories saw (builder/tree_watch.h).
  ::setenv("OCIBUILD_TREE_WATCH", "verify", 0);
  ::testing::InitGoogleMock(&argc, argv);
  return RUN_ALL_TESTS();
}
