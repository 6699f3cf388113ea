#include "util/async_sha256.h"

#include <algorithm>

namespace ocibuild {

AsyncSha256::~AsyncSha256() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void AsyncSha256::Update(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    if (cur_.capacity() < kBatch) cur_.reserve(kBatch);
    size_t take = std::min(n, kBatch - cur_.size());
    cur_.append(p, take);
    p += take;
    n -= take;
    if (cur_.size() == kBatch) Push();
  }
}

void AsyncSha256::Push() {
  if (!worker_.joinable()) worker_ = std::thread([this] { Loop(); });
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queued_ + cur_.size() <= kMaxQueued || queue_.empty(); });
  queued_ += cur_.size();
  queue_.push_back(std::move(cur_));
  cur_ = std::string();
  lock.unlock();
  cv_.notify_all();
}

void AsyncSha256::Loop() {
  for (;;) {
    std::string batch;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    sha_.Update(batch);
    {
      std::lock_guard lock(mu_);
      queued_ -= batch.size();
    }
    cv_.notify_all();
  }
}

std::string AsyncSha256::FinishHex() {
  if (worker_.joinable()) {
    if (!cur_.empty()) Push();
    {
      std::lock_guard lock(mu_);
      closing_ = true;
    }
    cv_.notify_all();
    worker_.join();
    closing_ = false;
  }
  sha_.Update(cur_);
  cur_.clear();
  return sha_.FinishHex();
}

}  // namespace ocibuild
