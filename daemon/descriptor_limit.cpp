#include "descriptor_limit.h"

#include <sys/resource.h>

#include <algorithm>

namespace demucs {

long raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  return limit.rlim_cur == RLIM_INFINITY ? 1L << 20 : static_cast<long>(limit.rlim_cur);
}

int connections_under_limit(long descriptor_limit, int max_uploads, int max_jobs) {
  // An upload holds its connection and its file; a job its input, output and
  // a few pipes and threads' descriptors (GStreamer).
  const long rest = kDescriptorsForTheRest + max_uploads + 16L * max_jobs;
  return static_cast<int>(std::max(1L, descriptor_limit - rest));
}

}  // namespace demucs
