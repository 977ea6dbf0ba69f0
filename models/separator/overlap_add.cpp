#include "separator/overlap_add.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>

namespace demucs {

OverlapAdd::OverlapAdd(std::int64_t stems, std::int64_t channels)
    : sums_({stems, channels}), weights_({}) {}

void OverlapAdd::add(std::int64_t offset, const at::Tensor& weighted, const at::Tensor& weight) {
  const std::int64_t length = weighted.size(-1);
  std::int64_t skip = 0;
  if (offset < 0) {
    skip = std::min(-offset, length);
  }
  const std::int64_t first = offset + skip;
  const std::int64_t last = offset + length;
  if (first >= last) {
    return;
  }
  if (first < begin_) {
    throw std::logic_error("OverlapAdd::add: chunk reaches into frames already final");
  }
  if (last > end()) {
    const std::int64_t grow = last - end();
    sums_.append_zeros(grow);
    weights_.append_zeros(grow);
  }
  sums_.span(first - begin_, last - begin_).add_(weighted.narrow(-1, skip, last - first));
  weights_.span(first - begin_, last - begin_).add_(weight.narrow(0, skip, last - first));
}

at::Tensor OverlapAdd::take_final(std::int64_t position) {
  const std::int64_t count = position - begin_;
  if (count < 0 || position > end()) {
    throw std::logic_error("OverlapAdd::take_final: frames no chunk has reached");
  }
  at::Tensor sums = sums_.span(0, count);
  at::Tensor weights = weights_.span(0, count);
  at::Tensor final_frames = at::div(sums, weights);
  sums_.drop_front(count);
  weights_.drop_front(count);
  begin_ = position;
  return final_frames;
}

}  // namespace demucs
