#include "util/disposer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace ocibuild {
namespace {

// Counts its destructions and the thread they ran on.
struct Tracked {
  std::atomic<int>* destroyed;
  std::thread::id* where;
  explicit Tracked(std::atomic<int>* d, std::thread::id* w) : destroyed(d), where(w) {}
  Tracked(Tracked&& o) noexcept : destroyed(o.destroyed), where(o.where) { o.destroyed = nullptr; }
  ~Tracked() {
    if (!destroyed) return;  // moved from
    *where = std::this_thread::get_id();
    ++*destroyed;
  }
};

TEST(DisposerTest, EverythingHandedOverIsDestroyedOnAnotherThreadByTheEnd) {
  std::atomic<int> destroyed{0};
  std::vector<std::thread::id> where(100);
  {
    Disposer d;
    for (int i = 0; i < 100; ++i) d.Dispose(Tracked(&destroyed, &where[static_cast<size_t>(i)]));
  }
  EXPECT_EQ(destroyed.load(), 100);
  for (const auto& w : where) EXPECT_NE(w, std::this_thread::get_id());
}

TEST(DisposerTest, ADisposerGivenNothingStartsNoThreadAndEndsAtOnce) {
  Disposer d;
  (void)d;
}

}  // namespace
}  // namespace ocibuild
