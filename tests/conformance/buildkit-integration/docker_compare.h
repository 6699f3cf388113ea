// ocibuild's image against Docker's (dockerd's BuildKit), entry for entry: the container config,
// the history, the number of layers, and each layer's files (type, mode, owner, content, link
// target; not mtimes, which differ between any two builds).
#pragma once

#include <string>
#include <vector>

#include "tests/conformance/buildkit-integration/image_view.h"

namespace ocibuild::bki {

// Each difference starts with a key ("config.Env", "history[2].created_by", "layers",
// "layer[1]:etc/passwd"); differences whose key starts with one of `ignore` are left out.
std::vector<std::string> CompareImages(const ImageView& ours, const ImageView& docker,
                                       const std::vector<std::string>& ignore);

}  // namespace ocibuild::bki
