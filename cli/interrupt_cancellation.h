// Ctrl-C (SIGINT), SIGTERM and SIGHUP as a GCancellable, so that long work
// stops through its normal error path (a download then deletes its partial file)
// instead of the process dying mid-write.
#pragma once

#include <gio/gio.h>

namespace demucs {

/// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread (and in the threads
/// it starts later) and cancels the returned cancellable when one arrives.
/// Call once, early, before other threads start. The cancellable lives until exit.
GCancellable *cancel_on_interrupt();

}  // namespace demucs
