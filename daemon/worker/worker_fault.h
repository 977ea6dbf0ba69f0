// Faults a worker can be told to have, so that tests can check that the
// daemon survives them: crash (abort), hang (no progress, ever), allocate
// (memory without bound until the limit stops it), flood (a report line
// that never ends), trespass (tries what its sandbox forbids, worker_sandbox.h,
// and reports what it was allowed as its error). Only the daemon passes
// --test-fault, and only when DEMUCS_VOCALSD_TEST_WORKER_FAULT is set in its
// environment, for jobs whose upload is named after the fault (crash.wav):
// nothing a client sends can ask for one from a daemon started normally.
#pragma once

#include <string>

namespace demucs {

/// Whether `name` is a fault run_test_fault knows.
bool is_test_fault(const std::string &name);

/// Does what `fault` says ("" and anything unknown: nothing), for the job
/// whose folder is `job_folder`.
void run_test_fault(const std::string &fault, const std::string &job_folder);

}  // namespace demucs
