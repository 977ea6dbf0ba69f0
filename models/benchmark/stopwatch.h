// Wall-clock seconds since a start, for benchmarks.
#pragma once

#include <chrono>

namespace demucs::benchmark {

class Stopwatch {
 public:
  Stopwatch() : start_(std::chrono::steady_clock::now()) {}
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_;
};

}  // namespace demucs::benchmark
