// Where ocibuild keeps its state: blobs, the layer cache, cache mounts and the scratch rootfs
// directories of running builds, all on one filesystem so finished files are renamed into place,
// never copied.
#pragma once

#include <map>
#include <string>

#include "util/result.h"

namespace ocibuild::cli {

struct StateRoot {
  std::string path;
  std::string source;   // "OCIBUILD_ROOT", "XDG_CACHE_HOME", "HOME" or "TMPDIR"
  std::string skipped;  // why earlier candidates were passed over, "" when none was
};

// $OCIBUILD_ROOT when set (created if missing; an explicit choice is never second-guessed), else
// the first of $XDG_CACHE_HOME/ocibuild, ~/.cache/ocibuild and ${TMPDIR:-/tmp}/ocibuild-<uid> that
// can be created and written. Pods often run with a read-only or foreign $HOME, and a cache
// there would fail the first build; the temp fallback keeps the build working.
Result<StateRoot> ChooseStateRoot(const std::map<std::string, std::string>& env);

}  // namespace ocibuild::cli
