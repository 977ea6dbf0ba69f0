// The worker process: what demucs-vocalsd runs in a child of its own for
// each untrusted file, so that a decoder that crashes, hangs or eats memory
// takes only that child down (see worker_process.h for the daemon's side):
//
//   demucs-vocalsd worker probe FILE
//   demucs-vocalsd worker separate --input IN --output OUT --format wav
//       --model M --device D --stem S [--precision P] --max-seconds N
//
// It reports on standard output (worker_protocol.h), logs on standard error.
#pragma once

namespace demucs {

/// Runs the worker for argv = {program, "worker", mode, ...}; the exit status.
int run_worker(int argc, char **argv);

}  // namespace demucs
