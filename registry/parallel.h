// Runs independent jobs on a few threads (blob transfers), stopping new jobs after a failure.
#pragma once

#include <functional>

#include "util/result.h"

namespace ocibuild::registry {

// Calls job(i) for i in [0, count) on up to `workers` threads. Returns the first error by job
// index; after any failure, jobs not yet started are skipped.
Status RunParallel(size_t count, int workers, const std::function<Status(size_t)>& job);

}  // namespace ocibuild::registry
