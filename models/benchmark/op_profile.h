// Per-operator wall time of LibTorch's top-level operators (those called by
// libdemucs itself, not the ones they call), through RecordFunction's global
// callbacks: htdemucs-benchmark --profile-ops. Prints the costliest operators
// with their share of the measured time.
#pragma once

#include <cstdio>

namespace demucs::benchmark {

// Starts collecting, for the whole process, from the calling thread.
void start_op_profile();

// Writes the `top` costliest operators as a JSON array to `out`.
void print_op_profile(std::FILE* out, int top);

}  // namespace demucs::benchmark
