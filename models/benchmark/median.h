// The median of a benchmark's repeated measurements: one slow run, while
// the machine was busy, moves it less than it moves the mean.
#pragma once

#include <algorithm>
#include <stdexcept>
#include <vector>

namespace demucs::benchmark {

// Throws std::invalid_argument when `values` is empty.
inline double median(std::vector<double> values) {
  if (values.empty()) {
    throw std::invalid_argument("the median of no values");
  }
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

}  // namespace demucs::benchmark
