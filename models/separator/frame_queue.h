// A float32 CPU queue of audio frames (the last dimension): append at the back,
// consume at the front, amortised O(1) per frame. Holds the input history, the
// overlap-add accumulators and the finished output.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace demucs {

class FrameQueue {
 public:
  // Every frame has shape `frame_shape` (e.g. {channels} or {stems, channels}).
  explicit FrameQueue(std::vector<std::int64_t> frame_shape);

  std::int64_t size() const { return tail_ - head_; }

  // frames: (frame_shape..., n), any dtype/device (converted to float32 CPU).
  void append(const at::Tensor& frames);
  void append_zeros(std::int64_t count);

  // View of frames [begin, end) counted from the front; valid until the next
  // append or drop.
  at::Tensor span(std::int64_t begin, std::int64_t end) const;

  void drop_front(std::int64_t count);
  // A contiguous copy of the first `count` frames, which leave the queue.
  at::Tensor take_front(std::int64_t count);
  void clear();

 private:
  void reserve_back(std::int64_t count);

  std::vector<std::int64_t> frame_shape_;
  at::Tensor storage_;  // (frame_shape..., capacity)
  std::int64_t head_ = 0;
  std::int64_t tail_ = 0;
};

}  // namespace demucs
