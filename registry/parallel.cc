#include "registry/parallel.h"

#include <algorithm>
#include <atomic>
#include <optional>
#include <thread>
#include <vector>

namespace ocibuild::registry {

Status RunParallel(size_t count, int workers, const std::function<Status(size_t)>& job) {
  std::vector<std::optional<Error>> errors(count);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  auto loop = [&] {
    for (;;) {
      size_t i = next.fetch_add(1);
      if (i >= count || failed.load()) return;
      Status st = job(i);
      if (!st.ok()) {
        errors[i] = std::move(st).error();
        failed.store(true);
      }
    }
  };
  size_t n = std::min<size_t>(count, static_cast<size_t>(std::max(1, workers)));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back(loop);
  loop();
  for (auto& t : threads) t.join();
  for (auto& e : errors)
    if (e) return std::move(*e);
  return Ok();
}

}  // namespace ocibuild::registry
