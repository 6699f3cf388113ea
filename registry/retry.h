// Retries with exponential backoff and jitter for the transient failures registries produce
// (408, 429 with Retry-After, 5xx, connection resets and EOF), as go-containerregistry and the
// docker CLI do, with the clock injectable so unit tests do not sleep.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "registry/http_transport.h"
#include "util/result.h"

namespace ocibuild::registry {

struct RetryPolicy {
  int max_attempts = 6;
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{8000};
  // Retry-After beyond this is not waited for: the attempt fails instead.
  std::chrono::milliseconds max_retry_after{60000};
  // How to wait; tests substitute a recorder.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// Filled in by an attempt that failed, to say whether trying again may help.
struct RetryHint {
  bool retryable = false;
  std::optional<std::chrono::milliseconds> retry_after;
};

bool IsRetryableStatus(long status);
// "120" or an HTTP-date; nullopt when absent or unparseable.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);
// Marks `hint` retryable for a transient response status (honouring Retry-After).
void HintFromResponse(const HttpResponse& resp, RetryHint* hint);

class Retrier {
 public:
  explicit Retrier(RetryPolicy policy, uint64_t seed = std::random_device{}());

  // Runs `attempt` until it succeeds, fails without setting hint->retryable, or attempts run
  // out. The final error says how many attempts were made when more than one was.
  template <typename T>
  Result<T> Run(const std::function<Result<T>(RetryHint*)>& attempt) {
    for (int n = 1;; ++n) {
      RetryHint hint;
      Result<T> r = attempt(&hint);
      if (r.ok() || !hint.retryable) return r;
      if (n >= policy_.max_attempts) {
        Error e = std::move(r).error();
        e.message += " (gave up after " + std::to_string(n) + " attempts)";
        return e;
      }
      auto wait = Delay(n, hint);
      if (!wait) {
        Error e = std::move(r).error();
        e.message += " (Retry-After too long)";
        return e;
      }
      Sleep(*wait);
    }
  }

  // The wait before attempt n+1: Retry-After if given (bounded), else full-jitter backoff.
  std::optional<std::chrono::milliseconds> Delay(int n, const RetryHint& hint);
  const RetryPolicy& policy() const { return policy_; }

 private:
  void Sleep(std::chrono::milliseconds d);
  RetryPolicy policy_;
  std::mutex mu_;
  std::mt19937_64 rng_;
};

}  // namespace ocibuild::registry
