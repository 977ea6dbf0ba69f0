#include "separator/padded_input.h"

#include "separator/demix_plan.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>

namespace demucs {

PaddedInput::PaddedInput(int channels, std::int64_t border)
    : channels_(channels), border_(border), frames_({channels}) {
  if (border_ == 0) {
    decide(false);  // nothing to pad with
  }
}

void PaddedInput::decide(bool pad) {
  decided_ = true;
  padded_ = pad;
  if (!pad) {
    return;
  }
  // Every frame is still held (nothing is dropped before the decision): put
  // the reflection of the first border + 1 frames in front.
  const at::Tensor mix = frames_.span(0, frames_.size());
  const at::Tensor reflection = reflect_before(mix, border_);
  FrameQueue padded({channels_});
  padded.append(reflection);
  padded.append(mix);
  frames_ = std::move(padded);
}

void PaddedInput::append(const at::Tensor& planar) {
  if (ended_) {
    throw std::logic_error("PaddedInput::append after the end");
  }
  frames_.append(planar);
  pushed_ += planar.size(-1);
  if (!decided_ && pushed_ > 2 * border_) {
    decide(true);
  }
}

void PaddedInput::mark_ended() {
  if (ended_) {
    return;
  }
  ended_ = true;
  if (!decided_) {
    decide(false);
  }
  if (padded_) {
    // The last border + 1 mix frames are held (drop_before keeps them).
    const std::int64_t tail_start = offset() + pushed_ - (border_ + 1) - begin_;
    const at::Tensor tail = frames_.span(tail_start, frames_.size());
    frames_.append(reflect_after(tail, border_).clone());
  }
}

at::Tensor PaddedInput::window(std::int64_t start, std::int64_t length) const {
  if (start < begin_ || length < 0 || start + length > known_end()) {
    throw std::logic_error("PaddedInput::window: frames [" + std::to_string(start) + ", " +
                           std::to_string(start + length) + ") outside those held [" + std::to_string(begin_) +
                           ", " + std::to_string(known_end()) + ")");
  }
  return frames_.span(start - begin_, start - begin_ + length);
}

void PaddedInput::drop_before(std::int64_t position) {
  if (!decided_) {
    return;
  }
  if (padded_ && !ended_) {
    position = std::min(position, offset() + pushed_ - (border_ + 1));
  }
  const std::int64_t count = std::min(position, known_end()) - begin_;
  if (count > 0) {
    frames_.drop_front(count);
    begin_ += count;
  }
}

}  // namespace demucs
