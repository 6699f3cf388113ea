#include "registry/retry.h"

#include <algorithm>
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

void HintFromTransportError(const Error& e, RetryHint* hint) {
  if (IsConnectFailure(e)) {
    hint->retryable = true;
    hint->connect_failure = true;
  } else if (IsTransientTransportError(e)) {
    hint->retryable = true;
  }
}

Retrier::Retrier(RetryPolicy policy, uint64_t seed) : policy_(std::move(policy)), rng_(seed) {}

std::optional<std::chrono::milliseconds> Retrier::Next(State* st, const RetryHint& hint,
                                                       std::string* give_up) {
  ++st->attempts;
  st->without_progress = hint.progressed ? 0 : st->without_progress + 1;
  if (hint.connect_failure) {
    auto now = std::chrono::steady_clock::now();
    if (st->connect_failures++ == 0) st->first_connect_failure = now;
    if (st->connect_failures >= policy_.connect_attempts ||
        now - st->first_connect_failure >= policy_.connect_window) {
      *give_up = st->connect_failures == 1
                     ? ""
                     : " (" + std::to_string(st->connect_failures) + " attempts to connect)";
      return std::nullopt;
    }
    return Backoff(st->connect_failures);
  }
  st->connect_failures = 0;
  if (st->without_progress >= policy_.attempts_without_progress ||
      st->attempts >= policy_.max_attempts) {
    if (st->attempts == st->without_progress)
      *give_up = " (gave up after " + std::to_string(st->attempts) + " attempts)";
    else
      *give_up = " (gave up after " + std::to_string(st->attempts) + " attempts, the last " +
                 std::to_string(st->without_progress) + " without progress)";
    return std::nullopt;
  }
  if (hint.retry_after) {
    if (*hint.retry_after > policy_.max_retry_after) {
      *give_up = " (the registry asked to wait " +
                 std::to_string((hint.retry_after->count() + 999) / 1000) +
                 " s before trying again (Retry-After); ocibuild waits at most " +
                 std::to_string(policy_.max_retry_after.count() / 1000) + " s)";
      return std::nullopt;
    }
    return *hint.retry_after;
  }
  // After progress the wait starts small again: the next attempt is likely to move on.
  return Backoff(std::max(1, st->without_progress));
}

std::chrono::milliseconds Retrier::Backoff(int n) {
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
