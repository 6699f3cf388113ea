// Per-blob progress reported by the puller and pusher, for the CLI's progress display.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "oci/digest.h"

namespace ocibuild::registry {

struct BlobProgress {
  enum class State {
    kTransferring,  // bytes are moving: done/total
    kCached,        // pull: already in the blob cache
    kFetched,       // pull: downloaded and verified
    kExisted,       // push: the registry had it
    kMounted,       // push: mounted from another repository
    kPushed,        // push: uploaded
  };
  oci::Digest digest;
  uint64_t done = 0;
  uint64_t total = 0;
  State state = State::kTransferring;
};

const char* BlobStateName(BlobProgress::State s);

// Called from worker threads, possibly concurrently: implementations synchronise themselves.
using ProgressFn = std::function<void(const BlobProgress&)>;

}  // namespace ocibuild::registry
