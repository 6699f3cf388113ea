#include "registry/retry.h"

#include <ctime>
#include <thread>

#include "util/strings.h"

namespace ocibuild::registry {

bool IsRetryableStatus(long s) {
  switch (s) {
    case 408:
    case 429:
    case 499:
    case 500:
    case 502:
    case 503:
    case 504:
    case 522:
      return true;
    default:
      return false;
  }
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(
    std::string_view value, std::chrono::system_clock::time_point now) {
  std::string v(TrimSpace(value));
  if (v.empty()) return std::nullopt;
  bool digits = true;
  for (char c : v) digits &= (c >= '0' && c <= '9');
  if (digits) {
    if (v.size() > 9) return std::nullopt;
    return std::chrono::milliseconds(std::stoll(v) * 1000);
  }
  struct tm tm {};
  const char* end = strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return std::nullopt;
  auto when = std::chrono::system_clock::from_time_t(timegm(&tm));
  if (when <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(when - now);
}

void HintFromResponse(const HttpResponse& resp, RetryHint* hint) {
  if (!IsRetryableStatus(resp.status)) return;
  hint->retryable = true;
  std::string ra = resp.Header("retry-after");
  if (!ra.empty()) hint->retry_after = ParseRetryAfter(ra, std::chrono::system_clock::now());
}

Retrier::Retrier(RetryPolicy policy, uint64_t seed) : policy_(std::move(policy)), rng_(seed) {}

std::optional<std::chrono::milliseconds> Retrier::Delay(int n, const RetryHint& hint) {
  if (hint.retry_after) {
    if (*hint.retry_after > policy_.max_retry_after) return std::nullopt;
    return *hint.retry_after;
  }
  auto base = policy_.initial_backoff;
  for (int i = 1; i < n && base < policy_.max_backoff; ++i) base *= 2;
  if (base > policy_.max_backoff) base = policy_.max_backoff;
  // Half fixed, half random: spreads parallel blob retries without ever retrying at once.
  std::lock_guard<std::mutex> lock(mu_);
  std::uniform_int_distribution<int64_t> dist(base.count() / 2, base.count());
  return std::chrono::milliseconds(dist(rng_));
}

void Retrier::Sleep(std::chrono::milliseconds d) {
  if (policy_.sleep)
    policy_.sleep(d);
  else
    std::this_thread::sleep_for(d);
}

}  // namespace ocibuild::registry
