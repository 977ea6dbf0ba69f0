#include "separator/frame_queue.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace demucs {

namespace {
constexpr std::int64_t kMinimumCapacity = 1024;

std::vector<std::int64_t> with_frames(std::vector<std::int64_t> shape, std::int64_t frames) {
  shape.push_back(frames);
  return shape;
}
}  // namespace

FrameQueue::FrameQueue(std::vector<std::int64_t> frame_shape)
    : frame_shape_(std::move(frame_shape)),
      storage_(at::empty(with_frames(frame_shape_, 0), at::kFloat)) {}

void FrameQueue::reserve_back(std::int64_t count) {
  const std::int64_t capacity = storage_.size(-1);
  if (tail_ + count <= capacity) {
    return;
  }
  const std::int64_t held = size();
  if (2 * (held + count) > capacity) {
    // Grow so that at least half the new storage is free after the move.
    const std::int64_t new_capacity = std::max(2 * (held + count), kMinimumCapacity);
    at::Tensor grown = at::empty(with_frames(frame_shape_, new_capacity), at::kFloat);
    grown.narrow(-1, 0, held).copy_(storage_.narrow(-1, head_, held));
    storage_ = std::move(grown);
  } else {
    // Move the held frames to the front (through a copy: the ranges may overlap).
    storage_.narrow(-1, 0, held).copy_(storage_.narrow(-1, head_, held).clone());
  }
  head_ = 0;
  tail_ = held;
}

void FrameQueue::append(const at::Tensor& frames) {
  if (frames.dim() != static_cast<std::int64_t>(frame_shape_.size()) + 1 ||
      !frames.sizes().slice(0, frame_shape_.size()).equals(frame_shape_)) {
    throw std::invalid_argument("FrameQueue::append: frames of the wrong shape");
  }
  const std::int64_t count = frames.size(-1);
  if (count == 0) {
    return;
  }
  reserve_back(count);
  storage_.narrow(-1, tail_, count).copy_(frames);
  tail_ += count;
}

void FrameQueue::append_zeros(std::int64_t count) {
  if (count <= 0) {
    return;
  }
  reserve_back(count);
  storage_.narrow(-1, tail_, count).zero_();
  tail_ += count;
}

at::Tensor FrameQueue::span(std::int64_t begin, std::int64_t end) const {
  if (begin < 0 || end < begin || end > size()) {
    throw std::out_of_range("FrameQueue::span: frames outside the queue");
  }
  return storage_.narrow(-1, head_ + begin, end - begin);
}

void FrameQueue::drop_front(std::int64_t count) {
  if (count < 0 || count > size()) {
    throw std::out_of_range("FrameQueue::drop_front: more frames than held");
  }
  head_ += count;
  if (head_ == tail_) {
    head_ = 0;
    tail_ = 0;
  }
}

at::Tensor FrameQueue::take_front(std::int64_t count) {
  at::Tensor front = span(0, count).clone(at::MemoryFormat::Contiguous);
  drop_front(count);
  return front;
}

void FrameQueue::clear() {
  head_ = 0;
  tail_ = 0;
  storage_ = at::empty(with_frames(frame_shape_, 0), at::kFloat);
}

}  // namespace demucs
