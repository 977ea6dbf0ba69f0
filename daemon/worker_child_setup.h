// What a worker process's child does between fork and exec (GLib's child
// setup): a process group of its own (so that the whole group can be
// killed), death with the daemon (PR_SET_PDEATHSIG), its resource limits,
// no core dumps. Only async-signal-safe calls: the daemon has threads.
#pragma once

#include "worker_process.h"

#include <sys/types.h>

namespace demucs {

struct WorkerChildSetup {
  WorkerLimits limits;
  pid_t daemon = 0;  ///< getpid() of the daemon, taken before the fork
};

/// The exit status of a child whose daemon died before PR_SET_PDEATHSIG
/// took hold: the signal would never come, so it ends there.
inline constexpr int kOrphanedWorkerExit = 125;

/// Runs in the child. Exits (_exit) when the daemon is already gone: the
/// death signal is only sent for a parent that dies after it is set.
void set_up_worker_child(const WorkerChildSetup &setup);

}  // namespace demucs
