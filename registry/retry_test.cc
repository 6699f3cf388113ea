#include "registry/retry.h"

#include <gtest/gtest.h>

namespace ocibuild::registry {
namespace {

using std::chrono::milliseconds;

RetryPolicy Recording(std::vector<milliseconds>* sleeps, int attempts = 4) {
  RetryPolicy p;
  p.attempts_without_progress = attempts;
  p.initial_backoff = milliseconds(100);
  p.max_backoff = milliseconds(1000);
  p.sleep = [sleeps](milliseconds d) { sleeps->push_back(d); };
  return p;
}

TEST(RetryTest, ParsesRetryAfterSecondsAndDates) {
  auto now = std::chrono::system_clock::from_time_t(1700000000);  // 2023-11-14 22:13:20 UTC
  EXPECT_EQ(ParseRetryAfter("120", now), milliseconds(120000));
  EXPECT_EQ(ParseRetryAfter(" 0 ", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:13:25 GMT", now), milliseconds(5000));
  EXPECT_EQ(ParseRetryAfter("Tue, 14 Nov 2023 22:00:00 GMT", now), milliseconds(0));
  EXPECT_EQ(ParseRetryAfter("soon", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("", now), std::nullopt);
  EXPECT_EQ(ParseRetryAfter("-1", now), std::nullopt);
}

TEST(RetryTest, RetryableStatuses) {
  for (long s : {408, 429, 499, 500, 502, 503, 504, 522}) EXPECT_TRUE(IsRetryableStatus(s)) << s;
  for (long s : {200, 201, 400, 401, 403, 404, 405, 416, 501}) EXPECT_FALSE(IsRetryableStatus(s));
}

TEST(RetryTest, RetriesUntilSuccessWithGrowingJitteredBackoff) {
  std::vector<milliseconds> sleeps;
  Retrier r(Recording(&sleeps), 42);
  int calls = 0;
  Result<int> out = r.Run<int>([&](RetryHint* h) -> Result<int> {
    if (++calls < 4) {
      h->retryable = true;
      return Error{"boom"};
    }
    return 7;
  });
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, 7);
  ASSERT_EQ(sleeps.size(), 3u);
  const milliseconds base[] = {milliseconds(100), milliseconds(200), milliseconds(400)};
  for (int i = 0; i < 3; ++i) {
    EXPECT_GE(sleeps[i], base[i] / 2) << i;
    EXPECT_LE(sleeps[i], base[i]) << i;
  }
}

TEST(RetryTest, GivesUpAfterMaxAttemptsSayingSo) {
  std::vector<milliseconds> sleeps;
  Retrier r(Recording(&sleeps, 3), 1);
  Status st = r.Run<void>([&](RetryHint* h) -> Status {
    h->retryable = true;
    return Error{"PUT x: HTTP 503", 0};
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "PUT x: HTTP 503 (gave up after 3 attempts)");
  EXPECT_EQ(sleeps.size(), 2u);
}

TEST(RetryTest, DoesNotRetryPermanentFailures) {
  std::vector<milliseconds> sleeps;
  Retrier r(Recording(&sleeps), 1);
  int calls = 0;
  Status st = r.Run<void>([&](RetryHint*) -> Status {
    ++calls;
    return Error{"HTTP 404"};
  });
  EXPECT_EQ(st.error().message, "HTTP 404");
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(sleeps.empty());
}

TEST(RetryTest, HonoursRetryAfterAndRefusesExcessiveOnes) {
  std::vector<milliseconds> sleeps;
  RetryPolicy p = Recording(&sleeps);
  p.max_retry_after = milliseconds(5000);
  Retrier r(p, 1);
  int calls = 0;
  Status st = r.Run<void>([&](RetryHint* h) -> Status {
    h->retryable = true;
    h->retry_after = milliseconds(++calls == 1 ? 3000 : 9000);
    return Error{"HTTP 429"};
  });
  EXPECT_EQ(st.error().message,
            "HTTP 429 (the registry asked to wait 9 s before trying again (Retry-After); "
            "ocibuild waits at most 5 s)");
  EXPECT_EQ(sleeps, std::vector<milliseconds>{milliseconds(3000)});
}

TEST(RetryTest, BackoffIsCapped) {
  std::vector<milliseconds> sleeps;
  Retrier r(Recording(&sleeps), 3);
  for (int n = 1; n < 12; ++n) EXPECT_LE(r.Backoff(n), milliseconds(1000));
  EXPECT_GE(r.Backoff(11), milliseconds(500));
}

TEST(RetryTest, BudgetCountsAttemptsWithoutProgressOnly) {
  std::vector<milliseconds> sleeps;
  Retrier r(Recording(&sleeps, 3), 5);
  int calls = 0;
  // Ten failures that each got further, then success: never more than 2 in a row without.
  Result<int> ok = r.Run<int>([&](RetryHint* h) -> Result<int> {
    if (++calls > 12) return calls;
    h->retryable = true;
    h->progressed = calls % 3 != 0;
    return Error{"cut"};
  });
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 13);
  // After progress the wait starts over at the initial backoff.
  for (size_t i = 0; i < sleeps.size(); ++i) EXPECT_LE(sleeps[i], milliseconds(200)) << i;

  calls = 0;
  Status st = r.Run<void>([&](RetryHint* h) -> Status {
    h->retryable = true;
    h->progressed = ++calls <= 4;
    return Error{"cut"};
  });
  EXPECT_EQ(st.error().message, "cut (gave up after 7 attempts, the last 3 without progress)");
}

TEST(RetryTest, ConnectFailuresHaveASmallBudgetOfTheirOwn) {
  std::vector<milliseconds> sleeps;
  RetryPolicy p = Recording(&sleeps, 6);
  p.initial_backoff = milliseconds(250);
  Retrier r(p, 9);
  int calls = 0;
  Status st = r.Run<void>([&](RetryHint* h) -> Status {
    ++calls;
    HintFromTransportError(Error{"GET x: cannot connect to h:1: Connection refused", ECONNREFUSED},
                           h);
    return Error{"GET x: cannot connect to h:1: Connection refused", ECONNREFUSED};
  });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(st.error().message,
            "GET x: cannot connect to h:1: Connection refused (3 attempts to connect)");
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_LE(sleeps[0] + sleeps[1], milliseconds(750));

  // A connect timeout uses the window up at once: one attempt.
  RetryPolicy slow = Recording(&sleeps, 6);
  slow.connect_window = milliseconds(0);
  Retrier once(slow, 9);
  calls = 0;
  st = once.Run<void>([&](RetryHint* h) -> Status {
    ++calls;
    h->retryable = h->connect_failure = true;
    return Error{"no answer", EHOSTDOWN};
  });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(st.error().message, "no answer");
}

TEST(RetryTest, TransportErrorsAreClassified) {
  RetryHint refused, reset, tls;
  HintFromTransportError(Error{"x", ECONNREFUSED}, &refused);
  HintFromTransportError(Error{"x", ECONNRESET}, &reset);
  HintFromTransportError(Error{"x", EKEYREJECTED}, &tls);
  EXPECT_TRUE(refused.retryable && refused.connect_failure);
  EXPECT_TRUE(reset.retryable && !reset.connect_failure);
  EXPECT_FALSE(tls.retryable);
}

TEST(RetryTest, HintFromResponseReadsRetryAfter) {
  HttpResponse resp;
  resp.status = 429;
  resp.headers = {{"retry-after", "2"}};
  RetryHint h;
  HintFromResponse(resp, &h);
  EXPECT_TRUE(h.retryable);
  EXPECT_EQ(h.retry_after, milliseconds(2000));
  RetryHint h2;
  resp.status = 404;
  HintFromResponse(resp, &h2);
  EXPECT_FALSE(h2.retryable);
}

}  // namespace
}  // namespace ocibuild::registry
