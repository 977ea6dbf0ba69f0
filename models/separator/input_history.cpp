#include "separator/input_history.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>

namespace demucs {

InputHistory::InputHistory(int channels) : channels_(channels), frames_({channels}) {}

void InputHistory::append(const at::Tensor& planar) {
  if (ended_) {
    throw std::logic_error("InputHistory::append after the end of the stream");
  }
  frames_.append(planar);
}

at::Tensor InputHistory::window(std::int64_t start, std::int64_t length) const {
  at::Tensor out = at::zeros({channels_, length}, at::kFloat);
  const std::int64_t first = std::max<std::int64_t>(start, 0);
  const std::int64_t last = std::min(start + length, end());
  if (!ended_ && start + length > end()) {
    throw std::logic_error("InputHistory::window: frames not pushed yet");
  }
  if (first < last) {
    if (first < begin_) {
      throw std::logic_error("InputHistory::window: frames already dropped");
    }
    out.narrow(1, first - start, last - first).copy_(frames_.span(first - begin_, last - begin_));
  }
  return out;
}

void InputHistory::drop_before(std::int64_t position) {
  const std::int64_t count = std::min(position, end()) - begin_;
  if (count > 0) {
    frames_.drop_front(count);
    begin_ += count;
  }
}

void InputHistory::release() {
  begin_ = end();
  frames_.clear();
}

}  // namespace demucs
