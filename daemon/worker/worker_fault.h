// Faults a worker can be told to have, so that tests can check that the
// daemon survives them: crash (abort), hang (no progress, ever), allocate
// (memory without bound until the limit stops it). Only the daemon passes
// --test-fault, and only when DEMUCS_VOCALSD_TEST_WORKER_FAULT is set in its
// environment (worker_process.h): nothing a client sends can ask for one.
#pragma once

#include <string>

namespace demucs {

/// Does what `fault` says ("" and anything unknown: nothing).
void run_test_fault(const std::string &fault);

}  // namespace demucs
