#include "worker_child_setup.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

namespace demucs {

namespace {

void set_limit(int resource, std::int64_t value) {
  if (value <= 0) return;
  const rlimit both{static_cast<rlim_t>(value), static_cast<rlim_t>(value)};
  setrlimit(resource, &both);
}

}  // namespace

void set_up_worker_child(const WorkerChildSetup &setup) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // A daemon that died between the fork and the line above left this child
  // to init (or a subreaper): no signal will come, and nobody reads its output.
  if (getppid() != setup.daemon) _exit(kOrphanedWorkerExit);
  set_limit(RLIMIT_AS, setup.limits.memory_bytes);
  set_limit(RLIMIT_CPU, setup.limits.cpu_seconds);
  set_limit(RLIMIT_FSIZE, setup.limits.file_bytes);
  const rlimit no_core{0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
}

}  // namespace demucs
