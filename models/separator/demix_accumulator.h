// The reference demix's `result` and `counter` over a sliding span of padded
// positions: each chunk adds out * window and window (float32, in chunk
// order, as the reference), and a frame no later chunk covers leaves as
// result / counter with NaN (0 / 0 where every window was 0) -> 0.
#pragma once

#include "separator/frame_queue.h"

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace demucs {

class DemixAccumulator {
 public:
  DemixAccumulator(std::int64_t rows, std::int64_t channels);

  // Padded position of the first frame held / after the furthest frame added.
  std::int64_t begin() const { return begin_; }
  std::int64_t end() const { return begin_ + counter_.size(); }

  // out: float32 CPU (rows, channels, n), window: (n), at padded `start` >= begin().
  void add(std::int64_t start, const at::Tensor& out, const at::Tensor& window);
  // Frames [begin(), end) as result / counter, NaN -> 0: (rows, channels, end - begin()).
  at::Tensor take_final(std::int64_t end);

 private:
  void extend_to(std::int64_t end);

  FrameQueue result_;   // (rows, channels) per frame
  FrameQueue counter_;  // one weight per frame: the same for every row and channel
  std::int64_t begin_ = 0;
};

}  // namespace demucs
