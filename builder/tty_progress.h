// The live progress view for a terminal (--progress=tty, the default on one), after BuildKit's:
//
//   [+] Building 12.3s (4/9)                      <- header: elapsed time, steps done/total
//    => [app 3/5] RUN make                  2.1s  <- a running step
//    => => # cc -o app main.c                     <- its last few output lines
//    => => pull sha256:4f5e…  45.2 MB / 110.0 MB  <- a transfer
//
// The view is redrawn in place (ten times a second, at once on SIGWINCH and on step changes):
// the cursor goes back up to its first line, each line is cleared and rewritten, the rest of the
// screen below is cleared. A finished step leaves one line above the view (" => [app 2/5] COPY
// . /src  0.3s", CACHED or ERROR), written once, so the scrollback holds each step once. Every
// line is cut to the terminal's width less one column, so nothing wraps and the line count the
// cursor goes back is exact; the view never takes more than the terminal's height less one
// line (output windows shrink first). When the build ends the view is replaced by a final
// header, then the full log of each failed step.
#pragma once

#include <memory>

#include "builder/progress.h"

namespace ocibuild::builder {

std::unique_ptr<Progress> MakeTtyProgress(int fd, ProgressOptions opts);

}  // namespace ocibuild::builder
