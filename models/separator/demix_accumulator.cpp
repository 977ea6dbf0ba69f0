#include "separator/demix_accumulator.h"

#include <ATen/ATen.h>

#include <stdexcept>
#include <string>

namespace demucs {

DemixAccumulator::DemixAccumulator(std::int64_t rows, std::int64_t channels)
    : result_({rows, channels}), counter_({}) {}

void DemixAccumulator::extend_to(std::int64_t end) {
  const std::int64_t missing = end - this->end();
  result_.append_zeros(missing);
  counter_.append_zeros(missing);
}

void DemixAccumulator::add(std::int64_t start, const at::Tensor& out, const at::Tensor& window) {
  if (start < begin_) {
    throw std::logic_error("DemixAccumulator::add: position " + std::to_string(start) +
                           " is already final (from " + std::to_string(begin_) + ")");
  }
  const std::int64_t length = window.size(0);
  extend_to(start + length);
  const std::int64_t from = start - begin_;
  result_.span(from, from + length).add_(out * window);
  counter_.span(from, from + length).add_(window);
}

at::Tensor DemixAccumulator::take_final(std::int64_t end) {
  if (end < begin_) {
    throw std::logic_error("DemixAccumulator::take_final: position " + std::to_string(end) +
                           " is before the first held, " + std::to_string(begin_));
  }
  extend_to(end);
  const std::int64_t count = end - begin_;
  const at::Tensor result = result_.span(0, count);
  const at::Tensor counter = counter_.span(0, count);
  at::Tensor estimate = at::nan_to_num(result / counter, 0.0);
  result_.drop_front(count);
  counter_.drop_front(count);
  begin_ = end;
  return estimate;
}

}  // namespace demucs
