// Retries with exponential backoff and jitter for the transient failures registries produce
// (408, 429 and 503 with Retry-After, 5xx, connection resets and EOF), with the clock
// injectable so unit tests do not sleep.
//
// The budget counts attempts that made no progress, not attempts: a transfer that resumes where
// the last one was cut (registry/client.cc) may need many attempts through a flaky proxy, and
// gives up only when several in a row moved nothing. Failures to connect at all (refused, no
// DNS answer, unreachable) have a small budget of their own, so a registry that is down is
// reported within a second or two instead of after a long backoff.
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
  // Consecutive failed attempts without progress before giving up.
  int attempts_without_progress = 6;
  // A safety net for attempts that each move a few bytes forever.
  int max_attempts = 1000;
  // Consecutive failures to connect before giving up, and the time after the first of them
  // beyond which no further connection is tried (a connect timeout uses it up at once).
  int connect_attempts = 3;
  std::chrono::milliseconds connect_window{3000};
  std::chrono::milliseconds initial_backoff{250};
  std::chrono::milliseconds max_backoff{8000};
  // Retry-After up to this is waited for; beyond it the attempt fails at once, saying so.
  std::chrono::milliseconds max_retry_after{60000};
  // How to wait; tests substitute a recorder.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// Filled in by an attempt that failed, to say whether trying again may help.
struct RetryHint {
  bool retryable = false;
  std::optional<std::chrono::milliseconds> retry_after;
  // The attempt got further than any before it (bytes verified or confirmed by the registry).
  bool progressed = false;
  // No connection could be made (refused, DNS, unreachable, connect timeout).
  bool connect_failure = false;
};

bool IsRetryableStatus(long status);
// "120" or an HTTP-date; nullopt when absent or unparseable.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);
// Marks `hint` retryable for a transient response status (honouring Retry-After).
void HintFromResponse(const HttpResponse& resp, RetryHint* hint);
// Marks `hint` retryable when the connection, not the request, was at fault.
void HintFromTransportError(const Error& e, RetryHint* hint);

class Retrier {
 public:
  explicit Retrier(RetryPolicy policy, uint64_t seed = std::random_device{}());

  // Counters of one Run.
  struct State {
    int attempts = 0;
    int without_progress = 0;
    int connect_failures = 0;
    std::chrono::steady_clock::time_point first_connect_failure;
  };

  // Runs `attempt` until it succeeds, fails without setting hint->retryable, or the budget runs
  // out. The final error says why it gave up when it retried.
  template <typename T>
  Result<T> Run(const std::function<Result<T>(RetryHint*)>& attempt) {
    State st;
    for (;;) {
      RetryHint hint;
      Result<T> r = attempt(&hint);
      if (r.ok() || !hint.retryable) return r;
      std::string give_up;
      auto wait = Next(&st, hint, &give_up);
      if (!wait) {
        Error e = std::move(r).error();
        e.message += give_up;
        return e;
      }
      Sleep(*wait);
    }
  }

  // After a failed retryable attempt: the wait before the next one, or nullopt with the reason
  // (" (gave up after ...)") in `give_up`.
  std::optional<std::chrono::milliseconds> Next(State* st, const RetryHint& hint,
                                                std::string* give_up);
  // Full-jitter exponential backoff for the n-th consecutive failure (n >= 1).
  std::chrono::milliseconds Backoff(int n);
  const RetryPolicy& policy() const { return policy_; }

 private:
  void Sleep(std::chrono::milliseconds d);
  RetryPolicy policy_;
  std::mutex mu_;
  std::mt19937_64 rng_;
};

}  // namespace ocibuild::registry
